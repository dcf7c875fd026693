/**
 * OpenAI (https://api.openai.com/v1). Sources, read 2026-12-06:
 *  - Chat Completions streaming: tool calls as `delta.tool_calls` fragments by index, name first then the arguments in
 *    pieces; usage only with `stream_options.include_usage`, in a last chunk whose `choices` is empty
 *    (https://docs.opper.ai/build/chat/streaming, https://docs.rs/crate/openai-interface/0.11.0/source/src/chat/create/response.rs
 *    — the OpenAPI spec's wording); an error after the stream started is a `data: {"error": …}` event
 *    (https://gitea.wtr.qzz.io/shishantbiswas/coder/raw/commit/e00e85765bce84481d0f7337c5ecc7a86a7d0fcc/aibridge/fixtures/openai/chatcompletions/stream_error.txtar).
 *  - `content: null` beside tool calls, finish_reason `tool_calls`, several calls per turn; usage with
 *    `prompt_tokens_details.cached_tokens` and `completion_tokens_details.reasoning_tokens`; o-series reasoning is
 *    hidden (only its token count).
 *  - Rate-limit headers x-ratelimit-limit/remaining/reset-requests|tokens, resets as durations ("12ms", "1s", "6m0s"), no
 *    Retry-After (https://community.openai.com/t/how-to-get-rate-limit-reset-time-for-response-api/1268905,
 *    https://thoughtbot.com/blog/openai-rate-limits); 429 body `rate_limit_exceeded` naming the wait.
 *  - Embeddings: float or base64 (the Node SDK asks base64 by default: https://github.com/openai/openai-node/issues/1310),
 *    `dimensions`, at most 2048 inputs a request (https://ibm.github.io/watsonx-ai-node-sdk/interfaces/1_7_x.gateway.CreateEmbeddingsParams.html).
 *  - No /rerank.
 */
import { dialect, goDuration, randomChars } from './dialect';

const error = (message: string, type: string, code: string | null, param: string | null) => ({
	error: { message, type, param, code },
});

export const openaiProfile = dialect({
	name: 'openai',
	label: 'OpenAI',
	basePath: '/v1',
	models: { chat: 'gpt-4o-mini', embedding: 'text-embedding-3-small' },
	idPrefix: 'chatcmpl-',
	fingerprint: 'fp_0ba0d124f1',
	toolCallId: () => `call_${randomChars(24)}`,
	streamToolCalls: 'fragments',
	contentWithTools: null,
	finishWithTools: 'tool_calls',
	parallelToolCalls: true,
	reasoning: 'hidden',
	streamUsage: 'include_usage',
	usageFields: ({ reasoningTokens, cachedTokens }) => ({
		prompt_tokens_details: { cached_tokens: cachedTokens, audio_tokens: 0 },
		completion_tokens_details: {
			reasoning_tokens: reasoningTokens,
			audio_tokens: 0,
			accepted_prediction_tokens: 0,
			rejected_prediction_tokens: 0,
		},
	}),
	messageFields: () => ({ refusal: null, annotations: [] }),
	completionFields: () => ({ service_tier: 'default' }),
	error,
	maxEmbeddingInputs: {
		max: 2048,
		refusal: () => ({
			status: 400,
			body: error(
				"'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
				'invalid_request_error',
				null,
				null,
			),
		}),
	},
	rerank: false,
	rateLimit: {
		kind: 'refuse',
		headers: (waitMs, limit) => ({
			'x-ratelimit-limit-requests': String(limit.requestsPerMinute),
			'x-ratelimit-remaining-requests': '0',
			'x-ratelimit-reset-requests': goDuration(waitMs),
			'x-ratelimit-limit-tokens': '200000',
			'x-ratelimit-remaining-tokens': '199000',
			'x-ratelimit-reset-tokens': goDuration(Math.max(1, waitMs / 4)),
		}),
		body: (waitMs, limit) =>
			error(
				`Rate limit reached for gpt-4o-mini in organization org-offline on requests per min (RPM): Limit ${limit.requestsPerMinute}, Used ${limit.requestsPerMinute}, Requested 1. Please try again in ${goDuration(waitMs)}. Visit https://platform.openai.com/account/rate-limits to learn more.`,
				'requests',
				'rate_limit_exceeded',
				null,
			),
	},
	contextError: (window, requested) => ({
		status: 400,
		body: error(
			`This model's maximum context length is ${window} tokens. However, your messages resulted in ${requested} tokens. Please reduce the length of the messages.`,
			'invalid_request_error',
			'context_length_exceeded',
			'messages',
		),
	}),
});
