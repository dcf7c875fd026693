/**
 * Conversation template: system message + history + user message → tool-calling loop → answer (text or structured);
 * the turn itself is lib/llm's runConversationTurn. This file reads the item's parameters, streams text to a Chat
 * Trigger or Chat Completions client, and makes n8n wait when a tool call needs a reviewer (Require Approval For).
 */
import { jsonSchemaToZod } from '@n8n/json-schema-to-zod';
import {
	updateDisplayOptions,
	NodeOperationError,
	type EngineResponse,
	type IDataObject,
	type IExecuteFunctions,
	type INodeProperties,
} from 'n8n-workflow';
import type { ZodType } from 'zod';

import {
	toolCallsApproval,
	toolsNeedingApproval,
	type ToolCallsApproval,
} from '../../../lib/approval';
import {
	AgentError,
	AgentRunError,
	restorePausedRun,
	runConversationTurn,
	runSummary,
	savePausedRun,
	schemaFromFields,
	type OutputField,
	type SavedAgentRun,
} from '../../../lib/llm';
import {
	ApprovalWait,
	approvalSettings,
	resumedApproval,
	type ApprovalSettings,
} from '../../shared/ai/approval';
import { connectedMemory } from '../../shared/ai/connections';
import { CompletionReply, servedRequest, type ServedRequest } from './chatCompletion';
import { itemAgent, type ItemAgent } from './itemAgent';
import { learnFromTurn, recallMemories } from './longTermMemory';
import type { AgentItem, AgentRun, ResumedTurn, TemplateRun } from './types';

const properties: INodeProperties[] = [
	{
		displayName: 'Prompt (User Message)',
		name: 'prompt',
		type: 'string',
		typeOptions: { rows: 2 },
		default: '={{ $json.chatInput }}',
		required: true,
		description: "The user's message. n8n's Chat Trigger sends it as chatInput.",
	},
	{
		displayName: 'Output Format',
		name: 'outputFormat',
		type: 'options',
		options: [
			{ name: 'Text', value: 'text', description: "The model's answer as text" },
			{
				name: 'Structured (Fields)',
				value: 'fields',
				description: 'A JSON object with the fields you list, validated',
			},
			{
				name: 'Structured (JSON Schema)',
				value: 'jsonSchema',
				description: 'JSON that matches your JSON Schema, validated',
			},
		],
		default: 'text',
		description:
			'Structured output is validated; an invalid answer is sent back once with the errors, and still invalid fails the item',
	},
	{
		displayName: 'Output Fields',
		name: 'outputFields',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		default: {},
		placeholder: 'Add Field',
		displayOptions: { show: { template: ['conversation'], outputFormat: ['fields'] } },
		options: [
			{
				displayName: 'Field',
				name: 'field',
				values: [
					{ displayName: 'Name', name: 'name', type: 'string', default: '', required: true },
					{
						displayName: 'Type',
						name: 'type',
						type: 'options',
						options: ['string', 'number', 'boolean', 'object', 'array'].map((t) => ({
							name: t[0].toUpperCase() + t.slice(1),
							value: t,
						})),
						default: 'string',
					},
					{
						displayName: 'Description',
						name: 'description',
						type: 'string',
						default: '',
						description: 'Tells the model what to put in the field',
					},
					{ displayName: 'Required', name: 'required', type: 'boolean', default: true },
				],
			},
		],
	},
	{
		displayName: 'JSON Schema',
		name: 'jsonSchema',
		type: 'json',
		default:
			'{\n  "type": "object",\n  "properties": {\n    "answer": { "type": "string" },\n    "confidence": { "type": "number" }\n  },\n  "required": ["answer"]\n}',
		displayOptions: { show: { template: ['conversation'], outputFormat: ['jsonSchema'] } },
	},
];

export const description = updateDisplayOptions(
	{ show: { template: ['conversation'] } },
	properties,
);

