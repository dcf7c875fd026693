/**
 * Mistral (https://api.mistral.ai/v1). Sources, read 2026-12-06:
 *  - Fields it does not document are refused with 422 `extra_forbidden` — stream_options, max_completion_tokens,
 *    store, and `reasoning_content` on assistant messages (https://github.com/mistralai/platform-docs-public/issues/7,
 *    https://github.com/dnakov/anon-kode/issues/53, https://github.com/editor-code-assistant/eca/issues/231,
 *    https://github.com/charmbracelet/crush/issues/1590).
 *  - Tool-call ids must be 9 letters and digits, else 400 "Tool call id was … but must be a-z, A-Z, 0-9, with a length
 *    of 9." (https://github.com/nearai/ironclaw/issues/1241, https://github.com/langchain-ai/langchain/pull/24668).
 *  - Magistral models answer with typed content: `thinking` parts, then text, also when streaming
 *    (https://github.com/spring-projects/spring-ai/pull/5020, https://github.com/braintrustdata/braintrust-sdk-javascript/issues/1857,
 *    https://docs.mistral.ai/resources/cookbooks/mistral-reasoning).
 *  - Streams put usage on the last chunk, unasked.
 *  - Rate limits: x-ratelimit-limit-req-minute / -remaining-req-minute and token equivalents on answers; 429 with
 *    Retry-After and `{"object":"error","message":"Requests rate limit exceeded","type":"rate_limited","code":"1300"}`
 *    (https://github.com/mistralai/client-ts/issues/169, https://github.com/earendil-works/pi/issues/9815).
 *  - Errors `{ object: "error", message, type, param, code }`; no /rerank.
 */
import { dialect, randomChars } from './dialect';
import type { Refusal } from './types';

const error = (message: string, type: string, code: string | null, param: string | null) => ({
	object: 'error',
	message,
	type,
	param,
	code,
});

/** Request fields Mistral's chat completions take; any other is refused. */
const ALLOWED = new Set([
	'model',
	'messages',
	'temperature',
	'top_p',
	'max_tokens',
	'stream',
	'stop',
	'random_seed',
	'response_format',
	'tools',
	'tool_choice',
	'presence_penalty',
	'frequency_penalty',
	'n',
	'prediction',
	'parallel_tool_calls',
	'prompt_mode',
	'safe_prompt',
	'reasoning_effort',
	'prompt_cache_key',
	'metadata',
]);

const extraForbidden = (loc: Array<string | number>, input: unknown): Refusal => ({
	status: 422,
	body: {
		object: 'error',
		message: {
			detail: [{ type: 'extra_forbidden', loc, msg: 'Extra inputs are not permitted', input }],
		},
		type: 'invalid_request_error',
		param: null,
		code: null,
	},
});

export const mistralProfile = dialect({
	name: 'mistral',
	label: 'Mistral',
	basePath: '/v1',
	models: { chat: 'magistral-medium-latest', embedding: 'mistral-embed' },
	idPrefix: '',
	toolCallId: () => randomChars(9),
	streamToolCalls: 'whole',
	contentWithTools: '',
	finishWithTools: 'tool_calls',
	parallelToolCalls: true,
	reasoning: 'mistral',
	streamUsage: 'final-chunk',
	error,
	errorType: (status) =>
		status === 429 ? 'rate_limited' : status >= 500 ? 'internal_error' : 'invalid_request_error',
	refuseChat(request) {
		for (const key of Object.keys(request))
			if (!ALLOWED.has(key)) return extraForbidden(['body', key], request[key]);
		for (const [i, message] of request.messages.entries()) {
			if ('reasoning_content' in message)
				return extraForbidden(['body', 'messages', i, 'assistant', 'reasoning_content'], '');
			for (const call of message.tool_calls ?? [])
				if (!/^[A-Za-z0-9]{9}$/.test(call.id))
					return {
						status: 400,
						body: error(
							`Tool call id was ${call.id} but must be a-z, A-Z, 0-9, with a length of 9.`,
							'invalid_function_call',
							'3280',
							null,
						),
					};
		}
		return undefined;
	},
	refuseEmbeddings(body) {
		if ('dimensions' in body) return extraForbidden(['body', 'dimensions'], body.dimensions);
		return undefined;
	},
	modelList: (ids) => ({
		object: 'list',
		data: ids.map((id) => ({
			id,
			object: 'model',
			created: 1_733_000_000,
			owned_by: 'mistralai',
			capabilities: {
				completion_chat: !id.includes('embed'),
				function_calling: !id.includes('embed'),
				vision: false,
			},
			max_context_length: 40960,
		})),
	}),
	rerank: false,
	rateLimit: {
		kind: 'refuse',
		headers: (waitMs, limit) => ({
			'retry-after': String(Math.ceil(waitMs / 1000)),
			'x-ratelimit-limit-req-minute': String(limit.requestsPerMinute),
			'x-ratelimit-remaining-req-minute': '0',
			'x-ratelimit-limit-tokens-minute': '5000000',
			'x-ratelimit-remaining-tokens-minute': '4999000',
		}),
		body: () => error('Requests rate limit exceeded', 'rate_limited', '1300', null),
	},
	contextError: (window, requested) => ({
		status: 400,
		body: error(
			`Prompt contains ${requested} tokens and 0 draft tokens, too large for model with ${window} maximum context length`,
			'invalid_request_error',
			null,
			null,
		),
	}),
});
