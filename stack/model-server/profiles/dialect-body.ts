/**
 * The bodies a profile answers with, in its dialect (see DialectOptions): a completion, the chunks of a stream and
 * the usage both report. Each takes the profile's options first, so dialect() only assembles them.
 */
import { randomUUID } from 'node:crypto';

import { usage as baseUsage, type StreamFrame, type StreamInput } from '../openai-format';
import { contentPieces } from '../streaming';
import { estimateTokens } from '../tokens';
import type { ChatRequest, ModelReply, ToolCall } from '../types';
import type { DialectOptions } from './dialect';

type Json = Record<string, unknown>;

const created = () => Math.floor(Date.now() / 1000);

const fingerprintOf = (o: DialectOptions): Json =>
	o.fingerprint === undefined ? {} : { system_fingerprint: o.fingerprint };

/** Token counts of one call, reasoning tokens included when the model reasons, plus the provider's own fields. */
export function usageOf(
	o: DialectOptions,
	request: ChatRequest,
	reply: ModelReply,
	toolCalls?: ToolCall[],
): Json {
	const counts = baseUsage(request, reply, toolCalls);
	const reasoningTokens =
		reply.reasoning && o.reasoning !== 'none' ? estimateTokens(reply.reasoning) : 0;
	const cachedTokens = reply.cachedPromptTokens ?? 0;
	const completion = counts.completion_tokens + reasoningTokens;
	return {
		prompt_tokens: counts.prompt_tokens,
		completion_tokens: completion,
		total_tokens: counts.prompt_tokens + completion,
		...(o.usageFields?.({ reasoningTokens, cachedTokens }) ?? {}),
	};
}

/** The reasoning the provider shows, if any ('hidden' reasoning only counts tokens). */
const shownReasoning = (o: DialectOptions, reply: ModelReply) =>
	o.reasoning === 'none' || o.reasoning === 'hidden' ? undefined : reply.reasoning;

function messageContent(o: DialectOptions, reply: ModelReply, toolCalls?: ToolCall[]): unknown {
	const text = reply.content ?? '';
	const reasoning = shownReasoning(o, reply);
	if (reasoning && o.reasoning === 'think') return `<think>\n${reasoning}\n</think>\n\n${text}`;
	if (reasoning && o.reasoning === 'mistral')
		return [
			{ type: 'thinking', thinking: [{ type: 'text', text: reasoning }] },
			...(text ? [{ type: 'text', text }] : []),
		];
	if (toolCalls?.length && !text) return o.contentWithTools;
	return reply.content ?? (toolCalls?.length ? o.contentWithTools : '');
}

function reasoningFields(o: DialectOptions, reasoning: string | undefined): Json {
	if (!reasoning) return {};
	if (o.reasoning === 'reasoning_content') return { reasoning_content: reasoning };
	if (o.reasoning === 'reasoning') return { reasoning };
	return {};
}

const finishReason = (o: DialectOptions, toolCalls?: ToolCall[]) =>
	toolCalls?.length ? o.finishWithTools : 'stop';

/** A non-streamed chat completion. */
export function completion(
	o: DialectOptions,
	model: string,
	request: ChatRequest,
	reply: ModelReply,
	toolCalls?: ToolCall[],
) {
	const usage = usageOf(o, request, reply, toolCalls);
	return {
		id: `${o.idPrefix}${randomUUID().replace(/-/g, '')}`,
		object: 'chat.completion',
		created: created(),
		model,
		...fingerprintOf(o),
		choices: [
			{
				index: 0,
				message: {
					role: 'assistant',
					content: messageContent(o, reply, toolCalls),
					...reasoningFields(o, shownReasoning(o, reply)),
					...(o.messageFields?.(reply) ?? {}),
					...(toolCalls?.length ? { tool_calls: toolCalls } : {}),
				},
				logprobs: null,
				finish_reason: finishReason(o, toolCalls),
			},
		],
		usage,
		...(o.completionFields?.(usage) ?? {}),
	};
}

