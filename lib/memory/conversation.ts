/** Chat history kept as a list of messages; selection of the recent part that fits a budget. */

export interface ToolCallRecord {
	id: string;
	name: string;
	args: unknown;
}

export interface ConversationMessage {
	role: 'system' | 'user' | 'assistant' | 'tool';
	content: string;
	/** On assistant messages that call tools. */
	toolCalls?: ToolCallRecord[];
	/** On tool messages: the id of the call this is the result of. */
	toolCallId?: string;
	/** ISO 8601 time the message was stored. */
	at?: string;
}

/** Rough token count of a message (≈ 4 characters per token, content plus tool-call arguments). */
export function estimateMessageTokens(message: ConversationMessage): number {
	const text = message.content + (message.toolCalls ? JSON.stringify(message.toolCalls) : '');
	return Math.max(1, Math.ceil(text.length / 4));
}

/** Consecutive messages split where a new user (or system) message starts a turn. */
function turns(messages: readonly ConversationMessage[]): ConversationMessage[][] {
	const out: ConversationMessage[][] = [];
	for (const message of messages) {
		if (!out.length || message.role === 'user' || message.role === 'system') out.push([]);
		out[out.length - 1].push(message);
	}
	return out;
}

/** Within a turn: an assistant message with tool calls and the tool results that follow it stay together. */
function blocks(turn: readonly ConversationMessage[]): ConversationMessage[][] {
	const out: ConversationMessage[][] = [];
	for (const message of turn) {
		if (message.role === 'tool' && out.length) out[out.length - 1].push(message);
		else out.push([message]);
	}
	return out;
}

export interface RecentOptions {
	/** At most this many messages. */
	maxMessages?: number;
	/** At most this many tokens (by `countTokens`). */
	maxTokens?: number;
	countTokens?: (message: ConversationMessage) => number;
}

/**
 * The most recent messages within the budget, cut at whole turns (a turn starts with a user message). When even
 * the latest turn does not fit, its most recent whole blocks are returned instead: a tool call is never separated
 * from its results, and the budget is never exceeded (the result may be empty).
 */
export function selectRecent(
	messages: readonly ConversationMessage[],
	options: RecentOptions = {},
): ConversationMessage[] {
	const maxMessages = options.maxMessages ?? Infinity;
	const maxTokens = options.maxTokens ?? Infinity;
	const count = options.countTokens ?? estimateMessageTokens;
	let used = { messages: 0, tokens: 0 };
	const fits = (unit: ConversationMessage[]) => {
		const next = {
			messages: used.messages + unit.length,
			tokens: used.tokens + unit.reduce((s, m) => s + count(m), 0),
		};
		if (next.messages > maxMessages || next.tokens > maxTokens) return false;
		used = next;
		return true;
	};
	const chosen: ConversationMessage[][] = [];
	const all = turns(messages);
	for (let i = all.length - 1; i >= 0; i--) {
		if (fits(all[i])) {
			chosen.unshift(all[i]);
			continue;
		}
		if (i === all.length - 1) {
			const parts = blocks(all[i]);
			for (let j = parts.length - 1; j >= 0 && fits(parts[j]); j--) chosen.unshift(parts[j]);
		}
		break;
	}
	return chosen.flat();
}
