/**
 * LM Studio's OpenAI-compatible server (http://localhost:1234/v1). Sources, read 2026-12-06:
 *  - Streams carry no usage, with or without stream_options.include_usage; answers that do not stream do
 *    (https://github.com/lmstudio-ai/lmstudio-bug-tracker/issues/676, https://github.com/lmstudio-ai/lmstudio-bug-tracker/issues/713).
 *  - Reasoning models answer with their `<think>…</think>` block in the text unless "separate reasoning_content" is on
 *    (https://github.com/deepseek-ai/DeepSeek-R1/issues/342, https://lmstudio.ai/docs/api/rest-api).
 *  - It ignores `encoding_format` and answers floats, which the OpenAI SDK's default base64 decodes into a quarter of
 *    the vector (https://github.com/openai/openai-node/pull/2150).
 *  - An endpoint it does not have answers HTTP 200 with `{"error": "Unexpected endpoint or method. (POST /…)"}`
 *    (https://github.com/lmstudio-ai/lmstudio-bug-tracker/issues/618, …/issues/2085).
 *  - Tool calls come whole; local models call one tool per turn here. No rate limit (requests queue); a prompt over the
 *    loaded context length is refused with llama.cpp's message.
 */
import { dialect, randomChars } from './dialect';

const error = (message: string) => ({ error: message });

export const lmstudioProfile = dialect({
	name: 'lmstudio',
	label: 'LM Studio',
	basePath: '/v1',
	models: { chat: 'qwen/qwen3-8b', embedding: 'text-embedding-nomic-embed-text-v1.5' },
	idPrefix: 'chatcmpl-',
	fingerprint: 'qwen/qwen3-8b',
	toolCallId: () => randomChars(9, '0123456789'),
	streamToolCalls: 'whole',
	contentWithTools: null,
	finishWithTools: 'tool_calls',
	parallelToolCalls: false,
	reasoning: 'think',
	streamUsage: 'none',
	error,
	modelList: (ids) => ({
		object: 'list',
		data: ids.map((id) => ({ id, object: 'model', owned_by: 'organization_owner' })),
	}),
	notFound: (method, path) => ({
		status: 200,
		body: { error: `Unexpected endpoint or method. (${method} ${path})` },
	}),
	ignoresEncodingFormat: true,
	rerank: false,
	rateLimit: { kind: 'queue' },
	contextError: (window, requested) => ({
		status: 400,
		body: {
			error: `The number of tokens to keep from the initial prompt (${requested}) is greater than the context length (${window}). Try to load the model with a larger context length, or provide a shorter input.`,
		},
	}),
});
