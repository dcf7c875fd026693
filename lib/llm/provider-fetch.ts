/**
 * The `fetch` of every client we build from the `OpenAgents LLM API` credential (chat, embeddings, model list, rerank):
 * it speaks to the provider as the provider documents and hands the OpenAI SDK (and LangChain above it) OpenAI's own
 * dialect back, so nothing above this file needs to know which provider answered.
 *
 * Requests: Azure's `api-key` header, `?api-version=` and deployment path; parameters the provider refused before are
 * left out (a 400/422 naming a parameter we sent is retried once without it, and remembered per provider, base URL
 * and model for the life of the process); structured output asked natively where the provider has it
 * (withStructuredOutput); DeepSeek's thinking-mode reasoning passed back on tool-call turns; Mistral's 9-character
 * tool-call ids.
 * Responses (JSON and server-sent events): reasoning (`reasoning`, Mistral's thinking parts, a leading `<think>` block)
 * moved to `reasoning_content`; tool calls given an index, an id that is present and unique in the conversation, and
 * JSON arguments; usage taken from where the provider puts it (Groq's `x_groq`, DeepSeek's cache fields); error bodies
 * of every shape (a JSON array, `{ object: "error" }`, a plain string or text, OpenRouter's provider metadata) made
 * `{ error: { message, … } }`, and errors sent with HTTP 200 (in a body or mid-stream) made failures with a status;
 * embeddings returned as floats when base64 was asked re-encoded, so the SDK decodes them right.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomInt } from 'node:crypto';

import { signalAwareFetch } from '../retry';
import { encodeVector } from '../vectors';
import type { LlmConfig } from './config';
import { resolveProvider, type ProviderInfo } from './providers';
import { ReasoningSplitter, splitReasoning } from './reasoning';

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- provider JSON of many shapes, read field by field
type Json = any;

/** An error the provider reported with HTTP 200: in a JSON body, or as an event of a stream already under way. */
class ProviderStreamError extends Error {
	override name = 'ProviderStreamError';

	constructor(
		message: string,
		/** The HTTP status the error stands for (its numeric code, else 500 for a server error, 429 for a limit). */
		readonly status: number,
		/** The provider's error object. */
		readonly error: unknown,
	) {
		super(message);
	}
}

// ---------------------------------------------------------------------------------------------------------------
// Process-wide memory

/** Parameters a provider refused, by provider, base URL and model. */
const refused = new Map<string, Set<string>>();

const refusedKey = (info: ProviderInfo, baseUrl: string, model: unknown) =>
	`${info.id}|${baseUrl.replace(/\/+$/, '')}|${typeof model === 'string' ? model : ''}`;

/** The request parameters the provider of `config` refused for `model` (and we now leave out). */
export function refusedParameters(config: LlmConfig, model: string): string[] {
	return [...(refused.get(refusedKey(resolveProvider(config), config.baseUrl, model)) ?? [])];
}

/** Forgets every refused parameter (tests). */
export function forgetRefusedParameters(): void {
	refused.clear();
}

/** DeepSeek's thinking-mode reasoning of assistant turns that called tools, by tool-call id (oldest dropped first). */
const reasoningOfToolCall = new Map<string, string>();
const REASONING_KEPT = 2_000;

function keepReasoning(ids: string[], reasoning: string): void {
	if (!reasoning) return;
	for (const id of ids) reasoningOfToolCall.set(id, reasoning);
	while (reasoningOfToolCall.size > REASONING_KEPT)
		reasoningOfToolCall.delete(reasoningOfToolCall.keys().next().value!);
}

const structuredHint = new AsyncLocalStorage<{ schema: unknown }>();

/**
 * Runs `fn` with a structured-output request in context: chat requests `fn` makes through a client of ours ask the
 * provider for JSON matching `schema` (`response_format`) where the provider supports it, besides the prompt.
 */
export function withStructuredOutput<T>(schema: unknown, fn: () => Promise<T>): Promise<T> {
	return structuredHint.run({ schema }, fn);
}

