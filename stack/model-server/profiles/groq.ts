/**
 * Groq (https://api.groq.com/openai/v1). Sources, read 2026-12-06:
 *  - Rate limits: every answer carries x-ratelimit-limit/remaining/reset-requests|tokens (resets such as "2m59.56s",
 *    "7.66s"); a 429 adds retry-after in seconds (https://console.groq.com/docs/rate-limits.md,
 *    https://dev.to/vectle/groq-429s-your-retry-loop-is-blind-read-the-headers-instead-l0j); its body names the limit
 *    and "Please try again in 5.289s" (https://github.com/Aider-AI/aider/issues/3265).
 *  - Streams: the finish chunk carries `x_groq: { id, usage }`; with stream_options.include_usage a usage chunk follows
 *    (https://github.com/Portkey-AI/gateway/issues/1072, https://github.com/Portkey-AI/gateway/issues/1338).
 *  - reasoning_format defaults to raw: a reasoning model's `<think>…</think>` is in the text
 *    (https://reference.langchain.com/python/langchain-groq/chat_models/ChatGroq/reasoning_format).
 *  - Structured outputs (response_format json_schema) only on some models; others answer 400.
 *  - No embeddings endpoint and no /rerank: unknown URLs answer 404 `unknown_url`.
 */
import { dialect, goDuration, randomChars } from './dialect';

const error = (message: string, type: string, code: string | null) => ({
	error: { message, type, ...(code ? { code } : {}) },
});

export const groqProfile = dialect({
	name: 'groq',
	label: 'Groq',
	basePath: '/openai/v1',
	models: { chat: 'qwen/qwen3-32b', embedding: 'nomic-embed-text-v1.5' },
	idPrefix: 'chatcmpl-',
	fingerprint: 'fp_5dd3e8f4a9',
	toolCallId: () => `call_${randomChars(4)}`,
	streamToolCalls: 'whole',
	contentWithTools: null,
	finishWithTools: 'tool_calls',
	parallelToolCalls: true,
	reasoning: 'think',
	streamUsage: 'include_usage',
	usageFields: () => ({
		queue_time: 0.0121,
		prompt_time: 0.0034,
		completion_time: 0.052,
		total_time: 0.0554,
	}),
	completionFields: () => ({ x_groq: { id: `req_${randomChars(26)}` } }),
	chunkFields: (chunk, kind, usage) =>
		kind === 'first'
			? { ...chunk, x_groq: { id: `req_${randomChars(26)}` } }
			: kind === 'finish'
				? { ...chunk, x_groq: { id: `req_${randomChars(26)}`, usage } }
				: chunk,
	error,
	notFound: (method, path) => ({
		status: 404,
		body: error(
			`Unknown request URL: ${method} ${path}. Please check the URL for typos, or see the docs at https://console.groq.com/docs/`,
			'invalid_request_error',
			'unknown_url',
		),
	}),
	refuseChat(request) {
		if (request.response_format?.type === 'json_schema')
			return {
				status: 400,
				body: error(
					'This model does not support response format `json_schema`. See supported models at https://console.groq.com/docs/structured-outputs#supported-models',
					'invalid_request_error',
					null,
				),
			};
		return undefined;
	},
	embeddings: false,
	rerank: false,
	rateLimit: {
		kind: 'refuse',
		headers: (waitMs, limit) => ({
			'retry-after': String(Math.ceil(waitMs / 1000)),
			'x-ratelimit-limit-requests': String(limit.requestsPerMinute),
			'x-ratelimit-remaining-requests': '0',
			'x-ratelimit-reset-requests': goDuration(waitMs),
			'x-ratelimit-limit-tokens': '6000',
			'x-ratelimit-remaining-tokens': '5800',
			'x-ratelimit-reset-tokens': goDuration(Math.max(1, waitMs / 10)),
		}),
		body: (waitMs, limit) =>
			error(
				`Rate limit reached for model \`qwen/qwen3-32b\` in organization \`org_offline\` service tier \`on_demand\` on requests per minute (RPM): Limit ${limit.requestsPerMinute}, Used ${limit.requestsPerMinute}, Requested 1. Please try again in ${goDuration(waitMs)}. Visit https://console.groq.com/docs/rate-limits for more information.`,
				'requests',
				'rate_limit_exceeded',
			),
	},
	contextError: (window, requested) => ({
		status: 400,
		body: error(
			`Please reduce the length of the messages or completion. The model's context window is ${window} tokens; the request has ${requested}.`,
			'invalid_request_error',
			'context_length_exceeded',
		),
	}),
});
