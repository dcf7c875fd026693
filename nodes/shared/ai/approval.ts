/**
 * How a node (Agent, Planner) and the OpenAgents Approval sub-node talk through n8n's engine: the node returns an
 * EngineRequest whose action runs the Approval node with the request under APPROVAL_REQUEST_KEY; the Approval node
 * puts the execution into n8n's waiting state; the reviewer's decision (APPROVAL_DECISION_KEY) becomes the Approval
 * node's output when a webhook call resumes the execution, and n8n calls the node again with it as an
 * EngineResponse, together with the metadata the node put in its request (its state, saved with the execution).
 */
import {
	NodeOperationError,
	type EngineRequest,
	type EngineResponse,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import type { ApprovalDecision, ApprovalRequest, OnTimeout } from '../../../lib/approval';
import { EngineWait } from '../runtime/itemLoop';
import type { ItemSettings } from '../runtime/itemSettings';

const APPROVAL_NODE_TYPE_SUFFIX = '.openAgentsApproval';
export const APPROVAL_REQUEST_KEY = 'openagentsApproval';
export const APPROVAL_DECISION_KEY = 'openagentsApprovalDecision';

/** What the Approval node supplies on the Tool input: not a tool (the model never sees it), a marker nodes skip. */
export const APPROVAL_GATE = Object.freeze({ openagentsApprovalGate: true });

export const isApprovalGate = (value: unknown): boolean =>
	typeof value === 'object' && value !== null && 'openagentsApprovalGate' in value;

/** The execution's page in n8n's editor (`<instance>/workflow/<id>/executions/<id>`). */
export function executionUrl(
	fn: Pick<IExecuteFunctions, 'getInstanceBaseUrl' | 'getWorkflow' | 'getExecutionId'>,
): string {
	const base = fn.getInstanceBaseUrl().replace(/\/?$/, '/');
	return `${base}workflow/${fn.getWorkflow().id}/executions/${fn.getExecutionId()}`;
}

/** The Approval Timeout and On Approval Timeout options (alphabetical place is up to the node). */
export const approvalTimeoutOptions = (what: string): INodeProperties[] => [
	{
		displayName: 'Approval Timeout (Minutes)',
		name: 'approvalTimeoutMinutes',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 1440,
		description: `With ${what}: how long the execution waits for a reviewer; 0 waits until someone decides. A decision after it is refused.`,
	},
	{
		displayName: 'On Approval Timeout',
		name: 'onApprovalTimeout',
		type: 'options',
		options: [
			{
				name: 'Reject',
				value: 'reject',
				description: 'Go on as if the reviewer had rejected it',
			},
			{
				name: 'Fail the Item',
				value: 'fail',
				description: 'The item fails with code approval_timeout',
			},
		],
		default: 'reject',
	},
];

export interface ApprovalSettings {
	/** The Approval sub-node's name. */
	approvalNode: string;
	expiresAt?: string;
	onTimeout: OnTimeout;
}

/**
 * The item's approval settings from its options (approvalTimeoutMinutes, onApprovalTimeout). Throws
 * NodeOperationError when no Approval sub-node is connected to the Tool input (`setting`: the option that asked).
 */
export function approvalSettings(
	fn: IExecuteFunctions,
	{ itemIndex, options }: ItemSettings,
	setting: string,
): ApprovalSettings {
	const approvalNode = fn
		.getParentNodes(fn.getNode().name, { connectionType: 'ai_tool', depth: 1 })
		.find((node) => node.type.endsWith(APPROVAL_NODE_TYPE_SUFFIX))?.name;
	if (!approvalNode)
		throw new NodeOperationError(
			fn.getNode(),
			`${setting} needs an OpenAgents Approval sub-node connected to the Tool input`,
			{
				itemIndex,
				description: 'Add "OpenAgents Approval" and connect it to this node\'s Tool input.',
			},
		);
	const minutes = Number(options.approvalTimeoutMinutes ?? 1440);
	return {
		approvalNode,
		...(minutes > 0 ? { expiresAt: new Date(Date.now() + minutes * 60_000).toISOString() } : {}),
		onTimeout: (options.onApprovalTimeout as OnTimeout) ?? 'reject',
	};
}

/** Node state kept while the execution waits (saved by n8n with the execution, so JSON only). */
interface WaitingState<R extends ApprovalRequest = ApprovalRequest> extends IDataObject {
	/** The kind of node that waits (its tag): a resumed call of another kind is not this node's. */
	openagents: string;
	/** The item that waits. */
	itemIndex: number;
	/** What the reviewer was asked. */
	request: R & IDataObject;
	/** Output items of the items before `itemIndex`, per output. */
	outputs: INodeExecutionData[][];
}

/**
 * Thrown by an item whose run waits for a reviewer: the item loop returns the EngineRequest that makes n8n run the
 * Approval sub-node (the execution waits there) and then call the node again. `extra`: the node's own state of the
 * waiting item (e.g. the paused agent run), given back with the decision.
 */
export class ApprovalWait<R extends ApprovalRequest, X extends IDataObject> extends EngineWait {
	override name = 'ApprovalWait';

	constructor(
		readonly tag: string,
		readonly approvalNode: string,
		readonly approval: R,
		readonly extra: X,
	) {
		super(`Waiting for approval (${approval.kind})`);
	}

	engineRequest(itemIndex: number, outputs: INodeExecutionData[][]): EngineRequest {
		const state: WaitingState<R> & X = {
			...this.extra,
			openagents: this.tag,
			itemIndex,
			request: this.approval as R & IDataObject,
			outputs,
		};
		return {
			actions: [
				{
					actionType: 'ExecutionNodeAction',
					nodeName: this.approvalNode,
					input: { [APPROVAL_REQUEST_KEY]: state.request },
					type: 'ai_tool',
					id: this.approval.approvalId,
					metadata: state,
				},
			],
			metadata: state,
		};
	}
}

/**
 * The outputs saved with a wait. States saved before version 0.2 kept one list (`outputs`, the Agent) or two
 * (`results` and `clarifications`, the Planner); executions waiting since then resume with them.
 */
function savedOutputs(state: IDataObject): INodeExecutionData[][] {
	const outputs = state.outputs as unknown[] | undefined;
	if (Array.isArray(outputs) && outputs.length && outputs.every(Array.isArray))
		return outputs as INodeExecutionData[][];
	if (Array.isArray(state.results))
		return [
			state.results,
			(state.clarifications ?? []) as INodeExecutionData[],
		] as INodeExecutionData[][];
	return [(outputs ?? []) as INodeExecutionData[]];
}

/**
 * When n8n calls the node again after an approval wait: its saved state (the node's `extra` included) and the
 * reviewer's decision (undefined when nobody decided before the timeout: the Approval node then passes its input
 * on). Undefined for any other call.
 */
export function resumedApproval<R extends ApprovalRequest, X extends IDataObject>(
	response: EngineResponse | undefined,
	tag: string,
): { state: WaitingState<R> & X; decision?: ApprovalDecision } | undefined {
	const saved = response?.metadata as (WaitingState<R> & X) | undefined;
	if (saved?.openagents !== tag) return undefined;
	const state = { ...saved, outputs: savedOutputs(saved) };
	const data = response!.actionResponses[0]?.data?.data;
	const json = (data?.ai_tool ?? data?.main)?.[0]?.[0]?.json as IDataObject | undefined;
	const decision = json?.[APPROVAL_DECISION_KEY] as ApprovalDecision | undefined;
	return {
		state,
		...(decision?.approvalId === state.request.approvalId ? { decision } : {}),
	};
}

/** Nobody decided before the Approval Timeout and On Approval Timeout is "Fail the Item" (code approval_timeout). */
export class ApprovalTimeoutError extends Error {
	override name = 'ApprovalTimeoutError';
	readonly code = 'approval_timeout';
}
