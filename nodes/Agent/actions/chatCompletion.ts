/**
 * The Agent's side of the OpenAgents Chat Completions Trigger: when the execution was started by that trigger, the
 * conversation comes from the request's `messages` (or, with a memory sub-node, the memory's history plus the new user
 * turn), `response_format` asks for JSON, and the answer goes back to the client through n8n's streaming response
 * (lib/chat-completions/reply.ts) — the trigger turns it into `chat.completion` or SSE chunks.
 */
import { jsonSchemaToZod } from '@n8n/json-schema-to-zod';
import type { BaseMessage } from '@langchain/core/messages';
import type { IExecuteFunctions } from 'n8n-workflow';
import { z, type ZodType } from 'zod';

import {
	CHAT_COMPLETIONS_TRIGGER,
	chatCompletionRequestSchema,
	latestUserText,
	replyEnd,
	replyStart,
	toChatMessages,
	type ChatCompletionRequest,
	type FinishReason,
} from '../../../lib/chat-completions';
import type { TokenUsage } from '../../../lib/llm';

export interface ServedRequest {
	request: ChatCompletionRequest;
	/** The conversation as chat messages (without the node's system message). */
	messages(): BaseMessage[];
	/** The new user turn's text (what memory records as the user's message). */
	prompt: string;
	/** The schema `response_format` asks for, or undefined for text. */
	schema?: ZodType;
	/** The caller's user (the request's `user`, kept apart per client key as the trigger's Session Scope says). */
	user?: string;
}

/**
 * The Chat Completions request this item answers, or undefined when no OpenAgents Chat Completions Trigger precedes
 * the node. The trigger emits one item per request; it is read from the trigger's output, so nodes in between may
 * reshape the items.
 */
export function servedRequest(fn: IExecuteFunctions, itemIndex: number): ServedRequest | undefined {
	const trigger = fn
		.getParentNodes(fn.getNode().name)
		.find((node) => node.type.endsWith(`.${CHAT_COMPLETIONS_TRIGGER}`));
	if (!trigger) return undefined;
	const json = fn.getWorkflowDataProxy(itemIndex).$(trigger.name).first()?.json;
	const parsed = chatCompletionRequestSchema.safeParse(json);
	if (!parsed.success) return undefined;
	const request = parsed.data;
	const format = request.response_format;
	const user = (json as { userId?: unknown }).userId;
	return {
		...(typeof user === 'string' && user ? { user } : {}),
		request,
		messages: () => toChatMessages(request.messages),
		prompt: latestUserText(request.messages),
		schema:
			format?.type === 'json_schema' && format.json_schema.schema
				? (jsonSchemaToZod(format.json_schema.schema) as ZodType)
				: format?.type === 'json_object' || format?.type === 'json_schema'
					? z.record(z.unknown())
					: undefined,
	};
}

/**
 * Sends the answer to the trigger through n8n's streaming chunks; a no-op outside a streaming execution (e.g. a
 * manual run with pinned data).
 */
export class CompletionReply {
	private streamedText = false;

	private readonly streaming: boolean;

	constructor(
		private readonly fn: IExecuteFunctions,
		private readonly itemIndex: number,
	) {
		this.streaming = fn.isStreaming?.() === true;
	}

	begin(): void {
		this.send('begin', replyStart({ executionId: this.fn.getExecutionId() }));
	}

	/** A piece of the answer's text as the model produces it. */
	text = (delta: string): void => {
		if (!delta) return;
		this.streamedText = true;
		this.send('item', delta);
	};

	/** The answer is complete: `output` is sent first unless its text was already streamed. */
	finish(output: string, finishReason: FinishReason, usage: TokenUsage): void {
		if (!this.streamedText && output) this.send('item', output);
		this.send('end', replyEnd({ finishReason, usage }));
	}

	fail(error: Error & { code?: unknown }): void {
		this.send(
			'end',
			replyEnd({
				error: {
					message: error.message,
					...(typeof error.code === 'string' ? { code: error.code } : {}),
				},
			}),
		);
	}

	private send(type: 'begin' | 'item' | 'end', content: string | object): void {
		if (this.streaming) this.fn.sendChunk(type, this.itemIndex, content as never);
	}
}
