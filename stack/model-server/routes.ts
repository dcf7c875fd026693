/**
 * HTTP routing for the offline model server: every request is parsed, logged, checked (API key, path, method, JSON
 * body, request limit), meets its scripted fault if any, then goes to its endpoint's handler (handlers.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import {
	applyFault,
	rateLimitError,
	type Fault,
	type FaultSchedule,
	type ProviderLimit,
	type RateLimiter,
} from './faults';
import { handleChat, handleEmbeddings, handleModels, handleRerank } from './handlers';
import type { WireFormat } from './openai-format';
import type { ChatReplies } from './replies';
import { sleep } from './streaming';
import type { ChatRequest } from './types';

export type Route = 'chat' | 'embeddings' | 'models' | 'rerank';

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

/** The request log: entries in arrival order, numbered from 1 for the server's lifetime (clearing keeps counting). */
export class RequestLog {
	readonly entries: RequestLogEntry[] = [];

	private seq = 0;

	add(fields: Omit<RequestLogEntry, 'seq'>): RequestLogEntry {
		const entry = { seq: ++this.seq, ...fields };
		this.entries.push(entry);
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
}

/** Everything routing and the handlers use of the server. */
export interface RouteContext {
	readonly settings: ServerSettings;
	/** When set, requests must send `Authorization: Bearer <apiKey>`. */
	readonly apiKey?: string;
	readonly embeddingDimensions?: number;
	readonly log: RequestLog;
	readonly faults: FaultSchedule;
	readonly limiter: RateLimiter;
	readonly replies: ChatReplies;
	readonly format: WireFormat;
}

/** Sends a JSON response and records its status in the request's log entry. */
export type Send = (status: number, payload: unknown, headers?: Record<string, string>) => void;

interface ParsedRequest {
	path: string;
	route: Route | 'unknown';
	/** The body as sent ('' when none). */
	raw: string;
	/** The body parsed as JSON; undefined when empty or not JSON. */
	body: unknown;
}

const ROUTES: Record<string, Route> = {
	'/chat/completions': 'chat',
	'/embeddings': 'embeddings',
	'/models': 'models',
	'/rerank': 'rerank',
};

/** Answers one request; an error while answering becomes a 500 when nothing was sent yet. */
export async function handleRequest(
	context: RouteContext,
	req: IncomingMessage,
	res: ServerResponse,
): Promise<void> {
	const parsed = await parseRequest(req);
	const entry = logRequest(context.log, req, res, parsed);
	const send: Send = (status, payload, headers = {}) => {
		entry.status = status;
		res.writeHead(status, { 'content-type': 'application/json', ...headers });
		res.end(JSON.stringify(payload));
	};
	try {
		const refusal = refuse(context, req, parsed, entry);
		if (refusal) return send(...refusal);
		const route = parsed.route as Route; // refuse() answered unknown paths
		const fault = context.faults.take(route);
		if (fault) {
			entry.fault = fault.type;
			if (fault.type === 'delay') await sleep(fault.ms);
			else {
				const { format, settings } = context;
				return applyFault(fault, entry, req, res, { format, chatModel: settings.chatModel });
			}
		}
		await dispatch(context, route, parsed.body, entry, res, send);
	} catch (error) {
		if (!res.headersSent) {
			const message = `Offline model server error: ${(error as Error).message}`;
			send(500, context.format.error(message, 'server_error'));
		}
	}
}

async function parseRequest(req: IncomingMessage): Promise<ParsedRequest> {
	const path = (req.url ?? '/').split('?')[0].replace(/^\/v1(?=\/)/, '');
	const raw = await readBody(req);
	let body: unknown;
	try {
		body = raw ? JSON.parse(raw) : undefined;
	} catch {
		body = undefined;
	}
	return { path, route: Object.hasOwn(ROUTES, path) ? ROUTES[path] : 'unknown', raw, body };
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
	{ path, route, body }: ParsedRequest,
): RequestLogEntry {
	const entry = log.add({
		route,
		method: req.method ?? 'GET',
		path,
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
 * The error response for a request that fails a check, in this order: API key (401), path (404), method (405, only
 * GET /models is not a POST), JSON body (400), request limit (429, not for /models); undefined when it passes.
 */
function refuse(
	{ apiKey, format, limiter, settings }: RouteContext,
	req: IncomingMessage,
	{ path, route, raw, body }: ParsedRequest,
	entry: RequestLogEntry,
): Parameters<Send> | undefined {
	if (apiKey !== undefined && req.headers.authorization !== `Bearer ${apiKey}`) {
		const error = format.error(
			'Incorrect API key provided.',
			'invalid_request_error',
			'invalid_api_key',
		);
		return [401, error];
	}
	if (route === 'unknown')
		return [404, format.error(`Unknown path ${path}`, 'invalid_request_error')];
	if (route !== 'models' && req.method !== 'POST')
		return [405, format.error('Use POST', 'invalid_request_error')];
	if (raw && body === undefined)
		return [400, format.error('Request body is not valid JSON.', 'invalid_request_error')];
	const limit = settings.rateLimit;
	if (route === 'models' || !limit) return undefined;
	const limited = limiter.take(limit, req.headers.authorization ?? '');
	if (!limited) return undefined;
	entry.rateLimited = true;
	return [429, rateLimitError(format, limit, limited), limited];
}

/** Hands a request that passed the checks to its endpoint's handler. */
async function dispatch(
	context: RouteContext,
	route: Route,
	body: unknown,
	entry: RequestLogEntry,
	res: ServerResponse,
	send: Send,
): Promise<void> {
	switch (route) {
		case 'models':
			return handleModels(context, send);
		case 'rerank':
			return handleRerank(context, body as Record<string, unknown>, send);
		case 'embeddings':
			return handleEmbeddings(context, body as Record<string, unknown>, send);
		case 'chat':
			return handleChat(context, body, entry, res, send);
	}
}
