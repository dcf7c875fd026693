/**
 * Retrieval: top-k cosine similarity in Chroma with optional metadata filter, minimum score and MMR re-ranking
 * (Carbonell & Goldstein, 1998, via LangChain's maximalMarginalRelevance).
 */
import { maximalMarginalRelevance } from '@langchain/core/utils/math';
import type { Where } from 'chromadb';

import { embedTexts, type CallOptions, type DocumentEmbedder } from '../llm';
import type { KnowledgeBaseCollection, QueryMatch } from './chroma-store';
import { RagError } from './errors';
import type { Metadata } from './metadata';

export interface RetrievalOptions {
	/** Chunks to return (default 4). */
	topK?: number;
	/** Chroma metadata filter, e.g. { source: "guide.md" } or { $and: [...] }. */
	where?: Where;
	/** Drop chunks whose cosine similarity is below this (−1…1, default none). */
	minScore?: number;
	/** Re-rank for diversity: λ = 1 pure relevance, 0 pure diversity; fetchK candidates (default 4 × topK, ≥ 20). */
	mmr?: { lambda?: number; fetchK?: number };
}

export interface RetrievedChunk {
	id: string;
	text: string;
	source: string;
	chunkIndex: number;
	start: number;
	end: number;
	headingPath: string;
	page?: number;
	/** Cosine similarity to the query, −1…1 (higher is closer). */
	score: number;
	/** All stored metadata, including user metadata. */
	metadata: Metadata;
}

function toRetrieved(match: QueryMatch): RetrievedChunk {
	const m = match.metadata;
	return {
		id: match.id,
		text: match.text,
		source: String(m.source ?? ''),
		chunkIndex: Number(m.chunkIndex ?? 0),
		start: Number(m.start ?? 0),
		end: Number(m.end ?? 0),
		headingPath: String(m.headingPath ?? ''),
		...(m.page !== undefined ? { page: Number(m.page) } : {}),
		score: match.score,
		metadata: m,
	};
}

/** Throws RagError INVALID_OPTIONS for out-of-range settings. */
export function checkRetrieval(options: RetrievalOptions): void {
	const { topK = 4, minScore, mmr } = options;
	if (!Number.isInteger(topK) || topK < 1 || topK > 1000)
		throw new RagError(
			'INVALID_OPTIONS',
			`Top K must be a whole number from 1 to 1000, got ${topK}`,
		);
	if (minScore !== undefined && !(minScore >= -1 && minScore <= 1))
		throw new RagError(
			'INVALID_OPTIONS',
			`Minimum score must be between -1 and 1, got ${minScore}`,
		);
	if (mmr?.lambda !== undefined && !(mmr.lambda >= 0 && mmr.lambda <= 1))
		throw new RagError(
			'INVALID_OPTIONS',
			`MMR diversity (lambda) must be between 0 and 1, got ${mmr.lambda}`,
		);
	if (mmr?.fetchK !== undefined && (!Number.isInteger(mmr.fetchK) || mmr.fetchK < topK)) {
		throw new RagError(
			'INVALID_OPTIONS',
			`MMR fetch K must be a whole number ≥ top K (${topK}), got ${mmr.fetchK}`,
		);
	}
}

/**
 * Indices of `k` candidates picked by MMR: each pick maximises λ·sim(query, d) − (1−λ)·max sim(d, picked).
 * Returns at most candidates.length indices, in pick order.
 */
export function mmrSelect(
	queryEmbedding: number[],
	candidates: number[][],
	lambda: number,
	k: number,
): number[] {
	if (!candidates.length) return [];
	return maximalMarginalRelevance(
		queryEmbedding,
		candidates,
		lambda,
		Math.min(k, candidates.length),
	);
}

/** Embeds the query (under options.embedding's retry policy) and returns the best chunks, best first. */
export async function retrieve(
	kb: KnowledgeBaseCollection,
	embedder: DocumentEmbedder,
	query: string,
	options: RetrievalOptions & { embedding: CallOptions },
): Promise<RetrievedChunk[]> {
	checkRetrieval(options);
	if (!query.trim()) throw new RagError('INVALID_OPTIONS', 'The query is empty');
	const topK = options.topK ?? 4;
	const { vectors } = await embedTexts(embedder, [query], options.embedding);
	const queryEmbedding = vectors[0];
	const fetchK = options.mmr ? (options.mmr.fetchK ?? Math.max(20, 4 * topK)) : topK;
	let matches = await kb.query(queryEmbedding, fetchK, options.where, !!options.mmr);
	if (options.minScore !== undefined) matches = matches.filter((m) => m.score >= options.minScore!);
	if (options.mmr) {
		const picked = mmrSelect(
			queryEmbedding,
			matches.map((m) => m.embedding ?? []),
			options.mmr.lambda ?? 0.5,
			topK,
		);
		matches = picked.map((i) => matches[i]);
	}
	return matches.slice(0, topK).map(toRetrieved);
}
