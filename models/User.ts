import {
  CreationOptional,
  DataTypes,
  InferAttributes,
  InferCreationAttributes,
  Model,
  NonAttribute,
  Sequelize,
} from 'sequelize';
import {
  isChannelVerified,
  VERIFICATION_STATUSES,
  type VerificationInfo,
  verificationInfoOf,
  type VerificationStatus,
} from './verification';

export const ROLES = ['user', 'staff', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export class User extends Model<InferAttributes<User>, InferCreationAttributes<User>> {
  declare id: CreationOptional<number>;
  declare email: string | null;
  declare phone: string | null;
  declare name: string | null;
  declare role: CreationOptional<Role>;
  declare verificationStatus: CreationOptional<VerificationStatus>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  declare isPhoneVerified: CreationOptional<boolean>;
  declare isEmailVerified: CreationOptional<boolean>;
  declare verificationInfo: CreationOptional<VerificationInfo>;

  get isStaff(): NonAttribute<boolean> {
    return this.role === 'staff' || this.role === 'admin';
  }

  static initModel(sequelize: Sequelize): typeof User {
    User.init(
      {
        id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
        email: { type: DataTypes.STRING(255), allowNull: true, unique: true },
        phone: { type: DataTypes.STRING(32), allowNull: true, unique: true },
        name: { type: DataTypes.STRING(255), allowNull: true },
        role: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'user' },
        verificationStatus: {
          type: DataTypes.ENUM(...VERIFICATION_STATUSES),
          allowNull: false,
          defaultValue: 'unverified',
        },
        createdAt: { type: DataTypes.DATE, allowNull: false },
        updatedAt: { type: DataTypes.DATE, allowNull: false },
        isPhoneVerified: {
          type: DataTypes.VIRTUAL(DataTypes.BOOLEAN, ['verificationStatus']),
          get(this: User): boolean {
            return isChannelVerified(this.getDataValue('verificationStatus'), 'phone');
          },
        },
        isEmailVerified: {
          type: DataTypes.VIRTUAL(DataTypes.BOOLEAN, ['verificationStatus']),
          get(this: User): boolean {
            return isChannelVerified(this.getDataValue('verificationStatus'), 'email');
          },
        },
        verificationInfo: {
          type: DataTypes.VIRTUAL(DataTypes.JSON, ['id', 'verificationStatus']),
          get(this: User): VerificationInfo {
            return verificationInfoOf(
              this.getDataValue('id'),
              this.getDataValue('verificationStatus'),
            );
          },
        },
      },
      {
        sequelize,
        modelName: 'User',
        tableName: 'users',
        underscored: true,
        timestamps: true,
      },
    );
    return User;
  }
}
