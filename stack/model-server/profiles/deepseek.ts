/**
 * DeepSeek (https://api.deepseek.com/v1). Sources, read 2026-12-06:
 *  - Thinking mode is on by default: the reasoning is `reasoning_content` beside `content`; on turns that call tools it
 *    must be passed back in every later request, else 400 "The `reasoning_content` in the thinking mode must be passed
 *    back to the API." (https://api-docs.deepseek.com/guides/thinking_mode.md,
 *    https://api-docs.deepseek.com/zh-cn/guides/thinking_mode/, https://github.com/warpdotdev/warp/issues/11587).
 *  - response_format is `text` or `json_object` only (https://docs.rs/crate/ds-api/latest/source/src/raw/request/response_format.rs);
 *    json_schema is refused.
 *  - Usage reports the prompt cache as prompt_cache_hit_tokens / prompt_cache_miss_tokens, not cached_tokens
 *    (https://docs.stigg.io/documentation/ai-agents/providers/deepseek).
 *  - No rate limit: under load the request is held open, non-streamed answers preceded by blank lines and streams by
 *    ": keep-alive" comments (https://apifox.com/apidoc/docs-site/5435161/%E9%99%90%E9%80%9F-5903705m0).
 *  - No embeddings, no /rerank (https://docs.getbifrost.ai/providers/supported-providers/deepseek).
 *  - A long prompt: 400 "This model's maximum context length is N tokens. However, you requested M tokens …".
 */
import { randomUUID } from 'node:crypto';

import { dialect } from './dialect';
import type { ProfileMemory, Refusal } from './types';
import type { ChatRequest } from '../types';

const error = (message: string, type: string, code: string | null, param: string | null) => ({
	error: { message, type, param, code: code ?? type },
});

/** DeepSeek's check of thinking-mode tool-call turns: each must carry the reasoning it was made with. */
function missingReasoning(request: ChatRequest, memory: ProfileMemory): Refusal | undefined {
	for (const message of request.messages) {
		if (message.role !== 'assistant' || !message.tool_calls?.length) continue;
		const issued = message.tool_calls.some((c) => memory.reasoningOfToolCall.has(c.id));
		const given = (message as { reasoning_content?: unknown }).reasoning_content;
		if (issued && typeof given !== 'string')
			return {
				status: 400,
				body: error(
					'The `reasoning_content` in the thinking mode must be passed back to the API.',
					'invalid_request_error',
					'invalid_request_error',
					null,
				),
			};
	}
	return undefined;
}

export const deepseekProfile = dialect({
	name: 'deepseek',
	label: 'DeepSeek',
	basePath: '/v1',
	models: { chat: 'deepseek-v4-flash', embedding: 'deepseek-embedding' },
	idPrefix: '',
	fingerprint: 'fp_8802369eaa_prod0623_fp8_kvcache',
	toolCallId: () => `call_0_${randomUUID()}`,
	streamToolCalls: 'fragments',
	contentWithTools: '',
	finishWithTools: 'tool_calls',
	parallelToolCalls: true,
	reasoning: 'reasoning_content',
	streamUsage: 'include_usage',
	usageFields: ({ reasoningTokens, cachedTokens }) => ({
		prompt_cache_hit_tokens: cachedTokens,
		prompt_cache_miss_tokens: 0,
		completion_tokens_details: { reasoning_tokens: reasoningTokens },
	}),
	error,
	refuseChat(request, memory) {
		if (request.response_format?.type === 'json_schema')
			return {
				status: 400,
				body: error(
					'This response_format type is unavailable now',
					'invalid_request_error',
					null,
					null,
				),
			};
		return missingReasoning(request, memory);
	},
	remember(reply, toolCalls, memory) {
		if (!reply.reasoning) return;
		// Bounded like seenPrompts: a long-running server forgets old turns (their reasoning is then not checked).
		if (memory.reasoningOfToolCall.size > 1_000) memory.reasoningOfToolCall.clear();
		for (const call of toolCalls ?? []) memory.reasoningOfToolCall.set(call.id, reply.reasoning);
	},
	embeddings: false,
	rerank: false,
	rateLimit: { kind: 'keepalive' },
	contextError: (window, requested) => ({
		status: 400,
		body: error(
			`This model's maximum context length is ${window} tokens. However, you requested ${requested} tokens (${requested} in the messages, 0 in the completion). Please reduce the length of the messages or completion.`,
			'invalid_request_error',
			'invalid_request_error',
			null,
		),
	}),
	notFound: () => ({
		status: 404,
		body: error('Not Found', 'invalid_request_error', null, null),
	}),
});
