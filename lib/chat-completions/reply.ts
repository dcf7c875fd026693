/**
 * How an OpenAgents Agent answers a request of the Chat Completions Trigger through n8n's streaming response: n8n
 * carries node chunks (`begin`, `item`, `end`, `error`) from the node — on a worker in queue mode — to the process
 * holding the HTTP response. The Agent's `begin` and `end` chunks carry a JSON object under REPLY_KEY: the execution
 * ID (so a client that hangs up can have its execution stopped), then the finish reason and token usage, or the error.
 * Its `item` chunks are the answer's text.
 */
import type { TokenUsage } from '../llm/usage';
import type { FinishReason } from './response';

/** The trigger's node type name (without the package prefix). */
export const CHAT_COMPLETIONS_TRIGGER = 'openAgentsChatCompletionsTrigger';

const REPLY_KEY = 'openagentsChatCompletion';

export interface ReplyStart {
	executionId: string;
}

export type ReplyEnd =
	{ finishReason: FinishReason; usage: TokenUsage } | { error: { message: string; code?: string } };

export const replyStart = (start: ReplyStart) => ({ [REPLY_KEY]: start });

export const replyEnd = (end: ReplyEnd) => ({ [REPLY_KEY]: end });

/** The REPLY_KEY object of a chunk's content (n8n sends it as a JSON string), or undefined. */
export function readReply<T extends ReplyStart | ReplyEnd>(content: unknown): T | undefined {
	if (typeof content !== 'string' || !content.startsWith('{')) return undefined;
	try {
		return (JSON.parse(content) as Record<string, T>)[REPLY_KEY];
	} catch {
		return undefined;
	}
}
