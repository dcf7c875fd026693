/**
 * The server's own dialect (no `profile` option): OpenAI's wire format as openai-format.ts writes it, every request
 * accepted, Cohere's /rerank, a 429 with Retry-After, retry-after-ms and OpenAI's x-ratelimit-* headers. Tests that do
 * not name a provider talk to this.
 */
import { rateLimitError } from '../faults';
import { openAiFormat } from '../openai-format';
import { bearer, routeUnder } from './dialect';
import type { ProviderProfile } from './types';

export const defaultProfile: ProviderProfile = {
	name: 'default',
	label: 'offline stand-in',
	format: openAiFormat,
	basePath: '/v1',
	models: { chat: 'offline-chat', embedding: 'offline-embedding' },
	resolve: (path) => ({ route: routeUnder('/v1', path) }),
	authorized: bearer,
	unauthorized: () => ({
		status: 401,
		body: openAiFormat.error(
			'Incorrect API key provided.',
			'invalid_request_error',
			'invalid_api_key',
		),
	}),
	notFound: (_method, path) => ({
		status: 404,
		body: openAiFormat.error(`Unknown path ${path}`, 'invalid_request_error'),
	}),
	refuseChat: () => undefined,
	refuseEmbeddings: () => undefined,
	ignoresEncodingFormat: false,
	rerank: true,
	reasoning: () => undefined,
	shapeReply: (reply) => reply,
	remember: () => undefined,
	rateLimit: {
		kind: 'refuse',
		headers: (waitMs, limit) => ({
			'retry-after': String(Math.ceil(waitMs / 1000)),
			'retry-after-ms': String(waitMs),
			'x-ratelimit-limit-requests': String(limit.requestsPerMinute),
			'x-ratelimit-remaining-requests': '0',
			'x-ratelimit-reset-requests': `${waitMs}ms`,
		}),
		body: (waitMs, limit) =>
			rateLimitError(openAiFormat, limit, { 'retry-after-ms': String(waitMs) }),
	},
	contextError: (window, requested) => ({
		status: 400,
		body: openAiFormat.error(
			`This model's maximum context length is ${window} tokens. However, your messages resulted in ${requested} tokens.`,
			'invalid_request_error',
			'context_length_exceeded',
			'messages',
		),
	}),
};
