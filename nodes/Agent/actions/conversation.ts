/** Conversation template: system message + history + user message → tool-calling loop → answer (text or structured). */
import { jsonSchemaToZod } from '@n8n/json-schema-to-zod';
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import {
	updateDisplayOptions,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeProperties,
} from 'n8n-workflow';
import type { ZodType } from 'zod';

import {
	AgentError,
	repairStructured,
	runAgent,
	schemaFromFields,
	structuredInstruction,
	type AgentResult,
	type OutputField,
	type UsageTracker,
} from '../../../lib/llm';
import { turnMessages } from '../../../lib/memory';
import { connectedMemory, loadHistory } from '../../shared/connections';
import { approvalGate, approvalRequest, ApprovalNeeded } from './approval';
import { CompletionReply, servedRequest, type ServedRequest } from './chatCompletion';
import { itemAgent } from './itemAgent';
import { AgentRunError, type RunContext, type TemplateRun } from './types';

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

/** The item JSON of a run (steps without the raw messages). */
export function runSummary(result: AgentResult): IDataObject {
	return {
		status: result.status,
		iterations: result.iterations,
		steps: result.steps as unknown as IDataObject[],
		...(result.reason ? { reason: result.reason } : {}),
	};
}

/**
 * Output: { output (text, or the validated object), status: completed | budget_exceeded, steps: [{ tool, input,
 * output, error?, durationMs }], iterations, usage, durationMs, structuredRepairs? }. Throws AgentRunError for
 * max_iterations / tool_errors / output still invalid after one repair, AgentError for an empty prompt.
 */
export const execute: TemplateRun = async (run, itemIndex, usage) => {
	const served = servedRequest(run.fn, itemIndex);
	if (!served) return answer(run, itemIndex, usage);
	const reply = new CompletionReply(run.fn, itemIndex);
	reply.begin();
	const json = await answer(run, itemIndex, usage, served, reply).catch((error: Error) => {
		reply.fail(error);
		throw error;
	});
	const { output } = json;
	reply.finish(
		typeof output === 'string' ? output : JSON.stringify(output),
		json.status === 'budget_exceeded' ? 'length' : 'stop',
		usage.get(),
	);
	return json;
};

/** `served`: the Chat Completions request the item answers, and `reply` the way back to its client. */
async function answer(
	run: RunContext,
	itemIndex: number,
	usage: UsageTracker,
	served?: ServedRequest,
	reply?: CompletionReply,
): Promise<IDataObject> {
	const { fn } = run;
	const prompt = served?.prompt ?? String(fn.getNodeParameter('prompt', itemIndex, '') ?? '');
	if (!served && !prompt.trim())
		throw new AgentError(
			'EMPTY_PROMPT',
			'The prompt is empty: set "Prompt (User Message)", e.g. {{ $json.chatInput }}',
		);
	const schema = outputSchema(fn, itemIndex) ?? served?.schema;
	const agent = await itemAgent(run, itemIndex, usage);
	const gate = approvalGate(run, itemIndex, agent.tools, agent.options);
	const resumed = run.resumed?.state.itemIndex === itemIndex ? run.resumed : undefined;
	if (resumed?.timedOut && resumed.state.request.onTimeout === 'fail') {
		const names = resumed.state.request.calls.map((call) => call.name).join(', ');
		throw new AgentRunError(
			`No reviewer decided on ${names} before ${resumed.state.request.expiresAt} (On Approval Timeout: Fail)`,
			'approval_timeout',
			{ output: resumed.paused.output, ...runSummary(resumed.paused) },
		);
	}
	const memory = await connectedMemory(fn, itemIndex);
	const system = String(fn.getNodeParameter('systemMessage', itemIndex, '') ?? '');
	// A resumed run continues its saved conversation; the history is not read again.
	const messages = resumed
		? []
		: [
				new SystemMessage(
					schema
						? `${system}\n\nWhen you give your final answer, ${structuredInstruction(schema).replace(/^Reply/, 'reply')}`
						: system,
				),
				// A client sends the whole conversation; with a memory sub-node, the memory holds it instead.
				...(served && !memory
					? served.messages()
					: [...(memory ? await loadHistory(memory) : []), new HumanMessage(prompt)]),
			];
	const promptMessages = resumed?.state.promptMessages ?? messages.length;

	// Streams text answers to a Chat Trigger / Webhook whose response streams; structured output is validated first.
	// A Chat Completions reply always streams its text (the trigger gathers it when the client did not ask to stream).
	const stream =
		!reply && !schema && agent.options.enableStreaming !== false && fn.isStreaming?.() === true;
	if (stream) fn.sendChunk('begin', itemIndex);
	const onText =
		reply && !schema
			? reply.text
			: stream
				? (delta: string) => fn.sendChunk('item', itemIndex, delta)
				: undefined;
	const result = await runAgent(agent.model, messages, agent.tools, {
		...agent.agentOptions,
		...(gate ? { needsApproval: gate.needsApproval } : {}),
		...(resumed ? { resume: { paused: resumed.paused, decisions: resumed.decisions } } : {}),
		...(onText ? { onText } : {}),
	}).finally(() => stream && fn.sendChunk('end', itemIndex));
	if (result.status === 'awaiting_approval') {
		throw new ApprovalNeeded(
			result,
			approvalRequest(result, agent.tools, gate!, fn.getNode().name),
			gate!.approvalNode,
			promptMessages,
		);
	}
	if (result.status === 'max_iterations' || result.status === 'tool_errors') {
		throw new AgentRunError(result.reason!, result.status, {
			output: result.output,
			...runSummary(result),
		});
	}
	let output: unknown = result.output;
	let structuredRepairs: number | undefined;
	if (schema && result.status === 'completed') {
		// The repair continues the same conversation, so the tool definitions go with it (some APIs require them).
		const model =
			agent.tools.length && agent.model.bindTools
				? agent.model.bindTools(agent.tools)
				: agent.model;
		const structured = await repairStructured(
			model,
			result.messages,
			result.output,
			schema,
			agent.callOptions,
		).catch((error: Error) => error);
		if (structured instanceof Error) {
			throw new AgentRunError(structured.message, 'invalid_output', {
				output: result.output,
				...runSummary(result),
				issues: (structured as { issues?: string[] }).issues ?? [],
			});
		}
		({ value: output, repairs: structuredRepairs } = structured);
	}
	if (memory) {
		const answer = typeof output === 'string' ? output : JSON.stringify(output);
		// Our Chat Memory keeps the tool calls with their results; any other memory gets LangChain's input/output.
		if (typeof memory.saveTurn === 'function')
			await memory.saveTurn(turnMessages(prompt, result.messages.slice(promptMessages), answer));
		else await memory.saveContext({ input: prompt }, { output: answer });
	}
	return {
		output: output as IDataObject,
		...runSummary(result),
		...(structuredRepairs !== undefined ? { structuredRepairs } : {}),
		durationMs: result.durationMs,
	};
}
