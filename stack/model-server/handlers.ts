/**
 * The offline model server's endpoint handlers, called once a request has passed the checks and faults in routes.ts:
 * chat completions (plain or streamed), embeddings, rerank and the model list. Bodies come from `context.format`.
 */
import type { ServerResponse } from 'node:http';

import { DEFAULT_EMBEDDING_DIMENSIONS, embed, words } from './embeddings';
import type { RerankScore } from './openai-format';
import type { RequestLogEntry, RouteContext, Send } from './routes';
import { sleep, streamCompletion } from './streaming';
import { estimateTokens } from './tokens';
import type { ChatRequest } from './types';

/** POST /chat/completions: 400 without messages; else waits `latencyMs`, then answers (streamed when asked). */
export async function handleChat(
	context: RouteContext,
	body: unknown,
	entry: RequestLogEntry,
	res: ServerResponse,
	send: Send,
): Promise<void> {
	const { format, settings, replies } = context;
	const request = body as ChatRequest;
	if (!Array.isArray(request?.messages) || request.messages.length === 0) {
		const message = "'messages' must be a non-empty array.";
		return send(400, format.error(message, 'invalid_request_error', null, 'messages'));
	}
	if (settings.latencyMs) await sleep(settings.latencyMs);
	const reply = await replies.next(request);
	if (entry.stream) {
		entry.status = 200;
		return streamCompletion(res, request, reply, {
			format,
			model: request.model || settings.chatModel,
			intervalMs: settings.streamIntervalMs,
			toolCallsOf: (r) => replies.toolCalls(r),
		});
	}
	const toolCalls = replies.toolCalls(reply);
	send(200, format.completion(request.model ?? settings.chatModel, request, reply, toolCalls));
}

/**
 * POST /embeddings: waits `embeddingLatencyMs`, then embeds `input` (a string, or an array of strings or of token
 * arrays) with `dimensions` (default: the server's); 400 when an input is empty or not text.
 */
export async function handleEmbeddings(
	context: RouteContext,
	body: Record<string, unknown>,
	send: Send,
): Promise<void> {
	const { format, settings } = context;
	if (settings.embeddingLatencyMs) await sleep(settings.embeddingLatencyMs);
	const input = body?.input;
	const inputs: unknown[] =
		Array.isArray(input) && input.length && typeof input[0] !== 'number' ? input : [input];
	const texts = inputs.map((item) => (Array.isArray(item) ? item.join(' ') : item));
	if (texts.some((t) => typeof t !== 'string' || t.length === 0)) {
		const message = "'input' must be a non-empty string or an array of non-empty strings.";
		return send(400, format.error(message, 'invalid_request_error', null, 'input'));
	}
	const dimensions =
		typeof body.dimensions === 'number'
			? body.dimensions
			: (context.embeddingDimensions ?? DEFAULT_EMBEDDING_DIMENSIONS);
	const tokens = (texts as string[]).reduce((sum, t) => sum + estimateTokens(t), 0);
	const model = typeof body.model === 'string' ? body.model : settings.embeddingModel;
	const vectors = (texts as string[]).map((text) => embed(text, dimensions));
	send(200, format.embeddings(model, vectors, tokens, body.encoding_format === 'base64'));
}

/** POST /rerank (Cohere's request shape): 400 unless `query` is a string and `documents` an array of strings. */
export function handleRerank(context: RouteContext, body: Record<string, unknown>, send: Send) {
	const { query, documents, top_n: topN } = body ?? {};
	if (
		typeof query !== 'string' ||
		!Array.isArray(documents) ||
		documents.some((d) => typeof d !== 'string')
	) {
		const message = "'query' must be a string and 'documents' an array of strings.";
		return send(400, context.format.error(message, 'invalid_request_error'));
	}
	const results = rerank(query, documents as string[]);
	send(200, context.format.rerank(results.slice(0, typeof topN === 'number' ? topN : undefined)));
}

/** GET /models: the chat and the embedding model. */
export function handleModels(context: RouteContext, send: Send): void {
	send(200, context.format.models([context.settings.chatModel, context.settings.embeddingModel]));
}

/**
 * The stand-in reranker: a document scores the share of the query's words (letters and digits, lower-cased) it
 * contains, plus a little for matching query words in order; best first. Deterministic; not a cross-encoder.
 */
function rerank(query: string, documents: string[]): RerankScore[] {
	const asked = [...new Set(words(query))];
	const results = documents.map((document, index) => {
		const text = words(document).join(' ');
		const have = new Set(words(document));
		const share = asked.length ? asked.filter((w) => have.has(w)).length / asked.length : 0;
		const pairs = asked.slice(1).filter((w, i) => text.includes(`${asked[i]} ${w}`)).length;
		return { index, score: share + (0.1 * pairs) / Math.max(1, asked.length - 1) };
	});
	return results.sort((a, b) => b.score - a.score || a.index - b.index);
}
