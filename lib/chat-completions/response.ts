/**
 * Response objects in OpenAI's Chat Completions format: `chat.completion`, the `chat.completion.chunk` events of a
 * stream (server-sent events ending with `data: [DONE]`), and `usage` from our token counts.
 * Source: https://platform.openai.com/docs/api-reference/chat
 */
import { randomBytes } from 'node:crypto';

import type { TokenUsage } from '../llm/usage';

export type FinishReason = 'stop' | 'length';

interface OpenAiUsage {
	prompt_tokens: number;
	completion_tokens: number;
	total_tokens: number;
}

/** What every object of one completion shares: `id` (the same in every chunk), `created` (Unix seconds), `model`. */
export interface CompletionIdentity {
	id: string;
	created: number;
	model: string;
}

const SYSTEM_FINGERPRINT = 'openagents-n8n';

/** A new completion ID, `chatcmpl-` + 24 random base62-ish characters, as OpenAI's look. */
export const newCompletionId = (): string =>
	`chatcmpl-${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x')}`;

export const toOpenAiUsage = (usage: TokenUsage): OpenAiUsage => ({
	prompt_tokens: usage.promptTokens,
	completion_tokens: usage.completionTokens,
	total_tokens: usage.totalTokens,
});

/** The non-streaming answer: one choice with the assistant message. */
export function chatCompletion(
	identity: CompletionIdentity,
	content: string,
	finishReason: FinishReason,
	usage: OpenAiUsage,
) {
	return {
		...identity,
		object: 'chat.completion' as const,
		system_fingerprint: SYSTEM_FINGERPRINT,
		choices: [
			{
				index: 0,
				message: { role: 'assistant' as const, content, refusal: null },
				logprobs: null,
				finish_reason: finishReason,
			},
		],
		usage,
	};
}

/** One streamed event: a delta (role, content) or, with `finishReason`, the last choice event. */
export function completionChunk(
	identity: CompletionIdentity,
	delta: { role?: 'assistant'; content?: string },
	finishReason: FinishReason | null = null,
) {
	return {
		...identity,
		object: 'chat.completion.chunk' as const,
		system_fingerprint: SYSTEM_FINGERPRINT,
		choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
	};
}

/** The usage event sent last when the request asked for `stream_options.include_usage` (no choices). */
export const usageChunk = (identity: CompletionIdentity, usage: OpenAiUsage) => ({
	...identity,
	object: 'chat.completion.chunk' as const,
	system_fingerprint: SYSTEM_FINGERPRINT,
	choices: [],
	usage,
});

/** A server-sent event carrying `payload` as JSON. */
export const sseEvent = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`;

export const SSE_DONE = 'data: [DONE]\n\n';

/** The model list of `GET /v1/models`. */
export const modelList = (names: readonly string[], created: number, ownedBy: string) => ({
	object: 'list' as const,
	data: names.map((id) => ({ id, object: 'model' as const, created, owned_by: ownedBy })),
});
