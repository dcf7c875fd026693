/**
 * Streamed chat completions as server-sent events (SSE), paced like a provider's token rate: role, content pieces,
 * tool-call deltas, finish, usage (when asked), then `data: [DONE]`. Bodies come from the WireFormat.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

import type { WireFormat } from './openai-format';
import type { ChatRequest, ModelReply, ToolCall } from './types';

/** Unref'd: a reply still waiting when a test ends (its client gone) does not keep the process alive. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** One SSE event carrying `payload` as JSON. */
export const sseEvent = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;

/** Words with their trailing whitespace (or a run of whitespace): the pieces a streamed answer arrives in. */
const contentPieces = (content: string): string[] => content.match(/\S+\s*|\s+/g) ?? [];

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
}

/** Writes `reply` to `res` as an event stream and ends the response. */
export async function streamCompletion(
	res: ServerResponse,
	request: ChatRequest,
	reply: ModelReply,
	{ format, model, intervalMs, toolCallsOf }: StreamOptions,
): Promise<void> {
	const id = `chatcmpl-offline-${randomUUID()}`;
	const write = (payload: unknown) => res.write(sseEvent(payload));
	res.writeHead(200, {
		'content-type': 'text/event-stream',
		'cache-control': 'no-cache',
		connection: 'keep-alive',
	});
	write(format.streamStart(id, model));
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
