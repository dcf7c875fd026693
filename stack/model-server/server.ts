/**
 * A small OpenAI-compatible HTTP server that stands in for a real LLM in tests and the offline demo.
 * Endpoints (with or without the /v1 prefix): POST /chat/completions (tools, tool_choice, response_format,
 * stream with a final usage chunk), POST /embeddings (float or base64, `dimensions`), GET /models, and POST /rerank
 * (Cohere's request shape, as vLLM, Infinity and Jina serve it).
 *
 * Per test: queue canned replies (`reply`), install a handler (`setHandler`), inject faults (`fail`) and read
 * the request log (`requests`). Without a script it answers as the offline stand-in model (offline-model.ts).
 * The API key, when configured, is checked but never logged or echoed.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { DEFAULT_EMBEDDING_DIMENSIONS, embed, toBase64Float32, words } from './embeddings';
import { offlineModel, textOf } from './offline-model';
import { estimateTokens } from './tokens';
import type { ChatRequest, ModelReply, ReplyHandler, ToolCall } from './types';

export type Route = 'chat' | 'embeddings' | 'models' | 'rerank';

/** An injected failure. `status` answers with that HTTP status (and Retry-After when given, seconds or HTTP date). */
export type Fault =
	| { type: 'status'; status: number; retryAfter?: number | string; message?: string }
	| { type: 'drop' } // socket destroyed without any response
	| { type: 'malformed' } // 200 with a body that is not JSON
	| { type: 'truncate' } // response (or SSE stream) cut off halfway, then the socket is destroyed
	| { type: 'delay'; ms: number }; // wait, then answer normally

export interface RequestLogEntry {
	/** 1-based, in arrival order. */
	seq: number;
	route: Route | 'unknown';
	method: string;
	path: string;
	/** Arrival time, ms since the epoch. */
	receivedAt: number;
	/** Parsed JSON body (undefined for GET or unparseable bodies). */
	body: unknown;
	/** HTTP status sent, or 'dropped' when the connection was cut before a status line. */
	status: number | 'dropped';
	fault?: Fault['type'];
	stream: boolean;
	/** True when the client closed the connection before the answer was complete (e.g. it aborted the request). */
	abandoned?: boolean;
	/** True when the request was refused with 429 by the server's rate limit. */
	rateLimited?: boolean;
}

export interface ModelServerOptions {
	host?: string;
	/** 0 (default) picks a free port. */
	port?: number;
	/** When set, requests must send `Authorization: Bearer <apiKey>`, else 401. */
	apiKey?: string;
	/** Added before every chat completion, ms. */
	latencyMs?: number;
	/** Added before every embeddings response, ms. */
	embeddingLatencyMs?: number;
	/** Between the content events of a streamed answer, ms (a provider's token rate; default 0). */
	streamIntervalMs?: number;
	embeddingDimensions?: number;
	chatModel?: string;
	embeddingModel?: string;
	/** A provider-style request limit per API key (see ProviderLimit); off when absent. */
	rateLimit?: ProviderLimit;
}

/**
 * A token bucket per API key, as providers enforce request limits: `requestsPerMinute` refill continuously, at most
 * `burst` (default: one second's worth) are available at once. Beyond it: 429 with Retry-After, retry-after-ms and
 * OpenAI's x-ratelimit-* headers. Counts chat, embeddings and rerank requests.
 */
export interface ProviderLimit {
	requestsPerMinute: number;
	burst?: number;
}

interface ScheduledFault {
	fault: Fault;
	route: Route | 'any';
	remaining: number;
}