/** One stream chunk with a single choice. */
export function chunk(
	o: DialectOptions,
	id: string,
	model: string,
	delta: Json,
	finish: string | null,
): Json {
	return {
		id,
		object: 'chat.completion.chunk',
		created: created(),
		model,
		...fingerprintOf(o),
		choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
	};
}

/** Tool calls as the provider streams them: whole (with or without index) or as fragments by index. */
export function toolCallFrames(
	o: DialectOptions,
	id: string,
	model: string,
	calls: ToolCall[],
): Json[] {
	if (o.streamToolCalls === 'whole')
		return [
			chunk(o, id, model, { tool_calls: calls.map((call, index) => ({ index, ...call })) }, null),
		];
	if (o.streamToolCalls === 'whole-no-index')
		return calls.map((call) => chunk(o, id, model, { tool_calls: [call] }, null));
	return calls.flatMap((call, index) => {
		const args = call.function.arguments;
		const third = Math.ceil(args.length / 3);
		const opening = {
			index,
			id: call.id,
			type: 'function',
			function: { name: call.function.name, arguments: '' },
		};
		return [
			chunk(o, id, model, { tool_calls: [opening] }, null),
			...[args.slice(0, third), args.slice(third, 2 * third), args.slice(2 * third)]
				.filter(Boolean)
				.map((part) =>
					chunk(o, id, model, { tool_calls: [{ index, function: { arguments: part } }] }, null),
				),
		];
	});
}

/** The reasoning's stream chunks in the provider's style. */
function reasoningDeltas(o: DialectOptions, reasoning: string): Json[] {
	if (o.reasoning === 'think') {
		// Five characters at a time, so tags arrive split across events as real streams split them.
		const thought = `<think>\n${reasoning}\n</think>\n\n`;
		const deltas: Json[] = [];
		for (let i = 0; i < thought.length; i += 5) deltas.push({ content: thought.slice(i, i + 5) });
		return deltas;
	}
	if (o.reasoning === 'mistral')
		return contentPieces(reasoning).map((piece) => ({
			content: [{ type: 'thinking', thinking: [{ type: 'text', text: piece }] }],
		}));
	const field = o.reasoning === 'reasoning' ? 'reasoning' : 'reasoning_content';
	return contentPieces(reasoning).map((piece) => ({ content: '', [field]: piece }));
}

/** Every frame of a streamed reply: prelude, role, reasoning, text, tool calls, finish, usage. */
export function streamFrames(
	o: DialectOptions,
	{ id, model, request, reply, toolCalls }: StreamInput,
): StreamFrame[] {
	const usage = usageOf(o, request, reply, toolCalls);
	const withFields = (c: Json, kind: 'first' | 'middle' | 'finish') =>
		o.chunkFields ? o.chunkFields(c, kind, usage) : c;
	const middle = (delta: Json) => ({
		data: withFields(chunk(o, id, model, delta, null), 'middle'),
		pace: true,
	});
	const reasoning = shownReasoning(o, reply);
	const frames: StreamFrame[] = [
		...(o.streamPrelude?.() ?? []),
		{ data: withFields(chunk(o, id, model, { role: 'assistant', content: '' }, null), 'first') },
		...(reasoning ? reasoningDeltas(o, reasoning).map(middle) : []),
		...contentPieces(reply.content ?? '').map((piece) =>
			middle({
				content: o.reasoning === 'mistral' && reasoning ? [{ type: 'text', text: piece }] : piece,
			}),
		),
		...(toolCalls?.length ? toolCallFrames(o, id, model, toolCalls) : []).map((c) => ({
			data: withFields(c, 'middle'),
		})),
	];
	const finish = chunk(
		o,
		id,
		model,
		o.reasoning === 'mistral' ? { content: '' } : {},
		finishReason(o, toolCalls),
	);
	if (o.streamUsage === 'final-chunk') finish.usage = usage;
	frames.push({ data: withFields(finish, 'finish') });
	if (
		o.streamUsage === 'always' ||
		(o.streamUsage === 'include_usage' && request.stream_options?.include_usage)
	)
		frames.push({ data: { ...chunk(o, id, model, {}, null), choices: [], usage } });
	return frames;
}
