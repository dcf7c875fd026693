/**
 * The wire format of every response body the offline model server sends: errors, chat completions, stream chunks,
 * embeddings, the model list and rerank results. Routes, handlers, streaming and faults build bodies only through a
 * WireFormat; `openAiFormat` is the one the server speaks by default (OpenAI's, with Cohere's rerank shape), and each
 * provider profile (profiles/) brings its own.
 */
import { randomUUID } from 'node:crypto';

import { toBase64Float32 } from './embeddings';
import { textOf } from './offline-model';
import { estimateTokens } from './tokens';
import type { ChatRequest, ModelReply, ToolCall } from './types';

/** One reranked document: its index in the request's `documents` and its score (higher is more relevant). */
export interface RerankScore {
	index: number;
	score: number;
}

/** One event of a streamed answer: a JSON `data:` event (`pace`: wait the stream interval before it), or an SSE comment. */
export type StreamFrame = { data: unknown; pace?: boolean } | { comment: string };

/** What a whole-stream builder (WireFormat.streamFrames) is given. */
export interface StreamInput {
	id: string;
	model: string;
	request: ChatRequest;
	reply: ModelReply;
	toolCalls?: ToolCall[];
}

/** Builds response bodies (JSON-serialisable values). `model` arguments are already resolved to a non-empty name. */
export interface WireFormat {
	/**
	 * An error body; `type` such as invalid_request_error, `code` and `param` null when they do not apply, `status` the
	 * HTTP status it is sent with.
	 */
	error(
		message: string,
		type: string,
		code?: string | null,
		param?: string | null,
		status?: number,
	): unknown;
	/** The error `type` an injected HTTP `status` reports. */
	errorType(status: number): string;
	/** A complete (non-streamed) chat completion. */
	completion(
		model: string,
		request: ChatRequest,
		reply: ModelReply,
		toolCalls?: ToolCall[],
	): unknown;
	/** The first stream event: the assistant's role with `content` (normally empty). */
	streamStart(id: string, model: string, content?: string): unknown;
	/** A stream event carrying one piece of the answer's text. */
	streamContent(id: string, model: string, piece: string): unknown;
	/** The stream events carrying tool call number `index` (name first, then the arguments in two halves). */
	streamToolCall(id: string, model: string, call: ToolCall, index: number): unknown[];
	/** The stream event that ends the answer (finish reason tool_calls when `toolCalls`, else stop). */
	streamFinish(id: string, model: string, toolCalls: boolean): unknown;
	/** The stream event with token usage (sent when the request asked for it). */
	streamUsage(
		id: string,
		model: string,
		request: ChatRequest,
		reply: ModelReply,
		toolCalls?: ToolCall[],
	): unknown;
	/** An embeddings list; `base64` encodes each vector as little-endian float32 bytes. */
	embeddings(model: string, vectors: number[][], tokens: number, base64: boolean): unknown;
	/** The model list of GET /models. */
	models(ids: string[]): unknown;
	/** Rerank results, best first. */
	rerank(results: RerankScore[]): unknown;
	/**
	 * Every event of a streamed answer, in order, [DONE] excluded (profiles: they shape the whole stream); without it
	 * the stream is streamStart, streamContent per piece, streamToolCall per call, streamFinish, streamUsage.
	 */
	streamFrames?(input: StreamInput): StreamFrame[];
	/** The event of an error that happens once a stream is under way. */
	streamError?(id: string, model: string, message: string, status: number): unknown;
}

const FINGERPRINT = 'openagents-offline-stand-in';

/** Token usage estimated from the prompt (messages, tool calls, tool definitions) and the reply. */
export function usage(request: ChatRequest, reply: ModelReply, toolCalls?: ToolCall[]) {
	const promptText = request.messages
		.map((m) => textOf(m.content) + JSON.stringify(m.tool_calls ?? ''))
		.join('\n');
	const toolsText = JSON.stringify(request.tools ?? '');
	const prompt_tokens =
		estimateTokens(promptText) + (request.tools ? estimateTokens(toolsText) : 0);
	const completion_tokens = estimateTokens((reply.content ?? '') + JSON.stringify(toolCalls ?? ''));
	return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

function chunk(id: string, model: string, delta: Record<string, unknown>, finish: string | null) {
	return {
		id,
		object: 'chat.completion.chunk',
		created: Math.floor(Date.now() / 1000),
		model,
		system_fingerprint: FINGERPRINT,
		choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
	};
}

function toolCallChunks(id: string, model: string, call: ToolCall, index: number) {
	const half = Math.ceil(call.function.arguments.length / 2);
	const head = {
		index,
		id: call.id,
		type: 'function',
		function: { name: call.function.name, arguments: call.function.arguments.slice(0, half) },
	};
	const tail = { index, function: { arguments: call.function.arguments.slice(half) } };
	return [
		chunk(id, model, { tool_calls: [head] }, null),
		chunk(id, model, { tool_calls: [tail] }, null),
	];
}

function completion(
	model: string,
	request: ChatRequest,
	reply: ModelReply,
	toolCalls?: ToolCall[],
) {
	return {
		id: `chatcmpl-offline-${randomUUID()}`,
		object: 'chat.completion',
		created: Math.floor(Date.now() / 1000),
		model,
		system_fingerprint: FINGERPRINT,
		choices: [
			{
				index: 0,
				message: {
					role: 'assistant',
					content: reply.content ?? null,
					refusal: null,
					...(toolCalls ? { tool_calls: toolCalls } : {}),
				},
				logprobs: null,
				finish_reason: toolCalls ? 'tool_calls' : 'stop',
			},
		],
		usage: usage(request, reply, toolCalls),
	};
}

function embeddings(model: string, vectors: number[][], tokens: number, base64: boolean) {
	return {
		object: 'list',
		model,
		data: vectors.map((vector, index) => ({
			object: 'embedding',
			index,
			embedding: base64 ? toBase64Float32(vector) : vector,
		})),
		usage: { prompt_tokens: tokens, total_tokens: tokens },
	};
}

function models(ids: string[]) {
	const created = 1_700_000_000;
	return {
		object: 'list',
		data: ids.map((id) => ({ id, object: 'model', created, owned_by: FINGERPRINT })),
	};
}

export const openAiFormat: WireFormat = {
	error: (message, type, code = null, param = null) => ({ error: { message, type, param, code } }),
	streamError: (_id, _model, message) => ({
		error: { message, type: 'server_error', param: null, code: null },
	}),
	errorType(status) {
		if (status === 429) return 'rate_limit_exceeded';
		if (status >= 500) return 'server_error';
		return 'invalid_request_error';
	},
	completion,
	streamStart: (id, model, content = '') => chunk(id, model, { role: 'assistant', content }, null),
	streamContent: (id, model, piece) => chunk(id, model, { content: piece }, null),
	streamToolCall: toolCallChunks,
	streamFinish: (id, model, toolCalls) => chunk(id, model, {}, toolCalls ? 'tool_calls' : 'stop'),
	streamUsage: (id, model, request, reply, toolCalls) => ({
		...chunk(id, model, {}, null),
		choices: [],
		usage: usage(request, reply, toolCalls),
	}),
	embeddings,
	models,
	rerank: (results) => ({
		results: results.map(({ index, score }) => ({ index, relevance_score: score })),
	}),
};