// ---------------------------------------------------------------------------------------------------------------
// Ids

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A new tool-call id: 9 letters and digits, a form every provider accepts (Mistral requires exactly it). */
export function newToolCallId(): string {
	return Array.from({ length: 9 }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join('');
}

/** `id` in Mistral's form (9 letters and digits), the same for the same id. */
function mistralId(id: string): string {
	if (/^[A-Za-z0-9]{9}$/.test(id)) return id;
	const digest = createHash('sha256').update(id).digest();
	return Array.from({ length: 9 }, (_, i) => ALPHANUMERIC[digest[i] % ALPHANUMERIC.length]).join(
		'',
	);
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

type Endpoint = 'chat' | 'embeddings' | 'models' | 'rerank' | 'other';

function endpointOf(path: string): Endpoint {
	if (/\/chat\/completions$/.test(path)) return 'chat';
	if (/\/embeddings$/.test(path)) return 'embeddings';
	if (/\/models$/.test(path)) return 'models';
	if (/\/rerank$/.test(path)) return 'rerank';
	return 'other';
}

/** Parameters that may be left out when a provider refuses them: none changes what the answer means. */
const DROPPABLE = new Set([
	'response_format',
	'stream_options',
	'parallel_tool_calls',
	'tool_choice',
	'max_completion_tokens',
	'store',
	'reasoning_effort',
	'service_tier',
	'seed',
	'user',
	'logprobs',
	'top_logprobs',
	'frequency_penalty',
	'presence_penalty',
	'prompt_cache_key',
	'verbosity',
	'temperature',
	'top_p',
	'encoding_format',
]);

/** The parameters of `body` an error answer names as refused (its `param`, a `loc`, or the text). */
function refusedParamsOf(text: string, body: Json): string[] {
	const lower = text.toLowerCase();
	let param: string | undefined;
	try {
		const json = JSON.parse(text);
		const error = (Array.isArray(json) ? json[0] : json)?.error;
		param = typeof error?.param === 'string' ? error.param.split('.')[0] : undefined;
	} catch {
		// not JSON: the text alone
	}
	return Object.keys(body ?? {}).filter(
		(key) =>
			DROPPABLE.has(key) &&
			(key === param ||
				lower.includes(key) ||
				(key === 'response_format' && /json_schema|json schema|structured output/.test(lower))),
	);
}

/** Tool-call ids the conversation already holds (assistant calls and tool results). */
function idsInConversation(body: Json): Set<string> {
	const ids = new Set<string>();
	for (const message of Array.isArray(body?.messages) ? body.messages : []) {
		for (const call of Array.isArray(message?.tool_calls) ? message.tool_calls : [])
			if (typeof call?.id === 'string' && call.id) ids.add(call.id);
		if (typeof message?.tool_call_id === 'string' && message.tool_call_id)
			ids.add(message.tool_call_id);
	}
	return ids;
}

/** A JSON Schema without its `$schema` keyword (some providers refuse keywords they do not know). */
function withoutMetaSchema(schema: unknown): unknown {
	if (!schema || typeof schema !== 'object') return schema;
	const { $schema: _meta, ...rest } = schema as Record<string, unknown>;
	return rest;
}

/** The chat request as this provider takes it. */
function adaptChatRequest(body: Json, info: ProviderInfo, skip: Set<string>): Json {
	const out = { ...body };
	const hint = structuredHint.getStore();
	if (
		hint &&
		info.structuredOutput !== 'prompt' &&
		out.response_format === undefined &&
		!out.tools?.length
	) {
		out.response_format =
			info.structuredOutput === 'json_schema'
				? {
						type: 'json_schema',
						json_schema: {
							name: 'structured_output',
							schema: withoutMetaSchema(hint.schema),
							strict: false,
						},
					}
				: { type: 'json_object' };
	}
	if (info.id === 'deepseek' && Array.isArray(out.messages)) {
		out.messages = out.messages.map((message: Json) => {
			if (message?.role !== 'assistant' || !message.tool_calls?.length || message.reasoning_content)
				return message;
			const reasoning = reasoningOfToolCall.get(message.tool_calls[0]?.id);
			return reasoning ? { ...message, reasoning_content: reasoning } : message;
		});
	}
	if (info.id === 'mistral' && Array.isArray(out.messages)) {
		out.messages = out.messages.map((message: Json) => ({
			...message,
			...(message?.tool_calls
				? {
						tool_calls: message.tool_calls.map((call: Json) => ({
							...call,
							id: mistralId(String(call.id ?? '')),
						})),
					}
				: {}),
			...(typeof message?.tool_call_id === 'string'
				? { tool_call_id: mistralId(message.tool_call_id) }
				: {}),
		}));
	}
	for (const key of skip) delete out[key];
	return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Responses: errors

function errorObject(json: Json): Json {
	const j = Array.isArray(json) ? json[0] : json;
	let error: Json;
	if (j?.error && typeof j.error === 'object') error = { ...j.error };
	else if (typeof j?.error === 'string') error = { message: j.error };
	else if (Array.isArray(j?.detail))
		error = {
			message: j.detail
				.map((d: Json) => `${(d?.loc ?? []).join('.')}: ${d?.msg ?? JSON.stringify(d)}`)
				.join('; '),
			type: 'invalid_request_error',
		};
	else if (j && typeof j === 'object' && 'message' in j)
		error = { message: j.message, type: j.type, code: j.code, param: j.param };
	else error = { message: typeof j === 'string' ? j : JSON.stringify(j) };
	if (typeof error.message !== 'string') {
		const detail = error.message?.detail;
		error.message = Array.isArray(detail)
			? detail.map((d: Json) => `${(d?.loc ?? []).join('.')}: ${d?.msg}`).join('; ')
			: JSON.stringify(error.message);
	}
	const metadata = error.metadata;
	if (metadata?.provider_name) {
		const raw =
			metadata.raw === undefined
				? ''
				: `: ${(typeof metadata.raw === 'string' ? metadata.raw : JSON.stringify(metadata.raw)).slice(0, 300)}`;
		error.message = `${error.message} (provider ${metadata.provider_name}${raw})`;
	}
	return error;
}

/** The HTTP status an error sent with HTTP 200 stands for. */
function statusOfError(error: Json): number {
	const code = Number(error?.code);
	if (Number.isInteger(code) && code >= 400 && code < 600) return code;
	const kind = `${error?.type ?? ''} ${error?.code ?? ''} ${error?.status ?? ''}`.toLowerCase();
	if (/rate|quota|exhausted/.test(kind)) return 429;
	if (/unexpected endpoint/i.test(String(error?.message))) return 404;
	if (/invalid|bad_request/.test(kind)) return 400;
	return /server|overload|unavailable/.test(kind) ? 503 : 502;
}

function jsonResponse(payload: unknown, status: number, from: Response): Response {
	const headers = new Headers(from.headers);
	headers.delete('content-length');
	headers.delete('content-encoding');
	headers.set('content-type', 'application/json');
	return new Response(JSON.stringify(payload), { status, statusText: from.statusText, headers });
}

// ---------------------------------------------------------------------------------------------------------------
// Responses: chat messages

interface ToolCallState {
	/** Ids already in the conversation: a reply reusing one gets a new id. */
	used: Set<string>;
	/** Stream: the call of each index, with the id we gave it. */
	byIndex: Map<number, string>;
	/** Stream: the index of each id the provider sent (for deltas without an index). */
	indexOfId: Map<string, number>;
	next: number;
	last: number;
}

const toolCallState = (used: Set<string>): ToolCallState => ({
	used,
	byIndex: new Map(),
	indexOfId: new Map(),
	next: 0,
	last: 0,
});

/** `call.function.arguments` as a JSON string (objects from some providers, '' for a call without arguments). */
function jsonArguments(call: Json): Json {
	const args = call?.function?.arguments;
	if (args === undefined || typeof args === 'string') return call;
	return { ...call, function: { ...call.function, arguments: JSON.stringify(args ?? {}) } };
}

/** A whole tool call (non-streamed): id present and unique, arguments a JSON string. */
function fixToolCall(call: Json, state: ToolCallState): Json {
	let id = typeof call?.id === 'string' ? call.id : '';
	if (!id || state.used.has(id)) id = newToolCallId();
	state.used.add(id);
	const fixed = jsonArguments({ ...call, id, type: call?.type ?? 'function' });
	if (fixed.function?.arguments === '') fixed.function.arguments = '{}';
	return fixed;
}

/** A streamed tool-call delta: an index (by id, name or position), our id on its first fragment, none after. */
function fixToolCallDelta(delta: Json, state: ToolCallState): Json {
	let index: number = delta?.index;
	const providerId = typeof delta?.id === 'string' && delta.id ? delta.id : undefined;
	if (typeof index !== 'number') {
		if (providerId && state.indexOfId.has(providerId)) index = state.indexOfId.get(providerId)!;
		else if (delta?.function?.name || providerId) index = state.next;
		else index = state.last;
	}
	state.next = Math.max(state.next, index + 1);
	state.last = index;
	const known = state.byIndex.get(index);
	if (known === undefined) {
		let id = providerId ?? '';
		if (!id || state.used.has(id)) id = newToolCallId();
		state.used.add(id);
		state.byIndex.set(index, id);
		if (providerId) state.indexOfId.set(providerId, index);
		return jsonArguments({ ...delta, index, id, type: delta?.type ?? 'function' });
	}
	const { id: _dropped, ...rest } = delta;
	return jsonArguments({ ...rest, index });
}

/** Mistral's typed content parts as text and thinking. */
function partsOf(parts: Json[]): { text: string; thinking: string } {
	let text = '';
	let thinking = '';
	for (const part of parts) {
		if (part?.type === 'text' && typeof part.text === 'string') text += part.text;
		else if (part?.type === 'thinking') {
			const inner = part.thinking;
			thinking += Array.isArray(inner)
				? inner.map((p: Json) => (typeof p?.text === 'string' ? p.text : '')).join('')
				: typeof inner === 'string'
					? inner
					: '';
		}
	}
	return { text, thinking };
}

const addReasoning = (target: Json, reasoning: string) => {
	if (reasoning) target.reasoning_content = `${target.reasoning_content ?? ''}${reasoning}`;
};

/**
 * Reasoning given as a `reasoning` field (Ollama, vLLM, OpenRouter) or as thinking parts of `content` (Mistral) moved
 * to `reasoning_content`, where LangChain reads it; `content` left as its text. Changes `target` (a message or delta).
 */
function moveReasoningFields(target: Json): void {
	if (typeof target.reasoning === 'string') {
		if (!target.reasoning_content) target.reasoning_content = target.reasoning;
		delete target.reasoning;
	}
	if (Array.isArray(target.content)) {
		const { text, thinking } = partsOf(target.content);
		target.content = text;
		addReasoning(target, thinking);
	}
}

/** A non-streamed assistant message in OpenAI's dialect. */
function normalizeMessage(message: Json, state: ToolCallState): Json {
	const out = { ...message };
	moveReasoningFields(out);
	if (typeof out.content === 'string') {
		const { text, reasoning } = splitReasoning(out.content);
		out.content = text;
		addReasoning(out, reasoning);
	}
	if (Array.isArray(out.tool_calls)) {
		out.tool_calls = out.tool_calls.map((call: Json) => fixToolCall(call, state));
		if (!out.tool_calls.length) delete out.tool_calls;
	}
	return out;
}

/** Usage where the OpenAI SDK and LangChain read it: `usage`, with `prompt_tokens_details.cached_tokens`. */
function normalizeUsage(data: Json): void {
	if (!data.usage && data.x_groq?.usage) data.usage = data.x_groq.usage;
	const usage = data.usage;
	if (!usage || typeof usage !== 'object') return;
	if (
		typeof usage.prompt_cache_hit_tokens === 'number' &&
		usage.prompt_tokens_details?.cached_tokens == null
	)
		usage.prompt_tokens_details = {
			...(usage.prompt_tokens_details ?? {}),
			cached_tokens: usage.prompt_cache_hit_tokens,
		};
}

function normalizeCompletion(data: Json, info: ProviderInfo, used: Set<string>): Json {
	normalizeUsage(data);
	if (!Array.isArray(data.choices)) return data;
	data.choices = data.choices.map((choice: Json) => {
		const message = normalizeMessage(choice?.message ?? { role: 'assistant' }, toolCallState(used));
		if (info.id === 'deepseek' && message.tool_calls?.length)
			keepReasoning(
				message.tool_calls.map((c: Json) => c.id),
				message.reasoning_content ?? '',
			);
		return { ...choice, message };
	});
	return data;
}

// ---------------------------------------------------------------------------------------------------------------
// Responses: streams

interface ChoiceState {
	splitter: ReasoningSplitter;
	reasoningSeen: number;
	reasoning: string;
	tools: ToolCallState;
}

/** The transform of one chat completion stream: each event's JSON normalised, an error event ended as an error. */
function chatStreamTransform(info: ProviderInfo, used: Set<string>) {
	const choices = new Map<number, ChoiceState>();
	const stateOf = (index: number): ChoiceState => {
		let state = choices.get(index);
		if (!state) {
			state = {
				splitter: new ReasoningSplitter(),
				reasoningSeen: 0,
				reasoning: '',
				tools: toolCallState(used),
			};
			choices.set(index, state);
		}
		return state;
	};
	return (data: Json): Json => {
		if (data?.error) {
			const error = errorObject(data);
			throw new ProviderStreamError(
				`The provider reported an error mid-stream: ${error.message}`,
				statusOfError(error),
				error,
			);
		}
		normalizeUsage(data);
		if (!Array.isArray(data?.choices)) return data;
		for (const choice of data.choices) {
			const state = stateOf(typeof choice?.index === 'number' ? choice.index : 0);
			const delta = choice?.delta;
			if (delta && typeof delta === 'object') {
				moveReasoningFields(delta);
				if (typeof delta.content === 'string' && delta.content) {
					delta.content = state.splitter.push(delta.content);
					addReasoning(delta, state.splitter.reasoning.slice(state.reasoningSeen));
					state.reasoningSeen = state.splitter.reasoning.length;
				}
				if (Array.isArray(delta.tool_calls))
					delta.tool_calls = delta.tool_calls.map((call: Json) =>
						fixToolCallDelta(call, state.tools),
					);
				if (typeof delta.reasoning_content === 'string') state.reasoning += delta.reasoning_content;
			}
			if (choice?.finish_reason) {
				const rest = state.splitter.end();
				if (rest)
					choice.delta = {
						...(choice.delta ?? {}),
						content: `${choice.delta?.content ?? ''}${rest}`,
					};
				if (info.id === 'deepseek' && state.tools.byIndex.size)
					keepReasoning([...state.tools.byIndex.values()], state.reasoning);
			}
		}
		return data;
	};
}

/** `body` (server-sent events) with each `data:` JSON passed through `transform`; comments and [DONE] as they are. */
function transformEvents(
	body: ReadableStream<Uint8Array>,
	transform: (data: Json) => Json,
): ReadableStream<Uint8Array> {
	const decoder = new TextDecoder();
	const encoder = new TextEncoder();
	let buffer = '';
	const convert = (event: string): string => {
		const lines = event.split(/\r?\n/);
		const data = lines
			.filter((l) => l.startsWith('data:'))
			.map((l) => l.slice(5).replace(/^ /, ''));
		if (!data.length) return `${event}\n\n`;
		const payload = data.join('\n');
		if (payload.trim() === '[DONE]') return `${event}\n\n`;
		let json: Json;
		try {
			json = JSON.parse(payload);
		} catch {
			return `${event}\n\n`;
		}
		const others = lines.filter((l) => !l.startsWith('data:'));
		return `${[...others, `data: ${JSON.stringify(transform(json))}`].join('\n')}\n\n`;
	};
	return body.pipeThrough(
		new TransformStream<Uint8Array, Uint8Array>({
			transform(chunk, controller) {
				buffer += decoder.decode(chunk, { stream: true });
				const events = buffer.split(/\r?\n\r?\n/);
				buffer = events.pop() ?? '';
				const out = events.map(convert).join('');
				if (out) controller.enqueue(encoder.encode(out));
			},
			flush(controller) {
				buffer += decoder.decode();
				if (buffer.trim()) controller.enqueue(encoder.encode(convert(buffer)));
			},
		}),
	);
}

// ---------------------------------------------------------------------------------------------------------------
// Sending: adapting the request to the provider, and the response back

interface SentRequest {
	url: URL;
	init: RequestInit;
	endpoint: Endpoint;
	/** The JSON body as the client made it (before adaptation); undefined for GET or non-JSON bodies. */
	body: Json;
}

/**
 * A fetch for the clients of `config`'s provider (see the file comment). `base` does the requests (default: a fetch
 * that also aborts with the current attempt).
 */
export function providerFetch(config: LlmConfig, base: Fetch = signalAwareFetch()): Fetch {
	const info = resolveProvider(config);
	/** The request as the provider takes it now (the parameters it refused so far left out). */
	const send = (request: SentRequest) => {
		const body = adaptedBody(request, info, config);
		return base(request.url.href, {
			...request.init,
			...(body !== undefined ? { body: JSON.stringify(body) } : {}),
		});
	};
	return async (input, init = {}) => {
		const request = await prepare(config, info, input, init);
		let response = await send(request);
		if (
			(response.status === 400 || response.status === 422) &&
			request.body &&
			(request.endpoint === 'chat' || request.endpoint === 'embeddings')
		) {
			const text = await response.text();
			const params = refusedParamsOf(text, adaptedBody(request, info, config));
			if (params.length) {
				// Refused: remembered for this provider, base URL and model, and the request sent once more without.
				const key = refusedKey(info, config.baseUrl, request.body.model);
				const set = refused.get(key) ?? new Set<string>();
				params.forEach((p) => set.add(p));
				refused.set(key, set);
				response = await send(request);
			} else {
				response = new Response(text, {
					status: response.status,
					statusText: response.statusText,
					headers: response.headers,
				});
			}
		}
		return normalize(response, request, info);
	};
}

function adaptedBody(request: SentRequest, info: ProviderInfo, config: LlmConfig): Json {
	if (request.body === undefined) return undefined;
	const skip = refused.get(refusedKey(info, config.baseUrl, request.body.model)) ?? new Set();
	if (request.endpoint === 'chat') return adaptChatRequest(request.body, info, skip);
	const out = { ...request.body };
	for (const key of skip) delete out[key];
	return out;
}

async function prepare(
	config: LlmConfig,
	info: ProviderInfo,
	input: string | URL | Request,
	init: RequestInit,
): Promise<SentRequest> {
	const original = input instanceof Request ? input : undefined;
	const url = new URL(original ? original.url : String(input));
	const headers = new Headers(init.headers ?? original?.headers);
	let bodyText: string | undefined;
	if (typeof init.body === 'string') bodyText = init.body;
	else if (original && !['GET', 'HEAD'].includes(original.method)) bodyText = await original.text();
	let body: Json;
	try {
		body = bodyText ? JSON.parse(bodyText) : undefined;
	} catch {
		body = undefined;
	}
	if (info.auth === 'api-key') {
		const auth = headers.get('authorization');
		if (auth?.startsWith('Bearer ')) {
			headers.delete('authorization');
			headers.set('api-key', auth.slice('Bearer '.length));
		}
	}
	if (config.apiVersion && !url.searchParams.has('api-version'))
		url.searchParams.set('api-version', config.apiVersion);
	const endpoint = endpointOf(url.pathname);
	if (info.id === 'azure' && typeof body?.model === 'string') {
		// The /openai root (not /openai/v1): the deployment goes in the path, as Azure's classic API wants it.
		url.pathname = url.pathname.replace(
			/\/openai\/(chat\/completions|embeddings|completions)$/,
			`/openai/deployments/${encodeURIComponent(body.model)}/$1`,
		);
	}
	return {
		url,
		endpoint,
		body,
		init: {
			...init,
			method: init.method ?? original?.method,
			headers,
			...(bodyText !== undefined && body === undefined ? { body: bodyText } : {}),
			...(original && !init.signal ? { signal: original.signal } : {}),
		},
	};
}

async function normalize(
	response: Response,
	request: SentRequest,
	info: ProviderInfo,
): Promise<Response> {
	const type = response.headers.get('content-type') ?? '';
	if (response.ok && type.includes('text/event-stream') && response.body) {
		if (request.endpoint !== 'chat') return response;
		const headers = new Headers(response.headers);
		headers.delete('content-length');
		return new Response(
			transformEvents(response.body, chatStreamTransform(info, idsInConversation(request.body))),
			{ status: response.status, statusText: response.statusText, headers },
		);
	}
	if (request.endpoint === 'other' && response.ok) return response;
	const text = await response.text();
	let json: Json;
	try {
		json = text.trim() ? JSON.parse(text) : undefined;
	} catch {
		json = undefined;
	}
	if (!response.ok) {
		const error =
			json === undefined ? { message: text.trim() || response.statusText } : errorObject(json);
		return jsonResponse({ error }, response.status, response);
	}
	if (json === undefined) return new Response(text, response);
	const payload = Array.isArray(json) ? json[0] : json;
	const failedChoice = Array.isArray(payload?.choices)
		? payload.choices.some((c: Json) => c?.finish_reason === 'error')
		: true;
	if (payload?.error && !payload.data && !payload.results && failedChoice) {
		const error = errorObject(payload);
		return jsonResponse({ error }, statusOfError(error), response);
	}
	if (request.endpoint === 'chat')
		return jsonResponse(
			normalizeCompletion(payload, info, idsInConversation(request.body)),
			response.status,
			response,
		);
	if (request.endpoint === 'embeddings' && request.body?.encoding_format === 'base64') {
		for (const item of Array.isArray(payload?.data) ? payload.data : [])
			if (Array.isArray(item?.embedding)) item.embedding = encodeVector(item.embedding);
		return jsonResponse(payload, response.status, response);
	}
	return jsonResponse(payload, response.status, response);
}