/** The zod schema of the item's Output Format, or undefined for text. Throws NodeOperationError for an invalid schema. */
function outputSchema(fn: IExecuteFunctions, itemIndex: number): ZodType | undefined {
	const format = fn.getNodeParameter('outputFormat', itemIndex, 'text') as string;
	try {
		if (format === 'fields') {
			const fields =
				(fn.getNodeParameter('outputFields.field', itemIndex, []) as OutputField[]) ?? [];
			if (!fields.length) throw new Error('add at least one output field');
			return schemaFromFields(fields);
		}
		if (format === 'jsonSchema') {
			const raw = fn.getNodeParameter('jsonSchema', itemIndex) as string | object;
			return jsonSchemaToZod(typeof raw === 'string' ? JSON.parse(raw) : raw) as ZodType;
		}
	} catch (error) {
		throw new NodeOperationError(
			fn.getNode(),
			`The output format is invalid: ${(error as Error).message}`,
			{ itemIndex },
		);
	}
	return undefined;
}

/** What the Agent keeps of its waiting item, besides the approval request (saved by n8n with the execution). */
interface PausedTurn extends IDataObject {
	paused: SavedAgentRun & IDataObject;
	/** Messages before the run's own (system, history, prompt): where the turn to save in memory starts. */
	promptMessages: number;
}

const APPROVAL_TAG = 'agent-approval';

/** The turn n8n resumes after an approval wait, or undefined for any other call of the node. */
export function resumedTurn(response: EngineResponse | undefined): ResumedTurn | undefined {
	const resumed = resumedApproval<ToolCallsApproval, PausedTurn>(response, APPROVAL_TAG);
	if (!resumed) return undefined;
	const { state, decision } = resumed;
	return {
		itemIndex: state.itemIndex,
		outputs: state.outputs,
		request: state.request,
		paused: restorePausedRun(state.paused),
		promptMessages: state.promptMessages,
		decisions:
			decision?.decisions ??
			state.request.calls.map((call) => ({ id: call.id, action: 'timed_out' as const })),
		timedOut: !decision?.decisions,
	};
}

/** Which tool calls wait for a reviewer (Options → Require Approval For), or undefined. Throws NodeOperationError. */
function approvalGate(
	fn: IExecuteFunctions,
	item: AgentItem,
	tools: ItemAgent['tools'],
): (ApprovalSettings & { needsApproval(call: { name: string }): boolean }) | undefined {
	const gated = toolsNeedingApproval(String(item.options.requireApproval ?? ''), tools);
	if (!gated) return undefined;
	const settings = approvalSettings(fn, item, 'Require Approval For');
	if (gated.unknown.length)
		throw new NodeOperationError(
			fn.getNode(),
			`Require Approval For names ${gated.unknown.map((n) => `"${n}"`).join(', ')}, which is neither a tool nor a tool sub-node`,
			{
				itemIndex: item.itemIndex,
				description: `Tools: ${tools.map((t) => t.name).join(', ') || 'none'}. Use a tool's name, the name of the sub-node that supplies it, or * for every tool.`,
			},
		);
	return { ...settings, needsApproval: (call) => gated.gated.has(call.name) };
}

/** The resumed turn of this item, if it is the one that waited; a timeout with On Approval Timeout "fail" throws. */
function resumedFor(run: AgentRun, itemIndex: number): ResumedTurn | undefined {
	const resumed = run.resumed?.itemIndex === itemIndex ? run.resumed : undefined;
	if (resumed?.timedOut && resumed.request.onTimeout === 'fail') {
		const names = resumed.request.calls.map((call) => call.name).join(', ');
		throw new AgentRunError(
			`No reviewer decided on ${names} before ${resumed.request.expiresAt} (On Approval Timeout: Fail)`,
			'approval_timeout',
			{ output: resumed.paused.output, ...runSummary(resumed.paused) },
		);
	}
	return resumed;
}

/** Streams text answers to a Chat Trigger / Webhook whose response streams (not structured output: it is validated first). */
function chatStream(fn: IExecuteFunctions, item: AgentItem, wanted: boolean) {
	if (!wanted || item.options.enableStreaming === false || fn.isStreaming?.() !== true)
		return undefined;
	fn.sendChunk('begin', item.itemIndex);
	return {
		text: (delta: string) => fn.sendChunk('item', item.itemIndex, delta),
		end: () => fn.sendChunk('end', item.itemIndex),
	};
}

