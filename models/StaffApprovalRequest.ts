import {
  CreationOptional,
  DataTypes,
  InferAttributes,
  InferCreationAttributes,
  Model,
  Sequelize,
} from 'sequelize';

export const REQUEST_STATUSES = ['pending', 'approved', 'rejected', 'cancelled'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export class StaffApprovalRequest extends Model<
  InferAttributes<StaffApprovalRequest>,
  InferCreationAttributes<StaffApprovalRequest>
> {
  declare id: CreationOptional<string>;
  /** The subject: the user the request is about. */
  declare userId: number;
  /** Who filed it (null once that account is deleted). */
  declare requestedBy: number | null;
  declare requestType: string;
  declare details: CreationOptional<Record<string, unknown>>;
  declare status: CreationOptional<RequestStatus>;
  declare reviewedBy: CreationOptional<number | null>;
  declare reviewedAt: CreationOptional<Date | null>;
  declare reviewNote: CreationOptional<string | null>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): typeof StaffApprovalRequest {
    StaffApprovalRequest.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        userId: { type: DataTypes.INTEGER, allowNull: false },
        requestedBy: { type: DataTypes.INTEGER, allowNull: true },
        requestType: { type: DataTypes.STRING(64), allowNull: false },
        details: { type: DataTypes.JSONB, allowNull: false, defaultValue: {} },
        status: {
          type: DataTypes.ENUM(...REQUEST_STATUSES),
          allowNull: false,
          defaultValue: 'pending',
        },
        reviewedBy: { type: DataTypes.INTEGER, allowNull: true },
        reviewedAt: { type: DataTypes.DATE, allowNull: true },
        reviewNote: { type: DataTypes.TEXT, allowNull: true },
        createdAt: { type: DataTypes.DATE, allowNull: false },
        updatedAt: { type: DataTypes.DATE, allowNull: false },
      },
      {
        sequelize,
        modelName: 'StaffApprovalRequest',
        tableName: 'staff_approval_requests',
        underscored: true,
        timestamps: true,
      },
    );
    return StaffApprovalRequest;
  }
}
