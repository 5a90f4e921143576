import {
  CreationOptional,
  DataTypes,
  ForeignKey,
  InferAttributes,
  InferCreationAttributes,
  Model,
  Sequelize,
} from 'sequelize';
import type { User } from './User';
import type { Channel } from './verification';

export class VerificationCode extends Model<
  InferAttributes<VerificationCode>,
  InferCreationAttributes<VerificationCode>
> {
  declare id: CreationOptional<string>;
  declare userId: ForeignKey<User['id']>;
  declare channel: Channel;
  /** E.164 for phone codes. */
  declare destination: string;
  /** ISO 3166-1 alpha-2 country of a phone destination; null for email. */
  declare destinationCountry: CreationOptional<string | null>;
  /** The client address the code was requested from (API Gateway's sourceIp). */
  declare sourceIp: CreationOptional<string | null>;
  declare codeHash: string;
  declare attempts: CreationOptional<number>;
  declare maxAttempts: number;
  declare expiresAt: Date;
  declare consumedAt: Date | null;
  declare supersededAt: Date | null;
  declare createdAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): typeof VerificationCode {
    VerificationCode.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        channel: { type: DataTypes.ENUM('phone', 'email'), allowNull: false },
        destination: { type: DataTypes.STRING(255), allowNull: false },
        destinationCountry: { type: DataTypes.CHAR(2), allowNull: true },
        sourceIp: { type: DataTypes.INET, allowNull: true },
        codeHash: { type: DataTypes.STRING(128), allowNull: false },
        attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        maxAttempts: { type: DataTypes.INTEGER, allowNull: false },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
        consumedAt: { type: DataTypes.DATE, allowNull: true },
        supersededAt: { type: DataTypes.DATE, allowNull: true },
        createdAt: { type: DataTypes.DATE, allowNull: false },
      },
      {
        sequelize,
        modelName: 'VerificationCode',
        tableName: 'verification_codes',
        underscored: true,
        timestamps: true,
        updatedAt: false,
      },
    );
    return VerificationCode;
  }
}
