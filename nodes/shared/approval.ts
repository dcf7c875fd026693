/**
 * How an OpenAgents Agent and the OpenAgents Approval sub-node talk through n8n's engine: the Agent returns an
 * EngineRequest whose action runs the Approval node with the request under APPROVAL_REQUEST_KEY; the Approval node
 * puts the execution into n8n's waiting state; the reviewer's decision (APPROVAL_DECISION_KEY) becomes the Approval
 * node's output when a webhook call resumes the execution, and n8n hands it back to the Agent as an EngineResponse.
 */
import type { EngineResponse, IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { ApprovalDecision, ApprovalRequest } from '../../lib/approval';

export const APPROVAL_NODE_TYPE_SUFFIX = '.openAgentsApproval';
export const APPROVAL_REQUEST_KEY = 'openagentsApproval';
export const APPROVAL_DECISION_KEY = 'openagentsApprovalDecision';

/** What the Approval node supplies on the Tool input: not a tool (the model never sees it), a marker the Agent skips. */
export const APPROVAL_GATE = Object.freeze({ openagentsApprovalGate: true });

export const isApprovalGate = (value: unknown): boolean =>
	typeof value === 'object' && value !== null && 'openagentsApprovalGate' in value;

/** The name of the Approval sub-node connected to the node's Tool input, or undefined. */
export function connectedApprovalNode(fn: IExecuteFunctions): string | undefined {
	return fn
		.getParentNodes(fn.getNode().name, { connectionType: 'ai_tool', depth: 1 })
		.find((node) => node.type.endsWith(APPROVAL_NODE_TYPE_SUFFIX))?.name;
}

/** The item the Approval node outputs: the decision when a reviewer decided, its input again when the wait timed out. */
export function approvalOutcome(
	response: EngineResponse | undefined,
	request: ApprovalRequest,
): ApprovalDecision | undefined {
	const data = response?.actionResponses[0]?.data?.data;
	const json = (data?.ai_tool ?? data?.main)?.[0]?.[0]?.json as IDataObject | undefined;
	const decision = json?.[APPROVAL_DECISION_KEY] as ApprovalDecision | undefined;
	return decision?.approvalId === request.approvalId ? decision : undefined;
}
