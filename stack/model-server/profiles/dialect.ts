/**
 * The builder of provider profiles: OpenAI's Chat Completions dialect with the knobs on which providers differ —
 * how tool calls stream (fragments by index, whole, whole without index), what `content` is beside tool calls, the
 * finish reason of a tool-calling turn, whether a turn may call several tools, where reasoning goes, where streamed
 * usage goes, the error body, the rate-limit answer, the paths and auth. Each profile file sets the knobs as its
 * provider's documentation (cited there) describes.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

import { lastUserText } from '../offline-model';
import {
	openAiFormat,
	usage as baseUsage,
	type StreamFrame,
	type WireFormat,
} from '../openai-format';
import type { ChatRequest, ModelReply } from '../types';
import { chunk, completion, streamFrames, toolCallFrames, usageOf } from './dialect-body';
import type {
	ProfileMemory,
	ProfileName,
	ProviderProfile,
	RateLimitBehaviour,
	Refusal,
	Route,
} from './types';

type Json = Record<string, unknown>;

export type ReasoningStyle =
	/** The model does not reason. */
	| 'none'
	/** It reasons, but only the token count is reported (OpenAI, Azure, Gemini by default). */
	| 'hidden'
	/** A `reasoning_content` field beside `content` (DeepSeek, older vLLM, LM Studio with its separate setting). */
	| 'reasoning_content'
	/** A `reasoning` field (Ollama, vLLM ≥ 0.10, OpenRouter, Groq's parsed format). */
	| 'reasoning'
	/** A `<think>…</think>` block at the start of the text (local models without a parser, Groq's raw format). */
	| 'think'
	/** Typed content parts: `{ type: "thinking", thinking: [{ type: "text", text }] }` then text (Mistral Magistral). */
	| 'mistral';

