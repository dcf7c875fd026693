/**
 * Streamed chat completions as server-sent events (SSE), paced like a provider's token rate: role, content pieces,
 * tool-call deltas, finish, usage (when asked), then `data: [DONE]`. Bodies come from the WireFormat; a provider
 * profile's format shapes the whole stream (streamFrames).
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

import type { StreamFrame, WireFormat } from './openai-format';
import type { ChatRequest, ModelReply, ToolCall } from './types';

/** Unref'd: a reply still waiting when a test ends (its client gone) does not keep the process alive. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** One SSE event carrying `payload` as JSON. */
export const sseEvent = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;

/** Words with their trailing whitespace (or a run of whitespace): the pieces a streamed answer arrives in. */
export const contentPieces = (content: string): string[] => content.match(/\S+\s*|\s+/g) ?? [];

interface StreamOptions {
	format: WireFormat;
	/** The model name the chunks report. */
	model: string;
	/** Between content events, ms (0: none). */
	intervalMs: number;
	/**
	 * The reply's tool calls, numbered when called: after the content is written, so concurrent streams number their
	 * calls in the order they reach that point.
	 */
	toolCallsOf: (reply: ModelReply) => ToolCall[] | undefined;
	/** Keep the stream open this long first, sending SSE keep-alive comments (a provider under load), ms. */
	keepAliveMs?: number;
	/** End the stream with the provider's mid-stream error event right after its first event (before any text). */
	streamError?: { message: string; status: number };
	/** Receives every `data:` payload written (the request log's events). */
	events?: unknown[];
}

/** Sends `: keep-alive` comments for `ms` (DeepSeek's answer while a request waits for capacity). */
async function keepAlive(write: (text: string) => void, ms: number): Promise<void> {
	const until = Date.now() + ms;
	while (Date.now() < until) {
		write(': keep-alive\n\n');
		await sleep(Math.min(200, Math.max(0, until - Date.now())));
	}
}

/** Writes `reply` to `res` as an event stream and ends the response. */
export async function streamCompletion(
	res: ServerResponse,
	request: ChatRequest,
	reply: ModelReply,
	options: StreamOptions,
): Promise<void> {
	const { format, model, intervalMs, toolCallsOf } = options;
	const id = `chatcmpl-offline-${randomUUID()}`;
	const { events } = options;
	const write = (payload: unknown) => {
		events?.push(payload);
		return res.write(sseEvent(payload));
	};
	res.writeHead(200, {
		'content-type': 'text/event-stream',
		'cache-control': 'no-cache',
		connection: 'keep-alive',
	});
	if (options.keepAliveMs) await keepAlive((text) => res.write(text), options.keepAliveMs);
	if (format.streamFrames) {
		const frames = format.streamFrames({
			id,
			model,
			request,
			reply,
			toolCalls: toolCallsOf(reply),
		});
		await writeFrames(res, frames, {
			intervalMs,
			error: options.streamError,
			format,
			id,
			model,
			events,
		});
		return;
	}
	write(format.streamStart(id, model));
	if (options.streamError) return endWithError(res, options.streamError, format, id, model, events);
	for (const [i, piece] of contentPieces(reply.content ?? '').entries()) {
		if (i && intervalMs) await sleep(intervalMs);
		write(format.streamContent(id, model, piece));
	}
	const toolCalls = toolCallsOf(reply);
	toolCalls?.forEach((call, index) => format.streamToolCall(id, model, call, index).forEach(write));
	write(format.streamFinish(id, model, Boolean(toolCalls)));
	if (request.stream_options?.include_usage) {
		write(format.streamUsage(id, model, request, reply, toolCalls));
	}
	res.end('data: [DONE]\n\n');
}

function endWithError(
	res: ServerResponse,
	error: { message: string; status: number },
	format: WireFormat,
	id: string,
	model: string,
	events?: unknown[],
): void {
	const event = format.streamError?.(id, model, error.message, error.status) ?? {
		error: { message: error.message },
	};
	events?.push(event);
	res.end(sseEvent(event));
}

async function writeFrames(
	res: ServerResponse,
	frames: StreamFrame[],
	context: {
		intervalMs: number;
		error?: { message: string; status: number };
		format: WireFormat;
		id: string;
		model: string;
		events?: unknown[];
	},
): Promise<void> {
	const { error, format, id, model, events } = context;
	let paced = 0;
	for (const frame of frames) {
		if ('comment' in frame) {
			res.write(`: ${frame.comment}\n\n`);
			continue;
		}
		if (error && frame.pace) return endWithError(res, error, format, id, model, events);
		if (frame.pace && paced++ && context.intervalMs) await sleep(context.intervalMs);
		events?.push(frame.data);
		res.write(sseEvent(frame.data));
	}
	if (error) return endWithError(res, error, format, id, model, events);
	res.end('data: [DONE]\n\n');
}
