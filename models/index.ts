import type { Sequelize } from 'sequelize';
import { StaffApprovalRequest } from './StaffApprovalRequest';
import { User } from './User';
import { VerificationCode } from './VerificationCode';

export * from './verification';
export * from './User';
export * from './VerificationCode';
export * from './StaffApprovalRequest';

export interface Models {
  User: typeof User;
  VerificationCode: typeof VerificationCode;
  StaffApprovalRequest: typeof StaffApprovalRequest;
}

const initialised = new WeakSet<Sequelize>();

/**
 * Binds the models to a Sequelize instance and wires their associations. Model
 * classes are module singletons, so the last instance passed wins; the service
 * uses one instance per container.
 */
export function initModels(sequelize: Sequelize): Models {
  if (!initialised.has(sequelize)) {
    User.initModel(sequelize);
    VerificationCode.initModel(sequelize);
    StaffApprovalRequest.initModel(sequelize);

    User.hasMany(VerificationCode, { foreignKey: 'userId', as: 'verificationCodes' });
    VerificationCode.belongsTo(User, { foreignKey: 'userId', as: 'user' });
    User.hasMany(StaffApprovalRequest, { foreignKey: 'userId', as: 'approvalRequests' });
    StaffApprovalRequest.belongsTo(User, { foreignKey: 'userId', as: 'subject' });
    StaffApprovalRequest.belongsTo(User, { foreignKey: 'requestedBy', as: 'requester' });
    StaffApprovalRequest.belongsTo(User, { foreignKey: 'reviewedBy', as: 'reviewer' });
    initialised.add(sequelize);
  }
  return { User, VerificationCode, StaffApprovalRequest };
}
