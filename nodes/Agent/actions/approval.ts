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
	type EngineResponse,
	type IDataObject,
	type INodeExecutionData,
} from 'n8n-workflow';

import { newApprovalId, type ToolCallsApproval } from '../../../lib/approval';
import {
	messageText,
	restorePausedRun,
	savePausedRun,
	type AgentResult,
	type SavedAgentRun,
	type ToolCallDecision,
} from '../../../lib/llm';
import {
	approvalEngineRequest,
	approvalSettings,
	resumedApproval,
	type ApprovalSettings,
	type WaitingState,
} from '../../shared/approval';
import type { RunContext } from './types';

const TAG = 'agent-approval';

export interface ApprovalGate extends ApprovalSettings {
	needsApproval(call: { name: string }): boolean;
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
	const settings = approvalSettings(fn, itemIndex, options, 'Require Approval For');
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
	return { ...settings, needsApproval: (call) => gated.has(call.name) };
}

/** The request for the pending calls of `paused` (status 'awaiting_approval'). */
export function approvalRequest(
	paused: AgentResult,
	tools: StructuredToolInterface[],
	gate: ApprovalGate,
	requestedBy: string,
): ToolCallsApproval {
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
		...(gate.expiresAt ? { expiresAt: gate.expiresAt } : {}),
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

/** What the Agent keeps while the execution waits (JSON, saved by n8n with the execution). */
export interface AgentWaitingState extends WaitingState<ToolCallsApproval> {
	/** Output items of the items before `itemIndex` (already done). */
	outputs: INodeExecutionData[];
	paused: SavedAgentRun & IDataObject;
	/** Messages before the run's own (system, history, prompt): where the turn to save in memory starts. */
	promptMessages: number;
}

/** Thrown by a template when its run waits for approval; the router turns it into an EngineRequest. */
export class ApprovalNeeded extends Error {
	override name = 'ApprovalNeeded';

	constructor(
		readonly paused: AgentResult,
		readonly request: ToolCallsApproval,
		readonly approvalNode: string,
		readonly promptMessages: number,
	) {
		super(`Waiting for approval of ${request.calls.map((c) => c.name).join(', ')}`);
	}
}

/** The EngineRequest that makes n8n wait for the reviewer and then call the Agent again. */
export function agentApprovalRequest(
	waiting: ApprovalNeeded,
	itemIndex: number,
	outputs: INodeExecutionData[],
) {
	return approvalEngineRequest<AgentWaitingState>(waiting.approvalNode, {
		openagents: TAG,
		itemIndex,
		outputs,
		paused: savePausedRun(waiting.paused) as SavedAgentRun & IDataObject,
		request: waiting.request as ToolCallsApproval & IDataObject,
		promptMessages: waiting.promptMessages,
	});
}

/** A run resumed after approval: where it stopped and the reviewer's decisions (timed_out for all when nobody decided). */
export interface ResumedRun {
	state: AgentWaitingState;
	paused: AgentResult;
	decisions: ToolCallDecision[];
	timedOut: boolean;
}

export function resumedRun(response: EngineResponse | undefined): ResumedRun | undefined {
	const resumed = resumedApproval<AgentWaitingState>(response, TAG);
	if (!resumed) return undefined;
	const { state, decision } = resumed;
	return {
		state,
		paused: restorePausedRun(state.paused),
		decisions:
			decision?.decisions ??
			state.request.calls.map((call) => ({ id: call.id, action: 'timed_out' as const })),
		timedOut: !decision?.decisions,
	};
}
