import {
  CreationOptional,
  DataTypes,
  InferAttributes,
  InferCreationAttributes,
  Model,
  NonAttribute,
  Sequelize,
} from 'sequelize';

export const VERIFICATION_STATUSES = [
  'unverified',
  'phone_verified',
  'email_verified',
  'verified',
] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

export const ROLES = ['user', 'staff', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type Channel = 'phone' | 'email';

export interface VerificationInfo {
  userId: number;
  status: VerificationStatus;
  isPhoneVerified: boolean;
  isEmailVerified: boolean;
  isFullyVerified: boolean;
}

export function isChannelVerified(status: VerificationStatus, channel: Channel): boolean {
  return status === 'verified' || status === `${channel}_verified`;
}

/** The status after `channel` is verified, keeping whatever was verified before. */
export function withChannelVerified(
  status: VerificationStatus,
  channel: Channel,
): VerificationStatus {
  const other: Channel = channel === 'phone' ? 'email' : 'phone';
  return isChannelVerified(status, other) ? 'verified' : `${channel}_verified`;
}

/**
 * withChannelVerified() as a SQL expression over `column`, generated from the
 * function for every status: a statement that must compute the new status from
 * the row it locks (lib/staffApprovals/decide.ts) follows the same rule.
 */
export function withChannelVerifiedSql(column: string, channel: Channel): string {
  const cases = VERIFICATION_STATUSES.map(
    (status) => `WHEN '${status}' THEN '${withChannelVerified(status, channel)}'`,
  );
  return `(CASE ${column} ${cases.join(' ')} END)::enum_users_verification_status`;
}

/** The status once `channel` is no longer verified (a revocation). */
export function withChannelUnverified(
  status: VerificationStatus,
  channel: Channel,
): VerificationStatus {
  const other: Channel = channel === 'phone' ? 'email' : 'phone';
  return isChannelVerified(status, other) ? `${other}_verified` : 'unverified';
}

/** withChannelUnverified() as a SQL expression over `column`, generated from the function. */
export function withChannelUnverifiedSql(column: string, channel: Channel): string {
  const cases = VERIFICATION_STATUSES.map(
    (status) => `WHEN '${status}' THEN '${withChannelUnverified(status, channel)}'`,
  );
  return `(CASE ${column} ${cases.join(' ')} END)::enum_users_verification_status`;
}

/** The statuses in which `channel` is verified, as a SQL list. */
export function statusesVerifyingSql(channel: Channel): string {
  return VERIFICATION_STATUSES.filter((s) => isChannelVerified(s, channel))
    .map((s) => `'${s}'`)
    .join(', ');
}

export function verificationInfoOf(userId: number, status: VerificationStatus): VerificationInfo {
  const isPhoneVerified = isChannelVerified(status, 'phone');
  const isEmailVerified = isChannelVerified(status, 'email');
  return {
    userId,
    status,
    isPhoneVerified,
    isEmailVerified,
    isFullyVerified: isPhoneVerified && isEmailVerified,
  };
}

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
