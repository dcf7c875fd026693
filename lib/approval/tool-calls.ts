/**
 * Approval of an agent's tool calls: which tools wait for a reviewer (the Agent's Require Approval For) and the request
 * that shows a reviewer the calls of one model turn.
 */
import type { AIMessage } from '@langchain/core/messages';
import type { StructuredToolInterface } from '@langchain/core/tools';
import { toJsonSchema } from '@langchain/core/utils/json_schema';

import { messageText, type AgentResult } from '../llm';
import { newApprovalId, type OnTimeout, type ToolCallsApproval } from './request';

/** The name of the sub-node that supplies a tool, as n8n's tool sub-nodes record it. */
const sourceOf = (tool: StructuredToolInterface) =>
	(tool as { metadata?: { sourceNodeName?: string } }).metadata?.sourceNodeName;

/**
 * The tools whose calls wait for a reviewer. `requireApproval`: tool names, names of the sub-nodes that supply them,
 * or `*` (every tool), separated by commas or new lines. Returns the gated tool names, and the given names that
 * match no tool (`unknown`, a configuration error for the caller to report); undefined when nothing is named.
 */
export function toolsNeedingApproval(
	requireApproval: string,
	tools: readonly StructuredToolInterface[],
): { gated: ReadonlySet<string>; unknown: string[] } | undefined {
	const names = requireApproval
		.split(/[,\n]/)
		.map((name) => name.trim())
		.filter(Boolean);
	if (!names.length) return undefined;
	const all = names.includes('*');
	const matches = (tool: StructuredToolInterface, name: string) =>
		tool.name === name || sourceOf(tool) === name;
	return {
		gated: new Set(
			tools.filter((t) => all || names.some((name) => matches(t, name))).map((t) => t.name),
		),
		unknown: names.filter((name) => name !== '*' && !tools.some((t) => matches(t, name))),
	};
}

/** The tool's arguments as JSON Schema, when LangChain can convert its schema. */
function jsonSchemaOf(tool: StructuredToolInterface): Record<string, unknown> | undefined {
	try {
		return toJsonSchema(tool.schema as never) as Record<string, unknown>;
	} catch {
		return undefined; // the tool still validates its arguments when it runs
	}
}

/**
 * The request for the pending calls of `paused` (a run with status 'awaiting_approval'): each call with its tool's
 * description and argument schema, and the model's text of that turn as its reasoning.
 */
export function toolCallsApproval(
	paused: AgentResult,
	tools: readonly StructuredToolInterface[],
	settings: { requestedBy: string; expiresAt?: string; onTimeout: OnTimeout },
): ToolCallsApproval {
	const byName = new Map(tools.map((t) => [t.name, t]));
	// The turn that made the calls (tool results of the calls that ran may follow it).
	const turn = paused.messages.findLast((message) => message.type === 'ai') as
		AIMessage | undefined;
	const reasoning = turn ? messageText(turn).trim() : '';
	return {
		approvalId: newApprovalId(),
		kind: 'tool_calls',
		requestedBy: settings.requestedBy,
		...(reasoning ? { reasoning } : {}),
		calls: (paused.pending ?? []).map((call) => {
			const tool = byName.get(call.name);
			return {
				...call,
				...(tool?.description ? { description: tool.description } : {}),
				...(tool ? { schema: jsonSchemaOf(tool) } : {}),
			};
		}),
		...(settings.expiresAt ? { expiresAt: settings.expiresAt } : {}),
		onTimeout: settings.onTimeout,
	};
}
