/**
 * vLLM's OpenAI-compatible server (http://<host>:8000/v1). Sources, read 2026-12-06:
 *  - Reasoning parsers put the thinking in a `reasoning` field (it was `reasoning_content` before v0.10, still accepted)
 *    (https://docs.vllm.ai/en/v0.11.2/features/reasoning_outputs/, https://github.com/deepseek-ai/deepseek-harness/discussions/199).
 *  - Tool parsers stream tool calls as fragments by index, ids `chatcmpl-tool-<hex>`; usage with
 *    stream_options.include_usage in a last chunk with empty choices
 *    (https://docs.rs/openai-interface/0.12.0/src/openai_interface/chat/create/response.rs.html).
 *  - Errors are not wrapped in `error`: `{ object: "error", message, type: "BadRequestError", param, code: 400 }`, the
 *    shape Mistral's API shares (https://github.com/jackmpcollins/magentic/issues/276); a long prompt: "This model's
 *    maximum context length is N tokens. However, you requested M tokens (… in the messages, … in the completion)"
 *    (https://github.com/vllm-project/vllm/issues/20409, https://github.com/ruipeterpan/specreason/issues/4).
 *  - /rerank in Cohere's request shape (the Cohere SDK works against it), `results[{ index, document,
 *    relevance_score }]` (https://docs.vllm.ai/en/stable/examples/pooling/score/,
 *    https://docs.vast.ai/examples/embeddings/serving-rerankers-vllm); /models lists `owned_by: "vllm"` with
 *    `max_model_len`.
 *  - A server of one's own: no rate limit, requests queue in the scheduler.
 */
import { randomBytes } from 'node:crypto';

import { dialect } from './dialect';

const TYPES: Record<number, string> = {
	400: 'BadRequestError',
	401: 'Unauthorized',
	404: 'NotFoundError',
	422: 'BadRequestError',
	500: 'InternalServerError',
	503: 'ServiceUnavailableError',
};

const error = (
	message: string,
	_type: string,
	_code: string | null,
	param: string | null,
	status: number,
) => ({
	object: 'error',
	message,
	type: TYPES[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequestError'),
	param,
	code: status,
});

export const vllmProfile = dialect({
	name: 'vllm',
	label: 'vLLM',
	basePath: '/v1',
	models: { chat: 'Qwen/Qwen3-8B', embedding: 'BAAI/bge-m3' },
	idPrefix: 'chatcmpl-',
	toolCallId: () => `chatcmpl-tool-${randomBytes(16).toString('hex')}`,
	streamToolCalls: 'fragments',
	contentWithTools: null,
	finishWithTools: 'tool_calls',
	parallelToolCalls: true,
	reasoning: 'reasoning',
	streamUsage: 'include_usage',
	usageFields: () => ({ prompt_tokens_details: null }),
	error,
	modelList: (ids) => ({
		object: 'list',
		data: ids.map((id) => ({
			id,
			object: 'model',
			created: 1_733_000_000,
			owned_by: 'vllm',
			root: id,
			parent: null,
			max_model_len: 32768,
		})),
	}),
	rerankBody: (results) => ({
		id: `rerank-${randomBytes(8).toString('hex')}`,
		model: 'BAAI/bge-reranker-v2-m3',
		usage: { total_tokens: 0 },
		results: results.map(({ index, score }) => ({
			index,
			document: { text: '' },
			relevance_score: score,
		})),
	}),
	rerank: true,
	rateLimit: { kind: 'queue' },
	contextError: (window, requested) => ({
		status: 400,
		body: error(
			`This model's maximum context length is ${window} tokens. However, you requested ${requested} tokens (${requested} in the messages, 0 in the completion). Please reduce the length of the messages or completion.`,
			'',
			null,
			null,
			400,
		),
	}),
});
