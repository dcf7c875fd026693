/**
 * A reranker (cross-encoder) behind a `/rerank` endpoint of an OpenAI-compatible server, in the request shape
 * Cohere introduced and vLLM, Infinity and Jina serve: POST {baseUrl}/rerank { model, query, documents, top_n } →
 * { results: [{ index, relevance_score }] }. Every request runs under the caller's retry policy, signal and
 * per-attempt timeout; the API key goes in the Authorization header only and is redacted from errors.
 */
import { messageOf, withRetry } from '../retry';
import type { CallOptions } from './calls';
import type { LlmConfig } from './config';
import { estimateTokens, rateLimitGate } from './limit';
import { providerFetch } from './provider-fetch';
import { resolveProvider } from './providers';
import { redactError, redactText } from './redact';

/** An HTTP error answer of the rerank endpoint; `status` and `headers` let lib/retry classify it (429, Retry-After). */
class RerankHttpError extends Error {
	override name = 'RerankHttpError';

	constructor(
		readonly status: number,
		readonly headers: Headers,
		message: string,
	) {
		super(message);
	}
}

interface RerankResponse {
	results?: Array<{ index: number; relevance_score?: number; score?: number }>;
}

/** `usage` counts one model call per request; `rateLimit` gates each attempt under the rerank model's key. */
type RerankOptions = CallOptions;

/**
 * Scores `documents` for `query` with `model`: one score per document, in the documents' order (documents the
 * server leaves out score −Infinity). Throws RerankHttpError for an error answer (after retries for 429/5xx),
 * Error for a malformed answer; the API key is redacted.
 */
export async function rerankWithApi(
	llm: LlmConfig,
	model: string,
	query: string,
	documents: readonly string[],
	options: RerankOptions,
): Promise<number[]> {
	if (!documents.length) return [];
	const secrets = options.secrets ?? [llm.apiKey];
	const url = `${llm.baseUrl.replace(/\/+$/, '')}/rerank`;
	const characters = documents.reduce((sum, d) => sum + d.length, query.length);
	const gate = rateLimitGate(options, model, estimateTokens(characters));
	// The provider's fetch: its auth, and an error it answers with HTTP 200 (LM Studio) made a failure.
	const request = providerFetch(llm, fetch);
	try {
		const body = await withRetry(
			({ signal }) =>
				gate.run(async () => {
					const response = await request(url, {
						method: 'POST',
						signal,
						headers: {
							'content-type': 'application/json',
							...(llm.apiKey ? { authorization: `Bearer ${llm.apiKey}` } : {}),
						},
						body: JSON.stringify({ model, query, documents, top_n: documents.length }),
					});
					const text = await response.text();
					if (!response.ok) {
						const missing =
							response.status === 404 || response.status === 405
								? ` (${resolveProvider(llm).label} at ${llm.baseUrl} has no /rerank endpoint: connect a reranker sub-node or turn reranking off)`
								: '';
						throw new RerankHttpError(
							response.status,
							response.headers,
							`Rerank request failed: HTTP ${response.status}${missing} ${text.slice(0, 300)}`,
						);
					}
					return JSON.parse(text) as RerankResponse;
				}),
			options.policy,
			{
				signal: options.signal,
				timeoutMs: options.timeoutMs,
				beforeAttempt: gate.beforeAttempt,
				onRetry: ({ attempt, error, delayMs }) =>
					options.log?.(
						redactText(
							`rerank call failed (attempt ${attempt}), retrying in ${Math.round(delayMs)} ms: ${messageOf(error)}`,
							secrets,
						),
					),
			},
		);
		options.usage?.record(undefined, model);
		if (!Array.isArray(body.results))
			throw new Error(`The rerank endpoint ${url} answered without "results"`);
		const scores = documents.map(() => -Infinity);
		for (const result of body.results) {
			const score = result.relevance_score ?? result.score;
			if (
				Number.isInteger(result.index) &&
				result.index >= 0 &&
				result.index < documents.length &&
				typeof score === 'number'
			) {
				scores[result.index] = score;
			}
		}
		return scores;
	} catch (error) {
		throw redactError(error, secrets);
	}
}
