/**
 * A small OpenAI-compatible HTTP server that stands in for a real LLM in tests and the offline demo.
 * Endpoints (with or without the /v1 prefix): POST /chat/completions (tools, tool_choice, response_format,
 * stream with a final usage chunk), POST /embeddings (float or base64, `dimensions`), GET /models, and POST /rerank
 * (Cohere's request shape, as vLLM, Infinity and Jina serve it).
 *
 * With `profile` it answers as one provider does (profiles/: OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio, Groq,
 * OpenRouter, DeepSeek, Gemini, Mistral): that provider's paths and auth, body shapes, streaming of tool calls,
 * reasoning, usage, errors, rate-limit answer and the requests it refuses. Without, it speaks its own tidy dialect.
 *
 * Per test: queue canned replies (`reply`), install a handler (`setHandler`), inject faults (`fail`) and read
 * the request log (`requests`). Without a script it answers as the offline stand-in model (offline-model.ts).
 * The API key, when configured, is checked but never logged or echoed.
 *
 * This class only holds the state and wires the parts: routing and checks (routes.ts), endpoint handlers
 * (handlers.ts), SSE streaming (streaming.ts), scripted faults and the request limit (faults.ts), reply sources
 * (replies.ts) and the wire format of every response body (openai-format.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { FaultSchedule, RateLimiter, type Fault, type ProviderLimit } from './faults';
import { PROFILES, type ProfileName, type ProviderProfile } from './profiles';
import { ChatReplies } from './replies';
import {
	handleRequest,
	RequestLog,
	type RequestLogEntry,
	type Route,
	type RouteContext,
} from './routes';
import type { ModelReply, ReplyHandler } from './types';

interface ModelServerOptions {
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
	/** The provider whose API to replay (default: the server's own dialect). */
	profile?: ProfileName;
	/** Prompts longer than this many tokens (≈ 4 characters each) meet the provider's context-length answer. */
	contextWindow?: number;
	/** Keep every answer in the request log (`response`, `events`) — for tests that check what the provider sent. */
	logResponses?: boolean;
	/**
	 * How many of the latest requests the request log keeps (default: all, as tests read them). A server that runs for
	 * hours (`npm start`, the soak) sets it, or its memory grows with every request it serves.
	 */
	keptRequests?: number;
}

export class OfflineModelServer {
	private readonly log: RequestLog;

	readonly requests: RequestLogEntry[];

	latencyMs: number;

	embeddingLatencyMs: number;

	streamIntervalMs: number;

	/** The request limit in force (settable between tests); undefined = none. */
	rateLimit?: ProviderLimit;

	/** The context window in tokens (settable between tests); undefined = unlimited. */
	contextWindow?: number;

	/** The provider the server answers as. */
	readonly profile: ProviderProfile;

	private server?: Server;

	private readonly memory = {
		reasoningOfToolCall: new Map<string, string>(),
		seenPrompts: new Set<string>(),
	};

	private readonly replies = new ChatReplies();

	private readonly faults = new FaultSchedule();

	private readonly limiter = new RateLimiter();

	/** What routing reads of this server; `settings` is the server itself, so changed latencies apply at once. */
	private readonly context: RouteContext;

	constructor(private readonly options: ModelServerOptions = {}) {
		this.log = new RequestLog(options.keptRequests);
		this.requests = this.log.entries;
		this.latencyMs = options.latencyMs ?? 0;
		this.embeddingLatencyMs = options.embeddingLatencyMs ?? 0;
		this.streamIntervalMs = options.streamIntervalMs ?? 0;
		this.rateLimit = options.rateLimit;
		this.contextWindow = options.contextWindow;
		this.profile = PROFILES[options.profile ?? 'default'];
		this.context = {
			settings: this,
			apiKey: options.apiKey,
			embeddingDimensions: options.embeddingDimensions,
			log: this.log,
			faults: this.faults,
			limiter: this.limiter,
			replies: this.replies,
			format: this.profile.format,
			profile: this.profile,
			memory: this.memory,
			logResponses: options.logResponses,
		};
	}

	get chatModel() {
		return this.options.chatModel ?? this.profile.models.chat;
	}

	get embeddingModel() {
		return this.options.embeddingModel ?? this.profile.models.embedding;
	}

	/**
	 * e.g. http://127.0.0.1:43123/v1 — the value for a credential's Base URL (under the profile's path, e.g.
	 * /openai/v1 for Groq, /v1beta/openai for Gemini, /openai for Azure's deployment routes).
	 */
	get baseUrl(): string {
		if (!this.server) throw new Error('OfflineModelServer is not started');
		const { port } = this.server.address() as AddressInfo;
		return `http://${this.options.host ?? '127.0.0.1'}:${port}${this.profile.basePath}`;
	}

	async start(): Promise<string> {
		const server = createServer((req, res) => void handleRequest(this.context, req, res));
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
		this.replies.push(replies);
		return this;
	}

	/** Answers chat completions when no queued reply is left; `undefined` restores the offline model. */
	setHandler(handler?: ReplyHandler): this {
		this.replies.setHandler(handler);
		return this;
	}

	/** The next `times` requests to `route` meet `fault` instead of (or, for delay, before) the normal answer. */
	fail(
		fault: Fault,
		{ route = 'chat', times = 1 }: { route?: Route | 'any'; times?: number } = {},
	): this {
		this.faults.add(fault, route, times);
		return this;
	}

	/** Clears replies, handler, faults, rate-limit buckets and the request log; restores the configured latencies and limit. */
	reset(): void {
		this.replies.clear();
		this.faults.clear();
		this.limiter.clear();
		this.rateLimit = this.options.rateLimit;
		this.contextWindow = this.options.contextWindow;
		this.memory.reasoningOfToolCall.clear();
		this.memory.seenPrompts.clear();
		this.log.clear();
		this.latencyMs = this.options.latencyMs ?? 0;
		this.embeddingLatencyMs = this.options.embeddingLatencyMs ?? 0;
		this.streamIntervalMs = this.options.streamIntervalMs ?? 0;
	}

	requestsTo(route: Route): RequestLogEntry[] {
		return this.requests.filter((r) => r.route === route);
	}
}
