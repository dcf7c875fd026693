/**
 * Turns n8n's streaming output for one execution (JSON lines: `{ type, content, metadata }` chunks and keep-alives,
 * as n8n writes them to the trigger's HTTP response) into the Chat Completions response: server-sent
 * `chat.completion.chunk` events ending with `data: [DONE]` for `stream: true`, else one `chat.completion` object
 * once the answer is complete. The answer is the text of the first OpenAgents Agent run that starts a reply
 * (reply.ts); chunks of any other node or item are not part of it. A node error, an Agent error, or an execution that
 * ends without an answer becomes an OpenAI error (HTTP 500 before anything was sent; an `error` event mid-stream).
 */
import { ChatCompletionsError } from './errors';
import { readReply, type ReplyEnd, type ReplyStart } from './reply';
import {
	chatCompletion,
	completionChunk,
	sseEvent,
	SSE_DONE,
	toOpenAiUsage,
	usageChunk,
	type CompletionIdentity,
} from './response';

/** Where the response goes (the HTTP response, unwrapped). */
export interface ResponseSink {
	/** Status line and headers, sent at once. */
	start(status: number, headers: Record<string, string>): void;
	write(text: string): void;
	end(text?: string): void;
}

export interface ResponderOptions {
	identity: CompletionIdentity;
	stream: boolean;
	/** `stream_options.include_usage`: a last event with `usage` and no choices. */
	includeUsage: boolean;
	sink: ResponseSink;
	/** Called once the client has hung up and the execution's ID is known (to stop the execution). */
	onAbandoned?(executionId: string): void;
}

interface N8nChunk {
	type: 'begin' | 'item' | 'end' | 'error' | 'keepalive' | string;
	content?: string;
	metadata?: { nodeId?: string; nodeName?: string; itemIndex?: number; runIndex?: number };
}

const SSE_HEADERS = {
	'Content-Type': 'text/event-stream; charset=utf-8',
	'Cache-Control': 'no-cache',
	Connection: 'keep-alive',
	// Reverse proxies (nginx) would otherwise buffer the stream.
	'X-Accel-Buffering': 'no',
};

export class CompletionResponder {
	/** True once the response is complete (answer, error) or the client has gone. */
	finished = false;

	private owner?: string;

	private executionId?: string;

	private abandoned = false;

	private text = '';

	private partialLine = '';

	constructor(private readonly options: ResponderOptions) {}

	/** Data n8n wrote to the response: one or more JSON lines (a partial line is kept for the next call). */
	receive(data: string): void {
		const lines = (this.partialLine + data).split('\n');
		this.partialLine = lines.pop() ?? '';
		for (const line of lines) {
			if (!line.trim()) continue;
			try {
				this.chunk(JSON.parse(line) as N8nChunk);
			} catch {
				// Not one of n8n's chunk lines; nothing of the answer.
			}
		}
	}

	/** n8n ended the response: the execution is over. */
	close(): void {
		if (this.partialLine) this.receive('\n');
		this.fail(
			new ChatCompletionsError(
				500,
				'The workflow finished without an answer: connect an OpenAgents Agent (Conversation template) after the Chat Completions Trigger, and see the execution in n8n.',
				'server_error',
			),
		);
	}

	/** The client closed the connection. */
	clientGone(): void {
		if (this.finished) return;
		this.finished = true;
		this.abandoned = true;
		if (this.executionId) this.options.onAbandoned?.(this.executionId);
	}

	private chunk(chunk: N8nChunk): void {
		const source = `${chunk.metadata?.nodeId}:${chunk.metadata?.itemIndex}:${chunk.metadata?.runIndex}`;
		if (chunk.type === 'begin' && this.owner === undefined) {
			const start = readReply<ReplyStart>(chunk.content);
			if (!start) return;
			this.owner = source;
			this.executionId = start.executionId;
			if (this.abandoned) return this.options.onAbandoned?.(start.executionId);
			return this.begin();
		}
		if (this.finished) return;
		if (chunk.type === 'keepalive' && this.owner !== undefined && this.options.stream)
			return this.options.sink.write(': keep-alive\n\n');
		if (chunk.type === 'error')
			return this.fail(
				new ChatCompletionsError(
					500,
					`The workflow failed${chunk.metadata?.nodeName ? ` in node "${chunk.metadata.nodeName}"` : ''}${chunk.content ? `: ${chunk.content}` : ''}`,
					'server_error',
				),
			);
		if (source !== this.owner) return;
		if (chunk.type === 'item' && chunk.content) {
			this.text += chunk.content;
			if (this.options.stream)
				this.options.sink.write(
					sseEvent(completionChunk(this.options.identity, { content: chunk.content })),
				);
		}
		if (chunk.type === 'end') this.finish(readReply<ReplyEnd>(chunk.content));
	}

	private begin(): void {
		if (!this.options.stream) return;
		this.options.sink.start(200, SSE_HEADERS);
		this.options.sink.write(
			sseEvent(completionChunk(this.options.identity, { role: 'assistant', content: '' })),
		);
	}

	private finish(end: ReplyEnd | undefined): void {
		if (!end || 'error' in end) {
			return this.fail(
				new ChatCompletionsError(
					500,
					end?.error.message ?? 'The agent stopped without finishing its answer.',
					'server_error',
					null,
					end?.error.code ?? null,
				),
			);
		}
		this.finished = true;
		const { identity, sink } = this.options;
		const usage = toOpenAiUsage(end.usage);
		if (!this.options.stream) {
			sink.start(200, { 'Content-Type': 'application/json; charset=utf-8' });
			return sink.end(JSON.stringify(chatCompletion(identity, this.text, end.finishReason, usage)));
		}
		sink.write(sseEvent(completionChunk(identity, {}, end.finishReason)));
		if (this.options.includeUsage) sink.write(sseEvent(usageChunk(identity, usage)));
		sink.end(SSE_DONE);
	}

	private fail(error: ChatCompletionsError): void {
		if (this.finished) return;
		this.finished = true;
		const { sink } = this.options;
		if (this.options.stream && this.owner !== undefined) return sink.end(sseEvent(error.body));
		sink.start(error.status, { 'Content-Type': 'application/json; charset=utf-8' });
		sink.end(JSON.stringify(error.body));
	}
}
