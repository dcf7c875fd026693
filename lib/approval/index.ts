export {
	newApprovalId,
	checkDecidable,
	parseDecision,
	type ApprovalCall,
	type ApprovalRequest,
	type ToolCallsApproval,
	type PlanApproval,
	type PlanDecision,
	type ApprovalDecision,
	type CallDecision,
	type OnTimeout,
	type Refusal,
} from './request';
export { approvalPage, messagePage, type ApprovalPageOptions } from './page';
export { approvalNotification, type ApprovalNotification } from './notification';
export { toolCallsApproval, toolsNeedingApproval } from './tool-calls';
