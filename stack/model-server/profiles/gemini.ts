/**
 * Gemini's OpenAI compatibility (https://generativelanguage.googleapis.com/v1beta/openai). Sources, read 2026-12-06:
 *  - Base URL and usage with the OpenAI libraries (https://ai.google.dev/gemini-api/docs/openai, https://ai.google.dev/api/compatibility).
 *  - Errors are a JSON array: `[{ "error": { code, message, status } }]`
 *    (https://github.com/n4ze3m/page-assist/issues/406, https://github.com/google-gemini/gemini-cli/issues/6454).
 *  - A 429 has no Retry-After header: the wait is `retryDelay` of a google.rpc.RetryInfo in `details`, a protobuf
 *    duration such as "45.837906927s" (https://github.com/dcdpr/jp/pull/1061,
 *    https://github.com/letterstory/lettertrace/pull/34).
 *  - Streamed tool calls carry no `index`, a tool-calling turn may end with finish_reason "stop", ids may be empty
 *    (https://github.com/THU-MAIC/OpenMAIC/issues/1556, https://github.com/open-webui/computer/issues/224,
 *    https://github.com/vercel/ai/issues/6663, https://github.com/AstrBotDevs/AstrBot/issues/6661).
 *  - Embeddings: at most 100 inputs a request ("BatchEmbedContentsRequest.requests: at most 100 requests can be in one
 *    batch") (https://github.com/StarTrail-org/LEANN/pull/214, https://github.com/geldata/gel/issues/9032).
 *  - Thinking is not shown by default, only counted; no /rerank; a long prompt: 400 INVALID_ARGUMENT "The input token
 *    count (N) exceeds the maximum number of tokens allowed (M)."
 */
import { dialect } from './dialect';

const STATUS: Record<number, string> = {
	400: 'INVALID_ARGUMENT',
	401: 'UNAUTHENTICATED',
	403: 'PERMISSION_DENIED',
	404: 'NOT_FOUND',
	429: 'RESOURCE_EXHAUSTED',
	500: 'INTERNAL',
	503: 'UNAVAILABLE',
};

const error = (
	message: string,
	_type: string,
	_code: string | null,
	_param: string | null,
	status: number,
	details?: unknown[],
) => [
	{
		error: {
			code: status,
			message,
			status: STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT'),
			...(details ? { details } : {}),
		},
	},
];

export const geminiProfile = dialect({
	name: 'gemini',
	label: 'Gemini (OpenAI compatibility)',
	basePath: '/v1beta/openai',
	models: { chat: 'gemini-2.5-flash', embedding: 'gemini-embedding-001' },
	idPrefix: '',
	toolCallId: () => '',
	streamToolCalls: 'whole-no-index',
	contentWithTools: null,
	finishWithTools: 'stop',
	parallelToolCalls: true,
	reasoning: 'hidden',
	streamUsage: 'include_usage',
	// Thinking counted as completion_tokens_details.reasoning_tokens (thoughtsTokenCount)
	// (https://github.com/envoyproxy/ai-gateway/pull/1438, https://github.com/router-for-me/CLIProxyAPI/issues/5733).
	usageFields: ({ reasoningTokens }) => ({
		completion_tokens_details: { reasoning_tokens: reasoningTokens },
	}),
	error: (message, type, code, param, status) => error(message, type, code, param, status),
	modelList: (ids) => ({
		object: 'list',
		data: ids.map((id) => ({ id: `models/${id}`, object: 'model', owned_by: 'google' })),
	}),
	maxEmbeddingInputs: {
		max: 100,
		refusal: () => ({
			status: 400,
			body: error(
				'* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n',
				'',
				null,
				null,
				400,
			),
		}),
	},
	rerank: false,
	rateLimit: {
		kind: 'refuse',
		headers: () => ({}),
		body: (waitMs) => {
			const delay = `${(waitMs / 1000).toFixed(3)}s`;
			return error(
				`You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. Please retry in ${delay}.`,
				'',
				null,
				null,
				429,
				[
					{
						'@type': 'type.googleapis.com/google.rpc.QuotaFailure',
						violations: [
							{
								quotaMetric:
									'generativelanguage.googleapis.com/generate_content_free_tier_requests',
								quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
							},
						],
					},
					{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: delay },
				],
			);
		},
	},
	contextError: (window, requested) => ({
		status: 400,
		body: error(
			`The input token count (${requested}) exceeds the maximum number of tokens allowed (${window}).`,
			'',
			null,
			null,
			400,
		),
	}),
});
