/** Chat history kept as a list of messages; selection of the recent part that fits a budget. */

interface ToolCallRecord {
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

/** A user or system message starts a turn; the assistant's messages and tool results belong to the turn before. */
function startsTurn(role: unknown): boolean {
	return role === 'user' || role === 'system';
}

/**
 * How many of the oldest messages to remove so that at most `max` remain, cutting only where a turn starts. The
 * latest turn is never cut: when it alone is longer than `max`, only the turns before it are removed.
 * roles: the messages' roles, oldest first. (The Redis and Postgres stores apply the same rule in their own code.)
 */
export function messagesToTrim(roles: readonly unknown[], max: number): number {
	const excess = roles.length - max;
	if (excess <= 0) return 0;
	for (let i = excess; i < roles.length; i++) if (startsTurn(roles[i])) return i;
	for (let i = excess - 1; i > 0; i--) if (startsTurn(roles[i])) return i;
	return 0;
}

/**
 * A window read from the end of a conversation may begin inside a turn: drops the messages before the first turn
 * start, or (when the window holds no turn start) the tool results whose call was cut off.
 */
export function fromTurnStart<T extends { role: unknown }>(window: readonly T[]): T[] {
	const start = window.findIndex((m) => startsTurn(m.role));
	if (start >= 0) return window.slice(start);
	const firstCall = window.findIndex((m) => m.role !== 'tool');
	return firstCall >= 0 ? window.slice(firstCall) : [];
}

/** Rough token count of a message (≈ 4 characters per token, content plus tool-call arguments). */
function estimateMessageTokens(message: ConversationMessage): number {
	const text = message.content + (message.toolCalls ? JSON.stringify(message.toolCalls) : '');
	return Math.max(1, Math.ceil(text.length / 4));
}

/** Consecutive messages split where a new user (or system) message starts a turn. */
function turns(messages: readonly ConversationMessage[]): ConversationMessage[][] {
	const out: ConversationMessage[][] = [];
	for (const message of messages) {
		if (!out.length || startsTurn(message.role)) out.push([]);
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
