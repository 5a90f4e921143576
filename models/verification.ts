/**
 * The rules of a user's verification status, as plain functions: the User
 * model's virtual fields, the answers of the send and verify functions (which
 * run on `pg` alone and never load Sequelize) and the SQL that moves a status
 * all come from here, so the rules live in one place. Imports nothing.
 */
export const VERIFICATION_STATUSES = [
  'unverified',
  'phone_verified',
  'email_verified',
  'verified',
] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

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
