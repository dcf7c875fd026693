/** A Chat Completions conversation as LangChain chat messages, for the Agent's tool-calling loop. */
import {
	AIMessage,
	HumanMessage,
	SystemMessage,
	ToolMessage,
	type BaseMessage,
} from '@langchain/core/messages';

import { textOf, type ChatMessage } from './request';

function parseArguments(raw: string): Record<string, unknown> {
	try {
		const value: unknown = JSON.parse(raw);
		return value && typeof value === 'object' && !Array.isArray(value)
			? (value as Record<string, unknown>)
			: { value };
	} catch {
		// Kept as sent: the model sees its own earlier (malformed) arguments.
		return { arguments: raw };
	}
}

/**
 * `messages` in order as LangChain messages: system and developer → SystemMessage, user → HumanMessage, assistant →
 * AIMessage (with its tool calls), tool → ToolMessage. Multi-part text content is joined.
 */
export function toChatMessages(messages: readonly ChatMessage[]): BaseMessage[] {
	return messages.map((m) => {
		switch (m.role) {
			case 'system':
			case 'developer':
				return new SystemMessage(textOf(m.content));
			case 'user':
				return new HumanMessage(textOf(m.content));
			case 'assistant':
				return new AIMessage({
					content: textOf(m.content),
					tool_calls: (m.tool_calls ?? []).map((call) => ({
						id: call.id,
						name: call.function.name,
						args: parseArguments(call.function.arguments),
						type: 'tool_call' as const,
					})),
				});
			case 'tool':
				return new ToolMessage({ content: textOf(m.content), tool_call_id: m.tool_call_id });
		}
	});
}

/**
 * The text of the turn being asked: the user messages after the last assistant message, joined by blank lines. Used
 * with a memory sub-node, which holds the earlier turns itself.
 */
export function latestUserText(messages: readonly ChatMessage[]): string {
	const lastAssistant = messages.map((m) => m.role).lastIndexOf('assistant');
	return messages
		.slice(lastAssistant + 1)
		.filter((m) => m.role === 'user')
		.map((m) => textOf(m.content))
		.join('\n\n');
}
