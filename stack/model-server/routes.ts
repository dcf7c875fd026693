/**
 * HTTP routing for the offline model server: every request is parsed, logged, checked (API key, path, method, JSON
 * body, request limit), meets its scripted fault if any, then goes to its endpoint's handler (handlers.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import {
	applyFault,
	type Fault,
	type FaultSchedule,
	type ProviderLimit,
	type RateLimiter,
	type StreamErrorFault,
} from './faults';
import { handleChat, handleEmbeddings, handleModels, handleRerank, sendRefusal } from './handlers';
import type { WireFormat } from './openai-format';
import type { ProfileMemory, ProviderProfile, Refusal, Route } from './profiles/types';
import type { ChatReplies } from './replies';
import { sleep } from './streaming';
import type { ChatRequest } from './types';

export type { Route } from './profiles/types';

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
	/** The query string as sent ('' when none), e.g. Azure's api-version. */
	query: string;
	/** The model the path names (an Azure deployment), when it names one. */
	pathModel?: string;
	/** How long the request waited for the provider's capacity (queued or kept alive, no 429), ms. */
	waitedMs?: number;
	/** With the server's `logResponses`: the JSON answer, or each `data:` event of a stream, as sent. */
	response?: unknown;
	events?: unknown[];
	/** The answer's headers (of a refusal or a 429), lower-case names. */
	headers?: Record<string, string>;
}

/** The request log: entries in arrival order, numbered from 1 for the server's lifetime (clearing keeps counting). */
export class RequestLog {
	readonly entries: RequestLogEntry[] = [];

	private seq = 0;

	/** `keep`: how many of the latest requests stay in `entries` (all by default). */
	constructor(private readonly keep = Infinity) {}

	add(fields: Omit<RequestLogEntry, 'seq'>): RequestLogEntry {
		const entry = { seq: ++this.seq, ...fields };
		this.entries.push(entry);
		if (this.entries.length > this.keep) this.entries.shift();
		return entry;
	}

	clear(): void {
		this.entries.length = 0;
	}
}

/** The server's tunables, read on every request (tests change them between requests). Latencies in ms. */
interface ServerSettings {
	readonly latencyMs: number;
	readonly embeddingLatencyMs: number;
	readonly streamIntervalMs: number;
	readonly rateLimit?: ProviderLimit;
	readonly chatModel: string;
	readonly embeddingModel: string;
	/** The model's context window in tokens (≈ 4 characters each); longer prompts meet the profile's answer. */
	readonly contextWindow?: number;
}

/** Everything routing and the handlers use of the server. */
export interface RouteContext {
	readonly settings: ServerSettings;
	/** When set, requests must carry it as the profile's provider takes a key (`Authorization: Bearer <apiKey>`). */
	readonly apiKey?: string;
	readonly embeddingDimensions?: number;
	readonly log: RequestLog;
	readonly faults: FaultSchedule;
	readonly limiter: RateLimiter;
	readonly replies: ChatReplies;
	readonly format: WireFormat;
	/** The provider the server answers as. */
	readonly profile: ProviderProfile;
	/** What that provider remembers between requests. */
	readonly memory: ProfileMemory;
	/** Keep each answer in its log entry (response / events). */
	readonly logResponses?: boolean;
}

/** Sends a JSON response and records its status in the request's log entry. */
export type Send = (status: number, payload: unknown, headers?: Record<string, string>) => void;

interface ParsedRequest {
	path: string;
	query: string;
	route: Route | 'unknown';
	/** The model the path names (an Azure deployment). */
	pathModel?: string;
	/** The profile's refusal of the path itself (e.g. Azure without api-version). */
	pathRefusal?: Refusal;
	/** The body as sent ('' when none). */
	raw: string;
	/** The body parsed as JSON; undefined when empty or not JSON. */
	body: unknown;
}

/** Answers one request; an error while answering becomes a 500 when nothing was sent yet. */
export async function handleRequest(
	context: RouteContext,
	req: IncomingMessage,
	res: ServerResponse,
): Promise<void> {
	const parsed = await parseRequest(req, context.profile);
	const entry = logRequest(context.log, req, res, parsed);
	const send: Send = (status, payload, headers = {}) => {
		entry.status = status;
		if (context.logResponses) entry.response = payload;
		res.writeHead(status, { 'content-type': 'application/json', ...headers });
		res.end(JSON.stringify(payload));
	};
	try {
		const refusal = await refuse(context, req, parsed, entry);
		if (refusal) {
			if (context.logResponses) entry.response = refusal.body;
			return sendRefusal(res, entry, refusal);
		}
		const route = parsed.route as Route; // refuse() answered unknown paths
		const fault = context.faults.take(route);
		let streamError: StreamErrorFault | undefined;
		if (fault) {
			entry.fault = fault.type;
			if (fault.type === 'delay') await sleep(fault.ms);
			else if (fault.type === 'streamError') streamError = fault;
			else {
				const { format, settings } = context;
				return applyFault(fault, entry, req, res, { format, chatModel: settings.chatModel });
			}
		}
		await dispatch(context, route, parsed.body, entry, res, send, streamError);
	} catch (error) {
		if (!res.headersSent) {
			const message = `Offline model server error: ${(error as Error).message}`;
			send(500, context.format.error(message, 'server_error', null, null, 500));
		}
	}
}

