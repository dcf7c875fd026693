export {
	newApprovalId,
	checkDecidable,
	parseDecision,
	type ApprovalRequest,
	type ToolCallsApproval,
	type PlanApproval,
	type PlanDecision,
	type ApprovalDecision,
	type OnTimeout,
	type Refusal,
} from './request';
export { approvalPage, messagePage } from './page';
export { approvalNotification } from './notification';
export { toolCallsApproval, toolsNeedingApproval } from './tool-calls';
