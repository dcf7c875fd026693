/**
 * Require Approval For: which tool calls wait for a reviewer, the approval request the Agent sends to the connected
 * OpenAgents Approval sub-node (through n8n's engine, as an EngineRequest), and reading the decision back from the
 * EngineResponse when n8n resumes the execution.
 */
import type { AIMessage } from '@langchain/core/messages';
import type { StructuredToolInterface } from '@langchain/core/tools';
import { toJsonSchema } from '@langchain/core/utils/json_schema';
import {
	NodeOperationError,
	type EngineRequest,
	type EngineResponse,
	type IDataObject,
	type INodeExecutionData,
} from 'n8n-workflow';

import { newApprovalId, type ApprovalRequest, type OnTimeout } from '../../../lib/approval';
import {
	messageText,
	restorePausedRun,
	savePausedRun,
	type AgentResult,
	type SavedAgentRun,
	type ToolCallDecision,
} from '../../../lib/llm';
import {
	APPROVAL_REQUEST_KEY,
	approvalOutcome,
	connectedApprovalNode,
} from '../../shared/approval';
import type { RunContext } from './types';

export interface ApprovalGate {
	needsApproval(call: { name: string }): boolean;
	approvalNode: string;
	timeoutMs?: number;
	onTimeout: OnTimeout;
}

/** The item's approval settings, or undefined when Require Approval For is empty. Throws NodeOperationError. */
export function approvalGate(
	run: RunContext,
	itemIndex: number,
	tools: StructuredToolInterface[],
	options: IDataObject,
): ApprovalGate | undefined {
	const { fn } = run;
	const names = String(options.requireApproval ?? '')
		.split(/[,\n]/)
		.map((name) => name.trim())
		.filter(Boolean);
	if (!names.length) return undefined;
	const approvalNode = connectedApprovalNode(fn);
	if (!approvalNode)
		throw new NodeOperationError(
			fn.getNode(),
			'Require Approval For needs an OpenAgents Approval sub-node connected to the Tool input',
			{
				itemIndex,
				description: 'Add "OpenAgents Approval" and connect it to this Agent\'s Tool input.',
			},
		);
	const sourceOf = (tool: StructuredToolInterface) =>
		(tool as { metadata?: { sourceNodeName?: string } }).metadata?.sourceNodeName;
	const all = names.includes('*');
	const unknown = names.filter(
		(name) => name !== '*' && !tools.some((t) => t.name === name || sourceOf(t) === name),
	);
	if (unknown.length)
		throw new NodeOperationError(
			fn.getNode(),
			`Require Approval For names ${unknown.map((n) => `"${n}"`).join(', ')}, which is neither a tool nor a tool sub-node`,
			{
				itemIndex,
				description: `Tools: ${tools.map((t) => t.name).join(', ') || 'none'}. Use a tool's name, the name of the sub-node that supplies it, or * for every tool.`,
			},
		);
	const gated = new Set(
		tools
			.filter((t) => all || names.includes(t.name) || names.includes(sourceOf(t) ?? ''))
			.map((t) => t.name),
	);
	const minutes = Number(options.approvalTimeoutMinutes ?? 1440);
	return {
		needsApproval: (call) => gated.has(call.name),
		approvalNode,
		...(minutes > 0 ? { timeoutMs: minutes * 60_000 } : {}),
		onTimeout: (options.onApprovalTimeout as OnTimeout) ?? 'reject',
	};
}

/** The request for the pending calls of `paused` (status 'awaiting_approval'). */
export function approvalRequest(
	paused: AgentResult,
	tools: StructuredToolInterface[],
	gate: ApprovalGate,
	requestedBy: string,
): ApprovalRequest {
	const byName = new Map(tools.map((t) => [t.name, t]));
	// The turn that made the calls (tool results of the calls that ran may follow it).
	const turn = paused.messages.findLast((message) => message.type === 'ai') as
		AIMessage | undefined;
	const reasoning = turn ? messageText(turn).trim() : '';
	return {
		approvalId: newApprovalId(),
		kind: 'tool_calls',
		requestedBy,
		...(reasoning ? { reasoning } : {}),
		calls: (paused.pending ?? []).map((call) => {
			const tool = byName.get(call.name);
			return {
				...call,
				...(tool?.description ? { description: tool.description } : {}),
				...(tool ? { schema: jsonSchemaOf(tool) } : {}),
			};
		}),
		...(gate.timeoutMs ? { expiresAt: new Date(Date.now() + gate.timeoutMs).toISOString() } : {}),
		onTimeout: gate.onTimeout,
	};
}

function jsonSchemaOf(tool: StructuredToolInterface): Record<string, unknown> | undefined {
	try {
		return toJsonSchema(tool.schema as never) as Record<string, unknown>;
	} catch {
		return undefined; // the tool still validates its arguments when it runs
	}
}

/** What the Agent keeps in the EngineRequest's metadata while the execution waits (JSON, saved by n8n). */
export interface WaitingState extends IDataObject {
	openagents: 'agent-approval';
	itemIndex: number;
	/** Output items of the items before `itemIndex` (already done). */
	outputs: INodeExecutionData[];
	paused: SavedAgentRun & IDataObject;
	request: ApprovalRequest & IDataObject;
	/** Messages before the run's own (system, history, prompt): where the turn to save in memory starts. */
	promptMessages: number;
}

/** Thrown by a template when its run waits for approval; the router turns it into an EngineRequest. */
export class ApprovalNeeded extends Error {
	override name = 'ApprovalNeeded';

	constructor(
		readonly paused: AgentResult,
		readonly request: ApprovalRequest,
		readonly approvalNode: string,
		readonly promptMessages: number,
	) {
		super(`Waiting for approval of ${request.calls.map((c) => c.name).join(', ')}`);
	}
}

/** Asks n8n to run the Approval node (the execution waits there), then to call this node again with the outcome. */
export function approvalEngineRequest(
	waiting: ApprovalNeeded,
	itemIndex: number,
	outputs: INodeExecutionData[],
): EngineRequest<WaitingState> {
	const metadata: WaitingState = {
		openagents: 'agent-approval',
		itemIndex,
		outputs,
		paused: savePausedRun(waiting.paused) as SavedAgentRun & IDataObject,
		request: waiting.request as ApprovalRequest & IDataObject,
		promptMessages: waiting.promptMessages,
	};
	return {
		actions: [
			{
				actionType: 'ExecutionNodeAction',
				nodeName: waiting.approvalNode,
				input: { [APPROVAL_REQUEST_KEY]: waiting.request as unknown as IDataObject },
				type: 'ai_tool',
				id: waiting.request.approvalId,
				metadata,
			},
		],
		metadata,
	};
}

/** A run resumed after approval: where it stopped and the reviewer's decisions (timed_out for everyone when nobody decided). */
export interface ResumedRun {
	state: WaitingState;
	paused: AgentResult;
	decisions: ToolCallDecision[];
	timedOut: boolean;
}

export function resumedRun(response: EngineResponse | undefined): ResumedRun | undefined {
	const state = response?.metadata as WaitingState | undefined;
	if (state?.openagents !== 'agent-approval') return undefined;
	const decision = approvalOutcome(response, state.request);
	const decisions: ToolCallDecision[] = decision
		? decision.decisions
		: state.request.calls.map((call) => ({ id: call.id, action: 'timed_out' as const }));
	return {
		state,
		paused: restorePausedRun(state.paused),
		decisions,
		timedOut: !decision,
	};
}
