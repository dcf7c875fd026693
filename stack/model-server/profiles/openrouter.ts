/**
 * OpenRouter (https://openrouter.ai/api/v1). Sources, read 2026-12-06:
 *  - Errors `{ error: { code: <HTTP status>, message, metadata? } }`, provider errors with `metadata.provider_name` and
 *    `raw`; once the model has started, errors come with HTTP 200 in the body or as an SSE data event (a chunk with
 *    `error` and finish_reason "error"); 429 and 503 may carry Retry-After in seconds
 *    (https://openrouter.ai/docs/api/reference/errors-and-debugging, https://openrouter.ai/docs/api/errors,
 *    https://openrouter.ai/docs/client-sdks/python/components/generationcontenterror).
 *  - Streams send SSE comments ": OPENROUTER PROCESSING" and end with a usage chunk
 *    (https://openrouter.ai/docs/api-reference/streaming, https://openrouter.eu.hconeai.com/docs/api-reference/streaming).
 *  - Reasoning in `reasoning` (and `reasoning_details`) (https://github.com/Center-for-AI-Innovation/uiuc-chat-frontend/pull/487).
 *  - /models lists `supported_parameters` per model; embeddings exist (https://openrouter.ai/docs/api_reference/embeddings);
 *    no /rerank.
 */
import { dialect, randomChars } from './dialect';

const error = (
	message: string,
	_type: string,
	_code: string | null,
	_param: string | null,
	status: number,
) => ({
	error: { code: status, message },
});

export const openrouterProfile = dialect({
	name: 'openrouter',
	label: 'OpenRouter',
	basePath: '/api/v1',
	models: { chat: 'deepseek/deepseek-r1', embedding: 'openai/text-embedding-3-small' },
	idPrefix: 'gen-',
	toolCallId: () => `call_${randomChars(24)}`,
	streamToolCalls: 'fragments',
	contentWithTools: '',
	finishWithTools: 'tool_calls',
	parallelToolCalls: true,
	reasoning: 'reasoning',
	streamUsage: 'always',
	usageFields: ({ reasoningTokens, cachedTokens }) => ({
		cost: 0.00012,
		is_byok: false,
		prompt_tokens_details: { cached_tokens: cachedTokens },
		completion_tokens_details: { reasoning_tokens: reasoningTokens },
	}),
	messageFields: (reply) =>
		reply.reasoning
			? {
					reasoning_details: [
						{ type: 'reasoning.text', text: reply.reasoning, format: 'unknown', index: 0 },
					],
				}
			: {},
	completionFields: () => ({ provider: 'DeepInfra' }),
	chunkFields: (chunk) => ({ ...chunk, provider: 'DeepInfra' }),
	streamPrelude: () => [{ comment: 'OPENROUTER PROCESSING' }],
	error,
	streamError: (id, model, message, status) => ({
		id,
		object: 'chat.completion.chunk',
		created: Math.floor(Date.now() / 1000),
		model,
		provider: 'DeepInfra',
		error: {
			code: status >= 500 ? 'server_error' : status,
			message,
			metadata: { provider_name: 'DeepInfra', raw: `upstream status ${status}` },
		},
		choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error' }],
	}),
	modelList: (ids) => ({
		data: ids.map((id) => ({
			id,
			canonical_slug: id,
			name: id,
			created: 1_733_000_000,
			context_length: 163840,
			supported_parameters: [
				'tools',
				'response_format',
				'structured_outputs',
				'reasoning',
				'include_reasoning',
			],
		})),
	}),
	rerank: false,
	rateLimit: {
		kind: 'refuse',
		headers: (waitMs, limit) => ({
			'retry-after': String(Math.ceil(waitMs / 1000)),
			'x-ratelimit-limit': String(limit.requestsPerMinute),
			'x-ratelimit-remaining': '0',
			'x-ratelimit-reset': String(Date.now() + waitMs),
		}),
		body: (waitMs, limit) => ({
			error: {
				code: 429,
				message: 'Rate limit exceeded: requests-per-min.',
				metadata: {
					headers: {
						'X-RateLimit-Limit': String(limit.requestsPerMinute),
						'X-RateLimit-Remaining': '0',
						'X-RateLimit-Reset': String(Date.now() + waitMs),
					},
				},
			},
		}),
	},
	contextError: (window, requested) => ({
		status: 400,
		body: {
			error: {
				code: 400,
				message: 'Provider returned error',
				metadata: {
					provider_name: 'DeepInfra',
					raw: `{"error":{"message":"This model's maximum context length is ${window} tokens. However, you requested ${requested} tokens."}}`,
				},
			},
		},
	}),
});
