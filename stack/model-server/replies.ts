/**
 * Where a chat completion's answer comes from: queued replies first, then the installed handler, else the offline
 * stand-in model. Also numbers the tool calls a reply makes without an id.
 */
import { offlineModel } from './offline-model';
import type { ChatRequest, ModelReply, ReplyHandler, ToolCall } from './types';

export class ChatReplies {
	private queue: Array<ModelReply | ReplyHandler> = [];

	private handler?: ReplyHandler;

	/** Never reset: tool call ids stay unique for the server's lifetime. */
	private callSeq = 0;

	/** Queues replies for the next chat completions, first in first out. */
	push(replies: Array<ModelReply | ReplyHandler>): void {
		this.queue.push(...replies);
	}

	/** Answers when no queued reply is left; `undefined` restores the offline model. */
	setHandler(handler?: ReplyHandler): void {
		this.handler = handler;
	}

	/** Drops queued replies and the handler. */
	clear(): void {
		this.queue = [];
		this.handler = undefined;
	}

	async next(request: ChatRequest): Promise<ModelReply> {
		const queued = this.queue.shift();
		if (queued) return typeof queued === 'function' ? queued(request) : queued;
		if (this.handler) return this.handler(request);
		return offlineModel(request);
	}

	/**
	 * The reply's tool calls in wire form (ids where the reply gave none: `idOf()`, a provider's, else `call_<n>`; JSON
	 * arguments); undefined when none.
	 */
	toolCalls(reply: ModelReply, idOf?: () => string): ToolCall[] | undefined {
		if (!reply.toolCalls?.length) return undefined;
		return reply.toolCalls.map((call) => ({
			id: call.id ?? (idOf ? idOf() : `call_${++this.callSeq}`),
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
}