async function parseRequest(
	req: IncomingMessage,
	profile: ProviderProfile,
): Promise<ParsedRequest> {
	const [path, query = ''] = (req.url ?? '/').split('?');
	const resolved = profile.resolve(path, new URLSearchParams(query));
	const raw = await readBody(req);
	let body: unknown;
	try {
		body = raw ? JSON.parse(raw) : undefined;
	} catch {
		body = undefined;
	}
	if ('status' in resolved)
		return { path, query, route: 'unknown', pathRefusal: resolved, raw, body };
	return { path, query, route: resolved.route, pathModel: resolved.model, raw, body };
}

function readBody(req: IncomingMessage): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		req.on('error', reject);
	});
}

/** Adds the request to the log; its entry is marked abandoned if the client goes before the answer is complete. */
function logRequest(
	log: RequestLog,
	req: IncomingMessage,
	res: ServerResponse,
	{ path, query, route, body, pathModel }: ParsedRequest,
): RequestLogEntry {
	const entry = log.add({
		route,
		method: req.method ?? 'GET',
		path: path.replace(/^\/v1(?=\/)/, ''),
		query,
		...(pathModel ? { pathModel } : {}),
		receivedAt: Date.now(),
		body,
		status: 200,
		stream: route === 'chat' && (body as ChatRequest | undefined)?.stream === true,
	});
	res.on('close', () => {
		if (!res.writableFinished) entry.abandoned = true;
	});
	return entry;
}

/**
 * The answer to a request that fails a check, in this order: API key (401, as the profile takes keys), path (the
 * profile's 404 or path refusal), method (405, only GET /models is not a POST), JSON body (400), a rerank the provider
 * does not serve (its 404), what the provider refuses of the body (its 400 / 422), request limit (the provider's 429 — or, for providers that queue or hold requests, a wait
 * here, then the answer; not for /models); undefined when it passes.
 */
async function refuse(
	{ apiKey, format, limiter, settings, profile, memory }: RouteContext,
	req: IncomingMessage,
	{ path, route, raw, body, pathRefusal }: ParsedRequest,
	entry: RequestLogEntry,
): Promise<Refusal | undefined> {
	if (apiKey !== undefined && !profile.authorized(req.headers, apiKey))
		return profile.unauthorized();
	if (pathRefusal) return pathRefusal;
	const method = req.method ?? 'GET';
	if (route === 'unknown' || (route === 'rerank' && !profile.rerank))
		return profile.notFound(method, path);
	if (route !== 'models' && method !== 'POST')
		return {
			status: 405,
			body: format.error('Use POST', 'invalid_request_error', null, null, 405),
		};
	if (raw && body === undefined)
		return {
			status: 400,
			body: format.error(
				'Request body is not valid JSON.',
				'invalid_request_error',
				null,
				null,
				400,
			),
		};
	// What the provider refuses of the request itself (unsupported parameters, id formats, too many inputs).
	const refused =
		route === 'chat' && Array.isArray((body as ChatRequest | undefined)?.messages)
			? profile.refuseChat(body as ChatRequest, memory)
			: route === 'embeddings'
				? profile.refuseEmbeddings((body ?? {}) as Record<string, unknown>)
				: undefined;
	if (refused) return refused;
	const limit = settings.rateLimit;
	if (route === 'models' || !limit) return undefined;
	const key = String(req.headers.authorization ?? req.headers['api-key'] ?? '');
	const behaviour = profile.rateLimit;
	const waitMs = limiter.take(limit, key, behaviour.kind !== 'refuse');
	if (waitMs === undefined) return undefined;
	if (behaviour.kind !== 'refuse') {
		entry.waitedMs = waitMs;
		// Queued: wait here. Kept alive (DeepSeek): the handler holds the connection open, sending keep-alives.
		if (behaviour.kind === 'queue') await sleep(waitMs);
		return undefined;
	}
	entry.rateLimited = true;
	return {
		status: 429,
		body: behaviour.body(waitMs, limit),
		headers: behaviour.headers(waitMs, limit),
	};
}

/** Hands a request that passed the checks to its endpoint's handler. */
async function dispatch(
	context: RouteContext,
	route: Route,
	body: unknown,
	entry: RequestLogEntry,
	res: ServerResponse,
	send: Send,
	streamError?: StreamErrorFault,
): Promise<void> {
	switch (route) {
		case 'models':
			return handleModels(context, send);
		case 'rerank':
			return handleRerank(context, body as Record<string, unknown>, send);
		case 'embeddings':
			return handleEmbeddings(context, body as Record<string, unknown>, entry, send);
		case 'chat':
			return handleChat(context, body, entry, res, send, streamError);
	}
}