/** Unref'd: a reply still waiting when a test ends (its client gone) does not keep the process alive. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

export class OfflineModelServer {
	readonly requests: RequestLogEntry[] = [];

	latencyMs: number;

	embeddingLatencyMs: number;

	streamIntervalMs: number;

	private server?: Server;

	private replies: Array<ModelReply | ReplyHandler> = [];

	private handler?: ReplyHandler;

	private faults: ScheduledFault[] = [];

	/** The request limit in force (settable between tests); undefined = none. */
	rateLimit?: ProviderLimit;

	private buckets = new Map<string, { tokens: number; at: number }>();

	private seq = 0;

	private callSeq = 0;

	constructor(private readonly options: ModelServerOptions = {}) {
		this.latencyMs = options.latencyMs ?? 0;
		this.embeddingLatencyMs = options.embeddingLatencyMs ?? 0;
		this.streamIntervalMs = options.streamIntervalMs ?? 0;
		this.rateLimit = options.rateLimit;
	}

	get chatModel() {
		return this.options.chatModel ?? 'offline-chat';
	}

	get embeddingModel() {
		return this.options.embeddingModel ?? 'offline-embedding';
	}

	/** e.g. http://127.0.0.1:43123/v1 — the value for a credential's Base URL. */
	get baseUrl(): string {
		if (!this.server) throw new Error('OfflineModelServer is not started');
		const { port } = this.server.address() as AddressInfo;
		return `http://${this.options.host ?? '127.0.0.1'}:${port}/v1`;
	}

	async start(): Promise<string> {
		const server = createServer((req, res) => void this.handle(req, res));
		server.keepAliveTimeout = 1000;
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', resolve);
		});
		this.server = server;
		return this.baseUrl;
	}

	async stop(): Promise<void> {
		const server = this.server;
		this.server = undefined;
		if (!server) return;
		server.closeAllConnections();
		await new Promise<void>((resolve) => server.close(() => resolve()));
	}

	/** Queues replies for the next chat completions, first in first out. */
	reply(...replies: Array<ModelReply | ReplyHandler>): this {
		this.replies.push(...replies);
		return this;
	}

	/** Answers chat completions when no queued reply is left; `undefined` restores the offline model. */
	setHandler(handler?: ReplyHandler): this {
		this.handler = handler;
		return this;
	}

	/** The next `times` requests to `route` meet `fault` instead of (or, for delay, before) the normal answer. */
	fail(
		fault: Fault,
		{ route = 'chat', times = 1 }: { route?: Route | 'any'; times?: number } = {},
	): this {
		this.faults.push({ fault, route, remaining: times });
		return this;
	}

	/** Clears replies, handler, faults, rate-limit buckets and the request log; restores the configured latencies and limit. */
	reset(): void {
		this.replies = [];
		this.handler = undefined;
		this.faults = [];
		this.buckets.clear();
		this.rateLimit = this.options.rateLimit;
		this.requests.length = 0;
		this.latencyMs = this.options.latencyMs ?? 0;
		this.embeddingLatencyMs = this.options.embeddingLatencyMs ?? 0;
		this.streamIntervalMs = this.options.streamIntervalMs ?? 0;
	}

	requestsTo(route: Route): RequestLogEntry[] {
		return this.requests.filter((r) => r.route === route);
	}

	// -------------------------------------------------------------------------------------------------------------

	private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const path = (req.url ?? '/').split('?')[0].replace(/^\/v1(?=\/)/, '');
		const route: RequestLogEntry['route'] =
			path === '/chat/completions'
				? 'chat'
				: path === '/embeddings'
					? 'embeddings'
					: path === '/models'
						? 'models'
						: path === '/rerank'
							? 'rerank'
							: 'unknown';
		const raw = await readBody(req);
		let body: unknown;
		try {
			body = raw ? JSON.parse(raw) : undefined;
		} catch {
			body = undefined;
		}
		const entry: RequestLogEntry = {
			seq: ++this.seq,
			route,
			method: req.method ?? 'GET',
			path,
			receivedAt: Date.now(),
			body,
			status: 200,
			stream: route === 'chat' && (body as ChatRequest | undefined)?.stream === true,
		};
		this.requests.push(entry);
		res.on('close', () => {
			if (!res.writableFinished) entry.abandoned = true;
		});
		const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
			entry.status = status;
			res.writeHead(status, { 'content-type': 'application/json', ...headers });
			res.end(JSON.stringify(payload));
		};

		try {
			if (
				this.options.apiKey !== undefined &&
				req.headers.authorization !== `Bearer ${this.options.apiKey}`
			) {
				return send(
					401,
					openAiError('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'),
				);
			}
			if (route === 'unknown')
				return send(404, openAiError(`Unknown path ${path}`, 'invalid_request_error'));
			if (route !== 'models' && req.method !== 'POST')
				return send(405, openAiError('Use POST', 'invalid_request_error'));
			if (raw && body === undefined)
				return send(400, openAiError('Request body is not valid JSON.', 'invalid_request_error'));

			if (route !== 'models') {
				const limited = this.takeToken(req.headers.authorization ?? '');
				if (limited) {
					entry.rateLimited = true;
					return send(
						429,
						openAiError(
							`Rate limit reached for requests: limit ${this.rateLimit!.requestsPerMinute} per minute. Please try again in ${limited['retry-after-ms']}ms.`,
							'requests',
							'rate_limit_exceeded',
						),
						limited,
					);
				}
			}
			const fault = this.takeFault(route);
			if (fault) {
				entry.fault = fault.type;
				if (fault.type === 'delay') await sleep(fault.ms);
				else return this.applyFault(fault, entry, req, res);
			}

			if (route === 'models') return send(200, this.models());
			if (route === 'rerank') {
				const result = rerank(body as Record<string, unknown>);
				return 'error' in result ? send(400, result) : send(200, result);
			}
			if (route === 'embeddings') {
				if (this.embeddingLatencyMs) await sleep(this.embeddingLatencyMs);
				const result = this.embeddings(body as Record<string, unknown>);
				return 'error' in result ? send(400, result) : send(200, result);
			}
			const request = body as ChatRequest;
			if (!Array.isArray(request?.messages) || request.messages.length === 0) {
				return send(
					400,
					openAiError(
						"'messages' must be a non-empty array.",
						'invalid_request_error',
						null,
						'messages',
					),
				);
			}
			if (this.latencyMs) await sleep(this.latencyMs);
			const reply = await this.nextReply(request);
			if (entry.stream) return await this.stream(request, reply, res, entry);
			return send(200, this.completion(request, reply));
		} catch (error) {
			if (!res.headersSent)
				send(
					500,
					openAiError(`Offline model server error: ${(error as Error).message}`, 'server_error'),
				);
		}
	}

	/** Takes one request from the key's bucket; returns the 429's headers when the bucket is empty. */
	private takeToken(key: string): Record<string, string> | undefined {
		const limit = this.rateLimit;
		if (!limit) return undefined;
		const perMs = limit.requestsPerMinute / 60_000;
		const burst = limit.burst ?? Math.max(1, Math.ceil(limit.requestsPerMinute / 60));
		const now = Date.now();
		const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
		bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * perMs);
		bucket.at = now;
		this.buckets.set(key, bucket);
		if (bucket.tokens >= 1) {
			bucket.tokens -= 1;
			return undefined;
		}
		const waitMs = Math.ceil((1 - bucket.tokens) / perMs);
		return {
			'retry-after': String(Math.ceil(waitMs / 1000)),
			'retry-after-ms': String(waitMs),
			'x-ratelimit-limit-requests': String(limit.requestsPerMinute),
			'x-ratelimit-remaining-requests': '0',
			'x-ratelimit-reset-requests': `${waitMs}ms`,
		};
	}

	private takeFault(route: Route): Fault | undefined {
		const scheduled = this.faults.find(
			(f) => f.remaining > 0 && (f.route === route || f.route === 'any'),
		);
		if (!scheduled) return undefined;
		scheduled.remaining--;
		this.faults = this.faults.filter((f) => f.remaining > 0);
		return scheduled.fault;
	}

	private applyFault(
		fault: Exclude<Fault, { type: 'delay' }>,
		entry: RequestLogEntry,
		req: IncomingMessage,
		res: ServerResponse,
	) {
		switch (fault.type) {
			case 'status': {
				entry.status = fault.status;
				const headers: Record<string, string> = { 'content-type': 'application/json' };
				if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
				res.writeHead(fault.status, headers);
				res.end(
					JSON.stringify(
						openAiError(fault.message ?? `Injected HTTP ${fault.status}`, statusType(fault.status)),
					),
				);
				return;
			}
			case 'drop':
				entry.status = 'dropped';
				req.socket.destroy();
				return;
			case 'malformed':
				entry.status = 200;
				res.writeHead(200, { 'content-type': 'application/json' });
				res.end('{"id": "chatcmpl-malformed", "choices": [ {"index": 0, "message": ');
				return;
			case 'truncate': {
				entry.status = 200;
				if (entry.stream) {
					res.writeHead(200, { 'content-type': 'text/event-stream' });
					res.write(
						`data: ${JSON.stringify(this.chunk(this.chatModel, { role: 'assistant', content: 'Partial ' }))}\n\n`,
					);
				} else {
					const full = JSON.stringify(
						this.completion(
							{ model: this.chatModel, messages: [] },
							{ content: 'truncated reply' },
						),
					);
					res.writeHead(200, {
						'content-type': 'application/json',
						'content-length': String(full.length),
					});
					res.write(full.slice(0, Math.floor(full.length / 2)));
				}
				setTimeout(() => res.socket?.destroy(), 10);
				return;
			}
		}
	}

	private async nextReply(request: ChatRequest): Promise<ModelReply> {
		const queued = this.replies.shift();
		if (queued) return typeof queued === 'function' ? queued(request) : queued;
		if (this.handler) return this.handler(request);
		return offlineModel(request);
	}

	private toolCalls(reply: ModelReply): ToolCall[] | undefined {
		if (!reply.toolCalls?.length) return undefined;
		return reply.toolCalls.map((call) => ({
			id: call.id ?? `call_${++this.callSeq}`,
			type: 'function' as const,
			function: {
				name: call.name,
				arguments:
					typeof call.arguments === 'string'
						? call.arguments
						: JSON.stringify(call.arguments ?? {}),
			},
		}));
	}

	private usage(request: ChatRequest, reply: ModelReply, toolCalls?: ToolCall[]) {
		const promptText = request.messages
			.map((m) => textOf(m.content) + JSON.stringify(m.tool_calls ?? ''))
			.join('\n');
		const toolsText = JSON.stringify(request.tools ?? '');
		const prompt_tokens =
			estimateTokens(promptText) + (request.tools ? estimateTokens(toolsText) : 0);
		const completion_tokens = estimateTokens(
			(reply.content ?? '') + JSON.stringify(toolCalls ?? ''),
		);
		return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
	}

	private completion(request: ChatRequest, reply: ModelReply) {
		const tool_calls = this.toolCalls(reply);
		return {
			id: `chatcmpl-offline-${randomUUID()}`,
			object: 'chat.completion',
			created: Math.floor(Date.now() / 1000),
			model: request.model ?? this.chatModel,
			system_fingerprint: 'openagents-offline-stand-in',
			choices: [
				{
					index: 0,
					message: {
						role: 'assistant',
						content: reply.content ?? null,
						refusal: null,
						...(tool_calls ? { tool_calls } : {}),
					},
					logprobs: null,
					finish_reason: tool_calls ? 'tool_calls' : 'stop',
				},
			],
			usage: this.usage(request, reply, tool_calls),
		};
	}

	private chunk(
		model: string,
		delta: Record<string, unknown>,
		finish: string | null = null,
		id = 'chatcmpl-offline-stream',
	) {
		return {
			id,
			object: 'chat.completion.chunk',
			created: Math.floor(Date.now() / 1000),
			model: model || this.chatModel,
			system_fingerprint: 'openagents-offline-stand-in',
			choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
		};
	}

	/** Server-sent events as OpenAI sends them: role, content pieces, tool-call deltas, finish, usage, [DONE]. */
	private async stream(
		request: ChatRequest,
		reply: ModelReply,
		res: ServerResponse,
		entry: RequestLogEntry,
	) {
		entry.status = 200;
		const id = `chatcmpl-offline-${randomUUID()}`;
		const write = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
		res.writeHead(200, {
			'content-type': 'text/event-stream',
			'cache-control': 'no-cache',
			connection: 'keep-alive',
		});
		write(this.chunk(request.model, { role: 'assistant', content: '' }, null, id));
		for (const [i, piece] of ((reply.content ?? '').match(/\S+\s*|\s+/g) ?? []).entries()) {
			if (i && this.streamIntervalMs) await sleep(this.streamIntervalMs);
			write(this.chunk(request.model, { content: piece }, null, id));
		}
		const toolCalls = this.toolCalls(reply);
		toolCalls?.forEach((call, index) => {
			const half = Math.ceil(call.function.arguments.length / 2);
			write(
				this.chunk(
					request.model,
					{
						tool_calls: [
							{
								index,
								id: call.id,
								type: 'function',
								function: {
									name: call.function.name,
									arguments: call.function.arguments.slice(0, half),
								},
							},
						],
					},
					null,
					id,
				),
			);
			write(
				this.chunk(
					request.model,
					{ tool_calls: [{ index, function: { arguments: call.function.arguments.slice(half) } }] },
					null,
					id,
				),
			);
		});
		write(this.chunk(request.model, {}, toolCalls ? 'tool_calls' : 'stop', id));
		if (request.stream_options?.include_usage) {
			write({
				...this.chunk(request.model, {}, null, id),
				choices: [],
				usage: this.usage(request, reply, toolCalls),
			});
		}
		res.end('data: [DONE]\n\n');
	}

	private embeddings(body: Record<string, unknown>) {
		const input = body?.input;
		const inputs: unknown[] =
			Array.isArray(input) && input.length && typeof input[0] !== 'number' ? input : [input];
		const texts = inputs.map((item) => (Array.isArray(item) ? item.join(' ') : item));
		if (texts.some((t) => typeof t !== 'string' || t.length === 0)) {
			return openAiError(
				"'input' must be a non-empty string or an array of non-empty strings.",
				'invalid_request_error',
				null,
				'input',
			);
		}
		const dimensions =
			typeof body.dimensions === 'number'
				? body.dimensions
				: (this.options.embeddingDimensions ?? DEFAULT_EMBEDDING_DIMENSIONS);
		const base64 = body.encoding_format === 'base64';
		const tokens = (texts as string[]).reduce((sum, t) => sum + estimateTokens(t), 0);
		return {
			object: 'list',
			model: typeof body.model === 'string' ? body.model : this.embeddingModel,
			data: (texts as string[]).map((text, index) => {
				const vector = embed(text, dimensions);
				return { object: 'embedding', index, embedding: base64 ? toBase64Float32(vector) : vector };
			}),
			usage: { prompt_tokens: tokens, total_tokens: tokens },
		};
	}

	private models() {
		const created = 1_700_000_000;
		const model = (id: string) => ({
			id,
			object: 'model',
			created,
			owned_by: 'openagents-offline-stand-in',
		});
		return { object: 'list', data: [model(this.chatModel), model(this.embeddingModel)] };
	}
}

