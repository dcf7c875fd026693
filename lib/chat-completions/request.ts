/**
 * The Chat Completions request this endpoint accepts (OpenAI's wire format, the subset an agent flow can honour),
 * validated with zod before any execution starts. Sampling fields (temperature, max_tokens) are validated and passed
 * on in the trigger's item; fields that would change what the endpoint is (client-side tools, n > 1, non-text
 * content) are refused with a 400 naming the field. Unknown fields are ignored, as most OpenAI-compatible servers do.
 */
import { z, type ZodIssue } from 'zod';

import { ChatCompletionsError } from './errors';

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const content = z.union([z.string(), z.array(textPart)]);

const toolCall = z.object({
	id: z.string().min(1),
	type: z.literal('function'),
	function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const message = z.discriminatedUnion('role', [
	z.object({ role: z.literal('system'), content, name: z.string().optional() }),
	z.object({ role: z.literal('developer'), content, name: z.string().optional() }),
	z.object({ role: z.literal('user'), content, name: z.string().optional() }),
	z.object({
		role: z.literal('assistant'),
		content: content.nullish(),
		tool_calls: z.array(toolCall).optional(),
		name: z.string().optional(),
	}),
	z.object({ role: z.literal('tool'), content, tool_call_id: z.string().min(1) }),
]);

const responseFormat = z.discriminatedUnion('type', [
	z.object({ type: z.literal('text') }),
	z.object({ type: z.literal('json_object') }),
	z.object({
		type: z.literal('json_schema'),
		json_schema: z.object({
			name: z.string().min(1),
			description: z.string().optional(),
			schema: z.record(z.unknown()).optional(),
			strict: z.boolean().nullish(),
		}),
	}),
]);

const unsupported = (what: string) =>
	z.unknown().refine((value) => value === undefined || value === null, { message: what });

export const chatCompletionRequestSchema = z.object({
	model: z.string().min(1),
	messages: z.array(message).min(1),
	stream: z.boolean().nullish(),
	stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
	temperature: z.number().min(0).max(2).nullish(),
	max_tokens: z.number().int().positive().nullish(),
	max_completion_tokens: z.number().int().positive().nullish(),
	user: z.string().max(256).optional(),
	metadata: z
		.record(z.string().max(512))
		.refine((m) => Object.keys(m).length <= 16, 'at most 16 key-value pairs')
		.nullish(),
	response_format: responseFormat.nullish(),
	n: z.literal(1).nullish(),
	tools: unsupported(
		'client-side tools are not supported: the flow calls its own tools (its tool sub-nodes)',
	),
	functions: unsupported('functions are not supported: the flow calls its own tools'),
	tool_choice: unsupported('tool_choice is not supported: the flow calls its own tools'),
});

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type ChatMessage = ChatCompletionRequest['messages'][number];
type MessageContent = z.infer<typeof content>;

/** `messages[2].content[0].type` for zod's path ['messages', 2, 'content', 0, 'type']. */
function paramOf(path: ReadonlyArray<string | number>): string | null {
	if (!path.length) return null;
	return path
		.map((key, i) => (typeof key === 'number' ? `[${key}]` : i ? `.${key}` : key))
		.join('');
}

function describe(issue: ZodIssue): string {
	const param = paramOf(issue.path);
	if (issue.code === 'invalid_union_discriminator')
		return `Invalid value for '${param}': expected one of ${issue.options.map((o) => `'${String(o)}'`).join(', ')}.`;
	if (issue.code === 'invalid_type' && issue.received === 'undefined')
		return `Missing required parameter: '${param}'.`;
	return param ? `Invalid value for '${param}': ${issue.message}.` : `${issue.message}.`;
}

/** Tool messages answer tool calls of an earlier assistant message, as OpenAI's API requires. */
function checkToolMessages(messages: readonly ChatMessage[]): void {
	const asked = new Set<string>();
	messages.forEach((m, i) => {
		if (m.role === 'assistant') m.tool_calls?.forEach((call) => asked.add(call.id));
		if (m.role === 'tool' && !asked.has(m.tool_call_id))
			throw new ChatCompletionsError(
				400,
				`Invalid parameter: messages with role 'tool' must be a response to a preceding message with 'tool_calls' (no tool call '${m.tool_call_id}' before messages[${i}]).`,
				'invalid_request_error',
				`messages[${i}].tool_call_id`,
			);
	});
}

/**
 * The validated request. Throws ChatCompletionsError 400 (invalid_request_error, `param` = the first offending field,
 * e.g. `messages[1].role`) for a body that is not a JSON object or does not match the format.
 */
export function parseChatCompletionRequest(body: unknown): ChatCompletionRequest {
	if (typeof body !== 'object' || body === null || Array.isArray(body))
		throw new ChatCompletionsError(
			400,
			'The request body must be a JSON object (Content-Type: application/json).',
		);
	const parsed = chatCompletionRequestSchema.safeParse(body);
	if (!parsed.success) {
		const [first] = parsed.error.issues;
		throw new ChatCompletionsError(
			400,
			describe(first),
			'invalid_request_error',
			paramOf(first.path),
		);
	}
	checkToolMessages(parsed.data.messages);
	return parsed.data;
}

/** The ChatCompletionsError 404 (code model_not_found) to answer unless `model` is one the trigger serves. */
export function modelRefusal(
	model: string,
	served: readonly string[],
): ChatCompletionsError | undefined {
	if (served.includes(model)) return undefined;
	return new ChatCompletionsError(
		404,
		`The model '${model}' does not exist; this endpoint serves ${served.map((m) => `'${m}'`).join(', ')}.`,
		'invalid_request_error',
		'model',
		'model_not_found',
	);
}

/** The text of a message's content: a string, or its text parts joined ('' for null). */
export const textOf = (value: MessageContent | null | undefined): string =>
	typeof value === 'string' ? value : (value ?? []).map((part) => part.text).join('');
