/**
 * Fault injection for the offline model server: scripted failures (`fail`) and a provider-style request limit per
 * API key (token buckets), with the responses each produces.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { WireFormat } from './openai-format';
import type { RequestLogEntry, Route } from './routes';
import { sseEvent } from './streaming';

/** An injected failure. `status` answers with that HTTP status (and Retry-After when given, seconds or HTTP date). */
export type Fault =
	| { type: 'status'; status: number; retryAfter?: number | string; message?: string }
	| { type: 'drop' } // socket destroyed without any response
	| { type: 'malformed' } // 200 with a body that is not JSON
	| { type: 'truncate' } // response (or SSE stream) cut off halfway, then the socket is destroyed
	| { type: 'delay'; ms: number } // wait, then answer normally
	// a streamed answer starts (HTTP 200), then the provider's mid-stream error event ends it (chat streams only)
	| { type: 'streamError'; status: number; message?: string };

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

/** The faults scripted with `fail`, each for its next `times` requests to its route. */
export class FaultSchedule {
	private scheduled: ScheduledFault[] = [];

	add(fault: Fault, route: Route | 'any', times: number): void {
		this.scheduled.push({ fault, route, remaining: times });
	}

	/** The fault the next request to `route` meets (counted as used), first scheduled first; undefined when none. */
	take(route: Route): Fault | undefined {
		const scheduled = this.scheduled.find(
			(f) => f.remaining > 0 && (f.route === route || f.route === 'any'),
		);
		if (!scheduled) return undefined;
		scheduled.remaining--;
		this.scheduled = this.scheduled.filter((f) => f.remaining > 0);
		return scheduled.fault;
	}

	clear(): void {
		this.scheduled = [];
	}
}

/** The request limit's token buckets, one per API key (the Authorization header as sent). */
export class RateLimiter {
	private buckets = new Map<string, { tokens: number; at: number }>();

	/**
	 * Takes one request from the key's bucket: undefined when there was room, else the ms until there is. With
	 * `queue` (a provider that makes requests wait instead of refusing them) the request takes its place anyway and
	 * the ms are how long it waits.
	 */
	take(limit: ProviderLimit, key: string, queue = false): number | undefined {
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
		if (queue) bucket.tokens -= 1;
		return waitMs;
	}

	clear(): void {
		this.buckets.clear();
	}
}

/** The 429 body for a request refused by `limit`, which answers again after the headers' retry-after-ms. */
export function rateLimitError(
	format: WireFormat,
	limit: ProviderLimit,
	headers: Record<string, string>,
): unknown {
	return format.error(
		`Rate limit reached for requests: limit ${limit.requestsPerMinute} per minute. Please try again in ${headers['retry-after-ms']}ms.`,
		'requests',
		'rate_limit_exceeded',
	);
}

/** What a fault's response needs to know: the body format and the model name of a truncated chat answer. */
interface FaultContext {
	format: WireFormat;
	chatModel: string;
}

/** What a 'streamError' fault needs: stream the answer, then end it with the provider's error event. */
export type StreamErrorFault = Extract<Fault, { type: 'streamError' }>;

/** Answers (or drops) the request as `fault` prescribes and records the outcome in `entry`. */
export function applyFault(
	fault: Exclude<Fault, { type: 'delay' } | { type: 'streamError' }>,
	entry: RequestLogEntry,
	req: IncomingMessage,
	res: ServerResponse,
	context: FaultContext,
): void {
	switch (fault.type) {
		case 'status': {
			entry.status = fault.status;
			const headers: Record<string, string> = { 'content-type': 'application/json' };
			if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
			res.writeHead(fault.status, headers);
			const message = fault.message ?? `Injected HTTP ${fault.status}`;
			const { format } = context;
			res.end(
				JSON.stringify(
					format.error(message, format.errorType(fault.status), null, null, fault.status),
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
		case 'truncate':
			entry.status = 200;
			truncate(entry.stream, res, context);
	}
}

/** Sends the first half of an answer (or the first event of a stream), then cuts the connection. */
function truncate(stream: boolean, res: ServerResponse, { format, chatModel }: FaultContext): void {
	if (stream) {
		res.writeHead(200, { 'content-type': 'text/event-stream' });
		res.write(sseEvent(format.streamStart('chatcmpl-offline-stream', chatModel, 'Partial ')));
	} else {
		const request = { model: chatModel, messages: [] };
		const full = JSON.stringify(
			format.completion(chatModel, request, { content: 'truncated reply' }),
		);
		res.writeHead(200, {
			'content-type': 'application/json',
			'content-length': String(full.length),
		});
		res.write(full.slice(0, Math.floor(full.length / 2)));
	}
	setTimeout(() => res.socket?.destroy(), 10);
}