function openAiError(
	message: string,
	type: string,
	code: string | null = null,
	param: string | null = null,
) {
	return { error: { message, type, param, code } };
}

function statusType(status: number): string {
	if (status === 429) return 'rate_limit_exceeded';
	if (status >= 500) return 'server_error';
	return 'invalid_request_error';
}

function readBody(req: IncomingMessage): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		req.on('error', reject);
	});
}

/**
 * The stand-in reranker: a document scores the share of the query's words (letters and digits, lower-cased) it
 * contains, plus a little for matching query words in order; { results: [{ index, relevance_score }] }, best first,
 * top_n of them. Deterministic; not a cross-encoder.
 */
function rerank(body: Record<string, unknown>) {
	const { query, documents, top_n: topN } = body ?? {};
	if (
		typeof query !== 'string' ||
		!Array.isArray(documents) ||
		documents.some((d) => typeof d !== 'string')
	) {
		return openAiError(
			"'query' must be a string and 'documents' an array of strings.",
			'invalid_request_error',
		);
	}
	const asked = [...new Set(words(query))];
	const results = (documents as string[]).map((document, index) => {
		const text = words(document).join(' ');
		const have = new Set(words(document));
		const share = asked.length ? asked.filter((w) => have.has(w)).length / asked.length : 0;
		const pairs = asked.slice(1).filter((w, i) => text.includes(`${asked[i]} ${w}`)).length;
		return { index, relevance_score: share + (0.1 * pairs) / Math.max(1, asked.length - 1) };
	});
	results.sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index);
	return { results: results.slice(0, typeof topN === 'number' ? topN : results.length) };
}
