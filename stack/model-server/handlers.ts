/**
 * The offline model server's endpoint handlers, called once a request has passed the checks and faults in routes.ts:
 * chat completions (plain or streamed), embeddings, rerank and the model list. Bodies come from `context.format`;
 * what the provider refuses, its reasoning, tool-call ids and context window from `context.profile`.
 */
import type { ServerResponse } from 'node:http';

import { DEFAULT_EMBEDDING_DIMENSIONS, embed, words } from './embeddings';
import type { StreamErrorFault } from './faults';
import { systemText } from './offline-model';
import type { RerankScore } from './openai-format';
import { promptTokens } from './profiles/dialect';
import type { Refusal } from './profiles/types';
import type { RequestLogEntry, RouteContext, Send } from './routes';
import { isSemanticEmbeddingModel, semanticEmbed } from './semantic-embeddings';
import { sleep, streamCompletion } from './streaming';
import { estimateTokens } from './tokens';
import type { ChatRequest, ModelReply } from './types';

/** Sends a profile's refusal (JSON, or plain text) and records its status in the request's log entry. */
export function sendRefusal(res: ServerResponse, entry: RequestLogEntry, refusal: Refusal): void {
	entry.status = refusal.status;
	if (refusal.headers) entry.headers = refusal.headers;
	if (entry.response === undefined && refusal.body !== undefined) entry.response = refusal.body;
	res.writeHead(refusal.status, {
		'content-type': refusal.text ? 'text/plain; charset=utf-8' : 'application/json',
		...(refusal.headers ?? {}),
	});
	res.end(refusal.text ? String(refusal.body) : JSON.stringify(refusal.body));
}

/** Holds a JSON answer back `ms`, sending blank lines meanwhile (DeepSeek's non-streamed answer under load). */
async function sendAfterKeepAlive(
	res: ServerResponse,
	entry: RequestLogEntry,
	ms: number,
	payload: unknown,
): Promise<void> {
	entry.status = 200;
	res.writeHead(200, { 'content-type': 'application/json' });
	const until = Date.now() + ms;
	while (Date.now() < until) {
		res.write('\n');
		await sleep(Math.min(200, Math.max(0, until - Date.now())));
	}
	res.end(JSON.stringify(payload));
}

/**
 * POST /chat/completions (what the profile refuses was answered by routing): 400 without messages; the profile's
 * context-window answer; else waits `latencyMs`, then answers (streamed when asked) as the profile's provider does.
 */
export async function handleChat(
	context: RouteContext,
	body: unknown,
	entry: RequestLogEntry,
	res: ServerResponse,
	send: Send,
	streamError?: StreamErrorFault,
): Promise<void> {
	const { format, settings, replies, profile, memory } = context;
	const request = body as ChatRequest;
	if (!Array.isArray(request?.messages) || request.messages.length === 0) {
		const message = "'messages' must be a non-empty array.";
		return send(400, format.error(message, 'invalid_request_error', null, 'messages', 400));
	}
	if (settings.contextWindow !== undefined) {
		const tokens = promptTokens(request);
		const tooLong =
			tokens > settings.contextWindow && profile.contextError(settings.contextWindow, tokens);
		if (tooLong) return sendRefusal(res, entry, tooLong);
	}
	if (settings.latencyMs) await sleep(settings.latencyMs);
	let reply: ModelReply = profile.shapeReply(await replies.next(request));
	const reasoning = profile.reasoning(request, reply);
	if (reasoning) reply = { ...reply, reasoning };
	const system = systemText(request.messages);
	if (system && memory.seenPrompts.has(system))
		reply = { ...reply, cachedPromptTokens: estimateTokens(system) };
	if (memory.seenPrompts.size > 1_000) memory.seenPrompts.clear();
	memory.seenPrompts.add(system);
	const model = entry.pathModel ?? (request.model || settings.chatModel);
	const toolCallsOf = (r: ModelReply) => {
		const calls = replies.toolCalls(r, profile.toolCallId);
		profile.remember(r, calls, memory);
		return calls;
	};
	const keepAliveMs = profile.rateLimit.kind === 'keepalive' ? entry.waitedMs : undefined;
	if (entry.stream) {
		entry.status = 200;
		return streamCompletion(res, request, reply, {
			format,
			model,
			intervalMs: settings.streamIntervalMs,
			toolCallsOf,
			keepAliveMs,
			...(context.logResponses ? { events: (entry.events = []) } : {}),
			streamError: streamError && {
				message: streamError.message ?? `Injected HTTP ${streamError.status}`,
				status: streamError.status,
			},
		});
	}
	if (streamError) {
		// Once the model has started, some providers (OpenRouter) report an error in a 200 body.
		const message = streamError.message ?? `Injected HTTP ${streamError.status}`;
		return send(200, format.streamError?.('', model, message, streamError.status) ?? {});
	}
	const payload = format.completion(model, request, reply, toolCallsOf(reply));
	if (context.logResponses) entry.response = payload;
	if (keepAliveMs) return sendAfterKeepAlive(res, entry, keepAliveMs, payload);
	send(200, payload);
}

/** Task prefixes nomic-embed-text is trained with: the model embeds the text after them. */
const NOMIC_PREFIX = /^(search_query|search_document|clustering|classification): /;

/**
 * POST /embeddings (the profile's refusals were answered by routing): waits `embeddingLatencyMs`,
 * then embeds `input` (a string, or an array of strings or of token arrays) with `dimensions` (default: the
 * server's); 400 when an input is empty or not text.
 */
export async function handleEmbeddings(
	context: RouteContext,
	body: Record<string, unknown>,
	entry: RequestLogEntry,
	send: Send,
): Promise<void> {
	const { format, settings, profile } = context;
	if (settings.embeddingLatencyMs) await sleep(settings.embeddingLatencyMs);
	const input = body?.input;
	const inputs: unknown[] =
		Array.isArray(input) && input.length && typeof input[0] !== 'number' ? input : [input];
	const texts = inputs.map((item) => (Array.isArray(item) ? item.join(' ') : item));
	if (texts.some((t) => typeof t !== 'string' || t.length === 0)) {
		const message = "'input' must be a non-empty string or an array of non-empty strings.";
		return send(400, format.error(message, 'invalid_request_error', null, 'input', 400));
	}
	const dimensions =
		typeof body.dimensions === 'number'
			? body.dimensions
			: (context.embeddingDimensions ?? DEFAULT_EMBEDDING_DIMENSIONS);
	const tokens = (texts as string[]).reduce((sum, t) => sum + estimateTokens(t), 0);
	const model =
		entry.pathModel ?? (typeof body.model === 'string' ? body.model : settings.embeddingModel);
	const seen = /nomic-embed-text/i.test(model)
		? (texts as string[]).map((t) => t.replace(NOMIC_PREFIX, ''))
		: (texts as string[]);
	const vectors = isSemanticEmbeddingModel(model)
		? await semanticEmbed(seen)
		: seen.map((text) => embed(text, dimensions));
	const base64 = body.encoding_format === 'base64' && !profile.ignoresEncodingFormat;
	send(200, format.embeddings(model, vectors, tokens, base64));
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
		return send(400, context.format.error(message, 'invalid_request_error', null, null, 400));
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
