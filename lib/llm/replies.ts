/**
 * Every chat reply made right before anyone reads it, whichever client produced it (ours, whose fetch already speaks
 * OpenAI's dialect, or a connected chat model sub-node that reads the provider's own): reasoning out of the text, tool
 * calls with ids that are present and unique in the conversation, and token usage from our tokenizer when the provider
 * reported none (marked estimated).
 */
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import { AIMessage, type MessageContent } from '@langchain/core/messages';
import { getEncoding, type Tiktoken } from 'js-tiktoken';

import { newToolCallId } from './provider-fetch';
import { splitReasoning } from './reasoning';

type ToolCall = NonNullable<AIMessage['tool_calls']>[number];

/** The messages of a chat input (a string or prompt value is one user message). */
function inputMessages(input: BaseLanguageModelInput): unknown[] {
	return Array.isArray(input) ? input : [input];
}

/** Tool-call ids the input conversation holds already. */
function idsIn(input: BaseLanguageModelInput): Set<string> {
	const ids = new Set<string>();
	for (const message of inputMessages(input)) {
		const m = message as { tool_calls?: Array<{ id?: string }>; tool_call_id?: string };
		for (const call of m?.tool_calls ?? []) if (call.id) ids.add(call.id);
		if (m?.tool_call_id) ids.add(m.tool_call_id);
	}
	return ids;
}

/** Typed content parts that carry reasoning rather than answer (Mistral's `thinking`, Anthropic-style `reasoning`). */
const REASONING_PARTS = new Set(['thinking', 'reasoning', 'redacted_thinking']);

/** The reply's content without reasoning, and the reasoning taken out ('' when none). */
function answerContent(content: MessageContent): { content: MessageContent; reasoning: string } {
	if (typeof content === 'string') {
		const { text, reasoning } = splitReasoning(content);
		return { content: reasoning ? text : content, reasoning };
	}
	const parts = content as Array<{ type?: string; text?: unknown; thinking?: unknown }>;
	const thinking = parts.filter((p) => REASONING_PARTS.has(String(p?.type)));
	const kept = parts.filter((p) => !REASONING_PARTS.has(String(p?.type)));
	const reasoning = thinking
		.map((p) =>
			typeof p.thinking === 'string' ? p.thinking : typeof p.text === 'string' ? p.text : '',
		)
		.join('');
	if (kept.every((p) => p?.type === 'text' && typeof p.text === 'string')) {
		const joined = kept.map((p) => p.text as string).join('');
		const split = splitReasoning(joined);
		return {
			content: split.text,
			reasoning: [reasoning, split.reasoning].filter(Boolean).join('\n'),
		};
	}
	return { content: thinking.length ? (kept as MessageContent) : content, reasoning };
}

/**
 * `message` with its reasoning moved to `additional_kwargs.reasoning_content` and its tool calls given unique ids
 * (missing ones, and ones the conversation `input` already used); the same object when nothing had to change.
 */
export function normalizeReply(message: AIMessage, input: BaseLanguageModelInput): AIMessage {
	const { content, reasoning } = answerContent(message.content);
	const used = idsIn(input);
	let idsChanged = false;
	const fix = <T extends { id?: string }>(call: T): T => {
		if (call.id && !used.has(call.id)) {
			used.add(call.id);
			return call;
		}
		idsChanged = true;
		const id = newToolCallId();
		used.add(id);
		return { ...call, id };
	};
	const toolCalls = (message.tool_calls ?? []).map(fix) as ToolCall[];
	const invalid = (message.invalid_tool_calls ?? []).map(fix);
	if (!reasoning && !idsChanged && content === message.content) return message;
	const earlier = message.additional_kwargs?.reasoning_content;
	return new AIMessage({
		content,
		tool_calls: toolCalls,
		invalid_tool_calls: invalid,
		additional_kwargs: {
			...message.additional_kwargs,
			...(reasoning
				? {
						reasoning_content:
							typeof earlier === 'string' && earlier ? `${earlier}\n${reasoning}` : reasoning,
					}
				: {}),
		},
		response_metadata: message.response_metadata,
		...(message.usage_metadata ? { usage_metadata: message.usage_metadata } : {}),
		...(message.id ? { id: message.id } : {}),
		...(message.name ? { name: message.name } : {}),
	});
}

let encoder: Tiktoken | undefined;

/** Tokens of `text` under cl100k_base (the tokenizer of OpenAI's GPT-4 family; ranks bundled, no download). */
function countTokens(text: string): number {
	if (!text) return 0;
	encoder ??= getEncoding('cl100k_base');
	return encoder.encode(text, 'all').length;
}

/** The text of a message for counting: its content (text of every part) and tool-call names and arguments. */
function countedText(message: unknown): string {
	if (typeof message === 'string') return message;
	const m = message as { content?: unknown; tool_calls?: Array<{ name?: string; args?: unknown }> };
	const content =
		typeof m?.content === 'string'
			? m.content
			: Array.isArray(m?.content)
				? m.content
						.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : ''))
						.join('')
				: JSON.stringify(m?.content ?? '');
	const calls = (m?.tool_calls ?? []).map((c) => `${c.name ?? ''}${JSON.stringify(c.args ?? {})}`);
	return [content, ...calls].join('\n');
}

/** OpenAI's per-message overhead (role and separators), in tokens. */
const PER_MESSAGE = 4;

/** Usage counted with our tokenizer, for a reply whose provider reported none: the input and the reply (reasoning too). */
export function estimateUsage(input: BaseLanguageModelInput, reply: AIMessage) {
	const messages = inputMessages(input);
	const inputTokens = messages.reduce<number>(
		(sum, m) => sum + countTokens(countedText(m)) + PER_MESSAGE,
		0,
	);
	const reasoning = reply.additional_kwargs?.reasoning_content;
	const outputTokens =
		countTokens(countedText(reply)) + (typeof reasoning === 'string' ? countTokens(reasoning) : 0);
	return {
		input_tokens: inputTokens,
		output_tokens: outputTokens,
		total_tokens: inputTokens + outputTokens,
	};
}

/** Whether the reply carries usage the provider reported. */
export function hasReportedUsage(reply: AIMessage): boolean {
	const usage = reply.usage_metadata;
	return !!usage && (usage.total_tokens > 0 || usage.input_tokens > 0 || usage.output_tokens > 0);
}