export interface DialectOptions {
	name: ProfileName;
	label: string;
	basePath: string;
	models: { chat: string; embedding: string };
	/** Prefix of completion ids. */
	idPrefix: string;
	/** system_fingerprint on completions and chunks (absent when undefined). */
	fingerprint?: string;
	toolCallId: () => string;
	streamToolCalls: 'fragments' | 'whole' | 'whole-no-index';
	/** `content` of a message that only calls tools. */
	contentWithTools: null | '';
	finishWithTools: 'tool_calls' | 'stop';
	/** False: one tool call per turn. */
	parallelToolCalls: boolean;
	reasoning: ReasoningStyle;
	/**
	 * Streamed usage: a chunk with empty choices when `stream_options.include_usage` asks (`include_usage`) or always
	 * (`always`), on the finish chunk (`final-chunk`), or none at all (`none`).
	 */
	streamUsage: 'include_usage' | 'always' | 'final-chunk' | 'none';
	/** Provider-specific usage fields (cache, reasoning, timings) added to the base counts. */
	usageFields?: (counts: { reasoningTokens: number; cachedTokens: number }) => Json;
	/** Message fields besides role/content/tool_calls (e.g. refusal: null). */
	messageFields?: (reply: ModelReply) => Json;
	/** Fields added to a non-streamed completion (e.g. x_groq, provider, prompt_filter_results). */
	completionFields?: (usage: Json) => Json;
	/** Changes to a stream chunk: `kind` first, middle or finish; usage is the call's. */
	chunkFields?: (chunk: Json, kind: 'first' | 'middle' | 'finish', usage: Json) => Json;
	/** Frames before the first chunk (comments, filter results). */
	streamPrelude?: () => StreamFrame[];
	error: (
		message: string,
		type: string,
		code: string | null,
		param: string | null,
		status: number,
	) => unknown;
	errorType?: (status: number) => string;
	streamError?: WireFormat['streamError'];
	modelList?: (ids: string[]) => unknown;
	rerankBody?: WireFormat['rerank'];
	embeddingsBody?: WireFormat['embeddings'];
	resolve?: ProviderProfile['resolve'];
	authorized?: ProviderProfile['authorized'];
	unauthorized?: () => Refusal;
	notFound?: ProviderProfile['notFound'];
	refuseChat?: ProviderProfile['refuseChat'];
	refuseEmbeddings?: ProviderProfile['refuseEmbeddings'];
	/** Most inputs one embeddings request may carry; the refusal beyond it. */
	maxEmbeddingInputs?: { max: number; refusal: (count: number) => Refusal };
	ignoresEncodingFormat?: boolean;
	/** False: the provider has no /embeddings (its 404). */
	embeddings?: boolean;
	rerank: boolean;
	rateLimit: RateLimitBehaviour;
	contextError: ProviderProfile['contextError'];
	remember?: ProviderProfile['remember'];
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers the profiles share

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `length` random letters and digits (`alphabet` to narrow them). */
export function randomChars(length: number, alphabet = ALPHANUMERIC): string {
	const bytes = randomBytes(length);
	return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

/** A duration as OpenAI's and Groq's x-ratelimit-reset-* headers give it: "20ms", "1.5s", "6m0s", "1h2m3s". */
export function goDuration(ms: number): string {
	if (ms < 1000) return `${Math.max(1, Math.round(ms))}ms`;
	const total = ms / 1000;
	const hours = Math.floor(total / 3600);
	const minutes = Math.floor((total % 3600) / 60);
	const seconds = total % 60;
	const s = `${Number(seconds.toFixed(3))}s`;
	if (hours) return `${hours}h${minutes}m${s}`;
	if (minutes) return `${minutes}m${s}`;
	return s;
}

/** The request's prompt as its tokens (≈ 4 characters each), for context windows. */
export function promptTokens(request: ChatRequest): number {
	return baseUsage(request, {}).prompt_tokens;
}

/**
 * The reasoning a reasoning model of the stand-in thinks: a draft that would show if it leaked — a JSON value, a
 * citation number no passage has, a Sources line — so tests see it stay out of answers, citations and structured
 * output. A scripted reply's own `reasoning` wins.
 */
function decoyReasoning(request: ChatRequest, reply: ModelReply): string {
	if (reply.reasoning !== undefined) return reply.reasoning;
	const question = lastUserText(request.messages).replace(/\s+/g, ' ').trim().slice(0, 80);
	const plan = reply.toolCalls?.length
		? `I will call ${reply.toolCalls.map((c) => c.name).join(' and ')} first.`
		: 'I can answer now.';
	return `The user asks: "${question}". Draft {"answer": "draft from the reasoning"} per [9]. Sources: [9] reasoning-draft.md. ${plan}`;
}

const ROUTES: Record<string, Route> = {
	'/chat/completions': 'chat',
	'/embeddings': 'embeddings',
	'/models': 'models',
	'/rerank': 'rerank',
};

/** The route of `path` under `basePath` (or /v1, or the root). */
export function routeUnder(basePath: string, path: string): Route | 'unknown' {
	const rest = path.startsWith(`${basePath}/`)
		? path.slice(basePath.length)
		: path.replace(/^\/v1(?=\/)/, '');
	return Object.hasOwn(ROUTES, rest) ? ROUTES[rest] : 'unknown';
}

export const bearer = (headers: IncomingHttpHeaders, apiKey: string) =>
	headers.authorization === `Bearer ${apiKey}`;

// ---------------------------------------------------------------------------------------------------------------

/** A provider profile from its options (see DialectOptions). */
export function dialect(o: DialectOptions): ProviderProfile {
	const format = wireFormat(o);
	return {
		name: o.name,
		label: o.label,
		format,
		basePath: o.basePath,
		models: o.models,
		resolve:
			o.resolve ??
			((path) => {
				const route = routeUnder(o.basePath, path);
				return { route: route === 'embeddings' && o.embeddings === false ? 'unknown' : route };
			}),
		authorized: o.authorized ?? bearer,
		unauthorized:
			o.unauthorized ??
			(() => ({
				status: 401,
				body: format.error(
					'Incorrect API key provided.',
					'invalid_request_error',
					'invalid_api_key',
					null,
					401,
				),
			})),
		notFound:
			o.notFound ??
			((method, path) => ({
				status: 404,
				body: format.error(
					`Unknown request URL: ${method} ${path}`,
					'invalid_request_error',
					null,
					null,
					404,
				),
			})),
		refuseChat: o.refuseChat ?? (() => undefined),
		refuseEmbeddings(body) {
			const inputs = Array.isArray(body?.input) ? body.input.length : 1;
			if (o.maxEmbeddingInputs && inputs > o.maxEmbeddingInputs.max)
				return o.maxEmbeddingInputs.refusal(inputs);
			return o.refuseEmbeddings?.(body);
		},
		ignoresEncodingFormat: o.ignoresEncodingFormat ?? false,
		rerank: o.rerank,
		reasoning: (request, reply) =>
			o.reasoning === 'none' ? undefined : decoyReasoning(request, reply),
		shapeReply: (reply) =>
			o.parallelToolCalls || (reply.toolCalls?.length ?? 0) < 2
				? reply
				: { ...reply, toolCalls: reply.toolCalls!.slice(0, 1) },
		toolCallId: o.toolCallId,
		remember: o.remember ?? ((_reply: ModelReply, _calls, _memory: ProfileMemory) => undefined),
		rateLimit: o.rateLimit,
		contextError: o.contextError,
	};
}

/** The provider's wire format: its error bodies, completions, stream frames, embeddings, model list and rerank. */
function wireFormat(o: DialectOptions): WireFormat {
	return {
		error: (message, type, code = null, param = null, status = 400) =>
			o.error(message, type, code, param, status),
		errorType: o.errorType ?? openAiFormat.errorType,
		completion: (model, request, reply, toolCalls) =>
			completion(o, model, request, reply, toolCalls),
		streamStart: (id, model, content = '') =>
			chunk(o, id, model, { role: 'assistant', content }, null),
		streamContent: (id, model, piece) => chunk(o, id, model, { content: piece }, null),
		streamToolCall: (id, model, call) => toolCallFrames(o, id, model, [call]),
		streamFinish: (id, model, toolCalls) =>
			chunk(o, id, model, {}, toolCalls ? o.finishWithTools : 'stop'),
		streamUsage: (id, model, request, reply, toolCalls) => ({
			...chunk(o, id, model, {}, null),
			choices: [],
			usage: usageOf(o, request, reply, toolCalls),
		}),
		embeddings: o.embeddingsBody ?? openAiFormat.embeddings,
		models: o.modelList ?? openAiFormat.models,
		rerank: o.rerankBody ?? openAiFormat.rerank,
		streamFrames: (input) => streamFrames(o, input),
		streamError:
			o.streamError ??
			((_id, _model, message) => ({
				error: { message, type: 'server_error', param: null, code: null },
			})),
	};
}
