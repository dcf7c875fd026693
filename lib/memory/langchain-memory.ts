/**
 * A LangChain-style chat memory over lib/memory, for agents (n8n's AI Agent and ours): the shape they use —
 * `loadMemoryVariables()` → { chat_history: BaseMessage[] }, `saveContext()`, and `chatHistory.getMessages /
 * addMessages / clear` — stored as a conversation, so every queue-mode worker sees the same history; plus
 * `saveTurn()`, which keeps a turn's tool calls with their results.
 */
import {
	AIMessage,
	HumanMessage,
	SystemMessage,
	ToolMessage,
	type BaseMessage,
} from '@langchain/core/messages';

import type { ConversationMessage } from './conversation';
import type { Memory } from './memory';
import type { Namespace } from './scope';
import { inSpan, OPENAGENTS } from '../tracing';

function textOf(content: BaseMessage['content']): string {
	return typeof content === 'string'
		? content
		: content.map((part) => ('text' in part ? String(part.text) : '')).join('');
}

function toConversationMessage(message: BaseMessage): ConversationMessage {
	const type = message.getType();
	const content = textOf(message.content);
	if (type === 'human') return { role: 'user', content };
	if (type === 'system') return { role: 'system', content };
	if (type === 'tool')
		return { role: 'tool', content, toolCallId: (message as ToolMessage).tool_call_id };
	const calls = (message as AIMessage).tool_calls ?? [];
	return calls.length
		? {
				role: 'assistant',
				content,
				toolCalls: calls.map((c) => ({ id: c.id ?? '', name: c.name, args: c.args })),
			}
		: { role: 'assistant', content };
}

function toLangChainMessage(message: ConversationMessage): BaseMessage {
	switch (message.role) {
		case 'user':
			return new HumanMessage(message.content);
		case 'system':
			return new SystemMessage(message.content);
		case 'tool':
			return new ToolMessage({ content: message.content, tool_call_id: message.toolCallId ?? '' });
		default:
			return new AIMessage({
				content: message.content,
				tool_calls: message.toolCalls?.map((c) => ({
					id: c.id,
					name: c.name,
					args: (c.args ?? {}) as Record<string, unknown>,
					type: 'tool_call' as const,
				})),
			});
	}
}

/**
 * The messages of one agent turn to store: the user's prompt, the steps the agent produced (assistant tool calls
 * and their results, in order), and the final answer. A tool call whose results are not all there (a run stopped
 * mid-step) is left out with everything after it, so the stored history always replays as a valid conversation.
 */
export function turnMessages(
	prompt: string,
	produced: BaseMessage[],
	answer: string,
): BaseMessage[] {
	const steps: BaseMessage[] = [];
	for (let i = 0; i < produced.length; i++) {
		const message = produced[i];
		const calls = message.getType() === 'ai' ? ((message as AIMessage).tool_calls ?? []) : [];
		if (!calls.length) continue; // the final answer (added below) or stray text between steps
		const results: BaseMessage[] = [];
		while (produced[i + 1]?.getType() === 'tool') results.push(produced[++i]);
		const answered = new Set(results.map((r) => (r as ToolMessage).tool_call_id));
		if (!calls.every((c) => answered.has(c.id ?? ''))) break;
		steps.push(message, ...results);
	}
	return [new HumanMessage(prompt), ...steps, new AIMessage(answer)];
}

interface ChatMemoryOptions {
	memory: Memory;
	ns: Namespace;
	/** The key the conversation is kept under. */
	key: string;
	/** Messages returned to the agent, latest whole turns (default 20). */
	maxMessages?: number;
	/** Expiry of the conversation, ms, renewed on every save. */
	ttlMs?: number;
	/** Messages kept in the store at most; the oldest whole turns are removed (default: all kept). */
	maxStored?: number;
}

class ChatMessageHistory {
	constructor(private readonly options: ChatMemoryOptions) {}

	/** The latest messages (a `memory read_messages` span in a traced run). */
	async getMessages(): Promise<BaseMessage[]> {
		const { memory, ns, key, maxMessages } = this.options;
		return inSpan(
			'memory read_messages',
			{ [OPENAGENTS.memoryOperation]: 'read_messages', [OPENAGENTS.memoryScope]: ns.scope },
			async (span) => {
				const messages = await memory.readMessages(ns, key, { maxMessages: maxMessages ?? 20 });
				span.setAttribute(OPENAGENTS.memoryMessages, messages.length);
				return messages.map(toLangChainMessage);
			},
		);
	}

	/** Appends `messages` in one write (a `memory append_messages` span in a traced run). */
	async addMessages(messages: BaseMessage[]): Promise<void> {
		if (!messages.length) return;
		const { memory, ns, key, ttlMs, maxStored } = this.options;
		await inSpan(
			'memory append_messages',
			{
				[OPENAGENTS.memoryOperation]: 'append_messages',
				[OPENAGENTS.memoryScope]: ns.scope,
				[OPENAGENTS.memoryMessages]: messages.length,
			},
			() =>
				memory.appendMessages(ns, key, messages.map(toConversationMessage), { ttlMs, maxStored }),
		);
	}

	async addMessage(message: BaseMessage): Promise<void> {
		await this.addMessages([message]);
	}

	async addUserMessage(text: string): Promise<void> {
		await this.addMessages([new HumanMessage(text)]);
	}

	async addAIMessage(text: string): Promise<void> {
		await this.addMessages([new AIMessage(text)]);
	}

	async clear(): Promise<void> {
		await this.options.memory.delete(this.options.ns, this.options.key);
	}
}

/** The memory object an agent receives (duck-typed like LangChain's BufferWindowMemory with returnMessages). */
export class ScopedChatMemory {
	readonly memoryKey = 'chat_history';

	readonly memoryKeys = ['chat_history'];

	readonly returnMessages = true;

	readonly inputKey = 'input';

	readonly outputKey = 'output';

	readonly chatHistory: ChatMessageHistory;

	constructor(options: ChatMemoryOptions) {
		this.chatHistory = new ChatMessageHistory(options);
	}

	async loadMemoryVariables(
		_values: Record<string, unknown> = {},
	): Promise<{ chat_history: BaseMessage[] }> {
		return { chat_history: await this.chatHistory.getMessages() };
	}

	/** Stores one turn: the input as a user message and the output as an assistant message. */
	async saveContext(
		input: Record<string, unknown>,
		output: Record<string, unknown>,
	): Promise<void> {
		await this.chatHistory.addMessages([
			new HumanMessage(String(input.input ?? '')),
			new AIMessage(String(output.output ?? '')),
		]);
	}

	/**
	 * Stores a whole turn in one append: the user's message, the assistant's tool calls with their results, in the
	 * order they happened, and the answer. Agents that know their tool calls (ours) use this instead of saveContext.
	 */
	async saveTurn(messages: BaseMessage[]): Promise<void> {
		await this.chatHistory.addMessages(messages);
	}

	async clear(): Promise<void> {
		await this.chatHistory.clear();
	}
}