/**
 * Output: { output (text, or the validated object), status: completed | budget_exceeded, steps: [{ tool, input,
 * output, error?, durationMs }], iterations, usage, durationMs, structuredRepairs?, memory? }; `memory`, with a memory
 * connected: { saved: true }, or { saved: false, code, error } when the turn could not be saved (the answer is still
 * the output); with Long-Term Memory, `recalled` (the IDs of the facts put into the prompt) and `learned` ({ added,
 * updated, deleted, unchanged, skipped? }, or { failed: true, code, error }: the answer is still the output). Throws AgentRunError for max_iterations / tool_errors / output still invalid after one repair,
 * AgentError for an empty prompt, the memory's error when the history cannot be loaded.
 */
export const execute: TemplateRun = async (run, item) => {
	const served = servedRequest(run.fn, item.itemIndex);
	if (!served) return answer(run, item);
	// A Chat Completions reply always streams its text (the trigger gathers it when the client did not ask to stream).
	const reply = new CompletionReply(run.fn, item.itemIndex);
	reply.begin();
	const json = await answer(run, item, served, reply).catch((error: Error) => {
		reply.fail(error);
		throw error;
	});
	const { output } = json;
	reply.finish(
		typeof output === 'string' ? output : JSON.stringify(output),
		json.status === 'budget_exceeded' ? 'length' : 'stop',
		item.usage.get(),
	);
	return json;
};

/** `served`: the Chat Completions request the item answers, and `reply` the way back to its client. */
async function answer(
	run: AgentRun,
	item: AgentItem,
	served?: ServedRequest,
	reply?: CompletionReply,
): Promise<IDataObject> {
	const { fn } = run;
	const { itemIndex } = item;
	const prompt = served?.prompt ?? String(fn.getNodeParameter('prompt', itemIndex, '') ?? '');
	if (!served && !prompt.trim())
		throw new AgentError(
			'EMPTY_PROMPT',
			'The prompt is empty: set "Prompt (User Message)", e.g. {{ $json.chatInput }}',
		);
	const schema = outputSchema(fn, itemIndex) ?? served?.schema;
	const agent = await itemAgent(run, item);
	const gate = approvalGate(fn, item, agent.tools);
	const resumed = resumedFor(run, itemIndex);
	const memory = await connectedMemory(fn, itemIndex);
	const stream = chatStream(fn, item, !reply && !schema);
	const onText = reply && !schema ? reply.text : stream?.text;
	// A resumed turn goes on with the system message it paused with.
	const recalled = resumed ? undefined : await recallMemories(agent.facts, prompt);
	const outcome = await runConversationTurn({
		...agent,
		agentOptions: { ...agent.agentOptions, ...(onText ? { onText } : {}) },
		system:
			String(fn.getNodeParameter('systemMessage', itemIndex, '') ?? '') + (recalled?.section ?? ''),
		prompt,
		clientMessages: served?.messages(),
		memory,
		schema,
		needsApproval: gate?.needsApproval,
		resume: resumed,
	}).finally(() => stream?.end());
	if (outcome.status === 'awaiting_approval') {
		const request = toolCallsApproval(outcome.result, agent.tools, {
			...gate!,
			requestedBy: fn.getNode().name,
		});
		throw new ApprovalWait<ToolCallsApproval, PausedTurn>(
			APPROVAL_TAG,
			gate!.approvalNode,
			request,
			{
				paused: savePausedRun(outcome.result) as SavedAgentRun & IDataObject,
				promptMessages: outcome.promptMessages,
			},
		);
	}
	const learned = await learnFromTurn(agent, item, prompt, outcome.output);
	const memoryOutput = {
		...outcome.memory,
		...(recalled ? { recalled: recalled.ids } : {}),
		...(learned ? { learned } : {}),
	};
	return {
		output: outcome.output as IDataObject,
		...(runSummary(outcome.result) as IDataObject),
		...(outcome.structuredRepairs !== undefined
			? { structuredRepairs: outcome.structuredRepairs }
			: {}),
		...(Object.keys(memoryOutput).length ? { memory: memoryOutput as IDataObject } : {}),
		durationMs: outcome.result.durationMs,
	};
}
