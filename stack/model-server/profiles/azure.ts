/**
 * Azure OpenAI. Sources, read 2026-12-06:
 *  - Classic routes `/openai/deployments/{deployment}/chat/completions?api-version=2024-10-21` (the deployment names the
 *    model); without api-version Azure answers "Resource not found"; the key goes in the `api-key` header
 *    (https://www.mintlify.com/BoundaryML/baml/reference/providers/azure, https://learn.microsoft.com/et-ee/azure/ai-services/openai/reference).
 *  - The v1 API (`/openai/v1/…`, since August 2025) needs no api-version
 *    (https://learn.microsoft.com/de-de/azure/foundry/openai/api-version-lifecycle).
 *  - Streams open with a chunk whose `choices` is empty and that carries `prompt_filter_results`; content chunks carry
 *    `content_filter_results` (https://github.com/microsoft/autogen/issues/6465,
 *    https://github.com/AbanteAI/archive-old-cli-mentat/issues/429).
 *  - 429: `{"error": {"code": "429", "message": "… Please retry after N seconds."}}` with Retry-After (seconds) and
 *    x-ratelimit-remaining-requests / -tokens (https://www.dotnetstudioai.com/hospital/fix-429-rate-limit-exceeded-azure-openai-dotnet,
 *    https://oneuptime.com/blog/post/2026-02-16-how-to-handle-rate-limiting-and-throttling-in-azure-openai-api-calls/view);
 *    also retry-after-ms, the millisecond form the OpenAI SDKs read.
 *  - Otherwise OpenAI's dialect (tool-call fragments, usage with include_usage, 2048 embedding inputs); no /rerank.
 */
import type { IncomingHttpHeaders } from 'node:http';

import { dialect, goDuration, randomChars, routeUnder } from './dialect';
import type { Refusal } from './types';

const error = (
	message: string,
	type: string,
	code: string | null,
	param: string | null,
	status: number,
) => ({
	error: { code: code ?? String(status), message, ...(type ? { type } : {}), param },
});

const notFound: Refusal = {
	status: 404,
	body: { error: { code: '404', message: 'Resource not found' } },
};

const filterResults = {
	hate: { filtered: false, severity: 'safe' },
	self_harm: { filtered: false, severity: 'safe' },
	sexual: { filtered: false, severity: 'safe' },
	violence: { filtered: false, severity: 'safe' },
};

export const azureProfile = dialect({
	name: 'azure',
	label: 'Azure OpenAI',
	basePath: '/openai',
	models: { chat: 'gpt-4o-mini', embedding: 'text-embedding-3-small' },
	idPrefix: 'chatcmpl-',
	fingerprint: 'fp_ee1d74bde0',
	toolCallId: () => `call_${randomChars(24)}`,
	streamToolCalls: 'fragments',
	contentWithTools: null,
	finishWithTools: 'tool_calls',
	parallelToolCalls: true,
	// o-series deployments reason without showing it: only completion_tokens_details.reasoning_tokens.
	reasoning: 'hidden',
	streamUsage: 'include_usage',
	usageFields: ({ reasoningTokens, cachedTokens }) => ({
		prompt_tokens_details: { cached_tokens: cachedTokens, audio_tokens: 0 },
		completion_tokens_details: { reasoning_tokens: reasoningTokens, audio_tokens: 0 },
	}),
	messageFields: () => ({ refusal: null }),
	completionFields: () => ({
		prompt_filter_results: [{ prompt_index: 0, content_filter_results: filterResults }],
	}),
	streamPrelude: () => [
		{
			data: {
				id: '',
				object: '',
				created: 0,
				model: '',
				choices: [],
				prompt_filter_results: [{ prompt_index: 0, content_filter_results: filterResults }],
			},
		},
	],
	chunkFields: (chunk, kind) =>
		kind === 'middle'
			? {
					...chunk,
					choices: (chunk.choices as Array<Record<string, unknown>>).map((c) => ({
						...c,
						content_filter_results: filterResults,
					})),
				}
			: chunk,
	error,
	errorType: (status) =>
		status === 429 ? '' : status >= 500 ? 'server_error' : 'invalid_request_error',
	resolve(path, query) {
		const deployment = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(
			path,
		);
		if (deployment) {
			if (!query.get('api-version')) return notFound;
			return {
				route: deployment[2] === 'embeddings' ? 'embeddings' : 'chat',
				model: decodeURIComponent(deployment[1]),
			};
		}
		if (path === '/openai/models') return query.get('api-version') ? { route: 'models' } : notFound;
		if (path.startsWith('/openai/v1/')) return { route: routeUnder('/openai/v1', path) };
		return { route: 'unknown' };
	},
	authorized: (headers: IncomingHttpHeaders, apiKey: string) => headers['api-key'] === apiKey,
	unauthorized: () => ({
		status: 401,
		body: {
			error: {
				code: '401',
				message:
					'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
			},
		},
	}),
	notFound: () => notFound,
	maxEmbeddingInputs: {
		max: 2048,
		refusal: () => ({
			status: 400,
			body: error(
				'Too many inputs. The max number of inputs is 2048.',
				'invalid_request_error',
				null,
				null,
				400,
			),
		}),
	},
	rerank: false,
	rateLimit: {
		kind: 'refuse',
		headers: (waitMs) => ({
			'retry-after': String(Math.ceil(waitMs / 1000)),
			'retry-after-ms': String(Math.ceil(waitMs)),
			'x-ratelimit-remaining-requests': '0',
			'x-ratelimit-remaining-tokens': '9000',
		}),
		body: (waitMs) =>
			error(
				`Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after ${Math.ceil(waitMs / 1000)} seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit. (${goDuration(waitMs)})`,
				'',
				'429',
				null,
				429,
			),
	},
	contextError: (window, requested) => ({
		status: 400,
		body: error(
			`This model's maximum context length is ${window} tokens. However, your messages resulted in ${requested} tokens. Please reduce the length of the messages.`,
			'invalid_request_error',
			'context_length_exceeded',
			'messages',
			400,
		),
	}),
});
