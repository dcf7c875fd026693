/**
 * Ollama's OpenAI compatibility (http://localhost:11434/v1). Sources, read 2026-12-06:
 *  - Supported fields include tools, response_format, stream_options.include_usage, reasoning_effort; unknown fields are
 *    ignored, not refused (https://docs.ollama.com/api/openai-compatibility).
 *  - Thinking models put their reasoning in a `reasoning` field (message and stream delta), `content` stays the answer
 *    (https://github.com/ollama/ollama/issues/15288, https://github.com/dirac-run/dirac/pull/227 — Ollama 0.34 stream
 *    capture).
 *  - Tool calls come whole (one delta with every call), `content` "" beside them, ids `call_<8 chars>`.
 *  - /v1/embeddings answers float or base64 (https://leeroopedia.com/index.php/Implementation:Ollama_Ollama_ToEmbeddingList);
 *    nomic-embed-text wants "search_document: " / "search_query: " task prefixes
 *    (https://huggingface.co/nomic-ai/nomic-embed-text-v1.5-GGUF/commit/f750a25aba2d24830d874eb4e1af468f37248a37).
 *  - Errors `{ error: { message, type: "api_error", … } }`; unknown routes are Go's plain-text "404 page not found".
 *  - A local server: no rate limit (requests queue) and no Retry-After; a prompt over num_ctx is truncated, not refused.
 *  - No /rerank.
 */
import { dialect, randomChars } from './dialect';

const error = (message: string, type: string, code: string | null, param: string | null) => ({
	error: { message, type: type === 'invalid_request_error' ? type : 'api_error', param, code },
});

export const ollamaProfile = dialect({
	name: 'ollama',
	label: 'Ollama',
	basePath: '/v1',
	models: { chat: 'qwen3:8b', embedding: 'nomic-embed-text' },
	idPrefix: 'chatcmpl-',
	fingerprint: 'fp_ollama',
	toolCallId: () => `call_${randomChars(8, 'abcdefghijklmnopqrstuvwxyz0123456789')}`,
	streamToolCalls: 'whole',
	contentWithTools: '',
	finishWithTools: 'tool_calls',
	parallelToolCalls: true,
	reasoning: 'reasoning',
	streamUsage: 'include_usage',
	error,
	modelList: (ids) => ({
		object: 'list',
		data: ids.map((id) => ({ id, object: 'model', created: 1_733_000_000, owned_by: 'library' })),
	}),
	notFound: () => ({ status: 404, body: '404 page not found', text: true }),
	rerank: false,
	rateLimit: { kind: 'queue' },
	contextError: () => undefined,
});
