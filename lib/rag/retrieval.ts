/**
 * Retrieval in three modes — vector (cosine similarity in Chroma), keyword (BM25, see keyword-index) and hybrid
 * (both lists fused: by default a convex combination of normalised scores, Bruch, Gai & Ingber, "An Analysis of
 * Fusion Functions for Hybrid Retrieval", ACM TOIS 2023; or Reciprocal Rank Fusion, Cormack, Clarke & Büttcher,
 * SIGIR 2009) — with a metadata filter applied in every mode, an optional minimum cosine similarity, optional
 * reranking of the candidates (a cross-encoder behind a /rerank API, or any reranker), and optional MMR re-ranking
 * for diversity (Carbonell & Goldstein, 1998, via LangChain's maximalMarginalRelevance).
 */
import { maximalMarginalRelevance } from '@langchain/core/utils/math';

import { embedTexts, type CallOptions, type DocumentEmbedder } from '../llm';
import {
	contentAttribute,
	GEN_AI,
	GEN_AI_OPERATION,
	inSpan,
	OPENAGENTS,
	recordsContent,
} from '../tracing';
import type { Where } from './chroma-http';
import type { KnowledgeBaseCollection, QueryMatch, StoredChunk } from './chroma-store';
import { RagError } from './errors';
import { keywordIndexFor } from './keyword-index';
import type { Metadata } from './metadata';

const SEARCH_MODES = ['hybrid', 'vector', 'keyword'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

const FUSIONS = ['convex', 'rrf'] as const;
/** How hybrid mode fuses the two rankings: convex combination of normalised scores, or Reciprocal Rank Fusion. */
export type Fusion = (typeof FUSIONS)[number];

/** Reciprocal Rank Fusion's k: 60, as in Cormack et al. (2009). */
const DEFAULT_RRF_K = 60;

/**
 * The keyword ranking's share of hybrid's score, per fusion. Convex: chosen on question set a (npm READMEs) with
 * the hashing and a semantic embedding model, confirmed on set b (The Cargo Book) — see the README's retrieval
 * evaluation. RRF: equal shares.
 */
export const DEFAULT_KEYWORD_WEIGHT: Record<Fusion, number> = { convex: 0.8, rrf: 0.5 };

/** Scores documents for a query; a higher score is more relevant. */
export interface Reranker {
	/** One score per document, in the documents' order. */
	rerank(query: string, documents: string[]): Promise<number[]>;
}

export interface RetrievalOptions {
	/** Chunks to return (default 4). */
	topK?: number;
	/** 'hybrid' (default), 'vector' or 'keyword'. */
	mode?: SearchMode;
	/**
	 * Hybrid only: the fusion ('convex', default, or 'rrf'), the keyword list's share of the fused score, 0…1 (default
	 * DEFAULT_KEYWORD_WEIGHT of the fusion), and RRF's k (default 60; 'rrf' only).
	 */
	hybrid?: { fusion?: Fusion; keywordWeight?: number; rrfK?: number };
	/** Chroma metadata filter, e.g. { source: "guide.md" } or { $and: [...] }; applies in every mode. */
	where?: Where;
	/** Drop chunks whose cosine similarity to the query is below this (−1…1, default none); applies in every mode. */
	minScore?: number;
	/** Reorders the best `candidates` chunks (default max(20, 4 × topK)) by the reranker's scores. */
	rerank?: { reranker: Reranker; candidates?: number };
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
	/**
	 * The score the chunks are ranked by, higher is better: cosine similarity (vector), BM25 (keyword), the fused
	 * score (hybrid: 0…1 for convex, the RRF score for rrf), or the reranker's score when reranked.
	 */
	score: number;
	/** Cosine similarity to the query, −1…1, when the query was embedded. */
	vectorScore?: number;
	/** BM25 score, when the chunk matched query terms. */
	keywordScore?: number;
	/** The reranker's score, when reranked. */
	rerankScore?: number;
	/** All stored metadata, including user metadata. */
	metadata: Metadata;
}

/** Throws RagError INVALID_OPTIONS for out-of-range settings. */
function checkRetrieval(options: RetrievalOptions): void {
	const { topK = 4, minScore, mmr, mode = 'hybrid', hybrid, rerank } = options;
	const fail = (message: string) => {
		throw new RagError('INVALID_OPTIONS', message);
	};
	if (!Number.isInteger(topK) || topK < 1 || topK > 1000)
		fail(`Top K must be a whole number from 1 to 1000, got ${topK}`);
	if (!SEARCH_MODES.includes(mode))
		fail(`Search mode must be one of ${SEARCH_MODES.join(', ')}, got "${mode}"`);
	if (minScore !== undefined && !(minScore >= -1 && minScore <= 1))
		fail(`Minimum score must be between -1 and 1, got ${minScore}`);
	if (mmr?.lambda !== undefined && !(mmr.lambda >= 0 && mmr.lambda <= 1))
		fail(`MMR diversity (lambda) must be between 0 and 1, got ${mmr.lambda}`);
	if (mmr?.fetchK !== undefined && (!Number.isInteger(mmr.fetchK) || mmr.fetchK < topK))
		fail(`MMR fetch K must be a whole number ≥ top K (${topK}), got ${mmr.fetchK}`);
	if (hybrid?.fusion !== undefined && !FUSIONS.includes(hybrid.fusion))
		fail(`Fusion must be one of ${FUSIONS.join(', ')}, got "${hybrid.fusion}"`);
	const weight = hybrid?.keywordWeight;
	if (weight !== undefined && !(weight >= 0 && weight <= 1))
		fail(`Keyword weight must be between 0 and 1, got ${weight}`);
	const rrfK = hybrid?.rrfK;
	if (rrfK !== undefined && !(Number.isFinite(rrfK) && rrfK >= 0))
		fail(`RRF k must be a number ≥ 0, got ${rrfK}`);
	const candidates = rerank?.candidates;
	if (candidates !== undefined && (!Number.isInteger(candidates) || candidates < topK))
		fail(`Rerank candidates must be a whole number ≥ top K (${topK}), got ${candidates}`);
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

/**
 * Reciprocal Rank Fusion of ranked id lists: score(d) = Σ weightᵢ / (k + rankᵢ(d)), ranks from 1; lists of weight 0
 * are left out. Returns ids with their fused score, best first (ties keep the order of first appearance).
 */
export function reciprocalRankFusion(
	lists: ReadonlyArray<{ ids: readonly string[]; weight: number }>,
	k = DEFAULT_RRF_K,
): Array<{ id: string; score: number }> {
	const scores = new Map<string, number>();
	for (const { ids, weight } of lists) {
		if (weight <= 0) continue; // a list with no weight contributes nothing, not even its members
		ids.forEach((id, rank) => scores.set(id, (scores.get(id) ?? 0) + weight / (k + rank + 1)));
	}
	return [...scores].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score);
}

/** The theoretical minima the convex combination normalises from: BM25 ≥ 0, cosine similarity ≥ −1. */
const SCORE_FLOOR = { keyword: 0, vector: -1 } as const;

/**
 * Convex combination of normalised scores (Bruch, Gai & Ingber, ACM TOIS 2023): score(d) = w · φ(bm25(d)) +
 * (1 − w) · φ(cos(d)), each score normalised by their "theoretical min–max", φ(s) = (s − floor) / (max − floor)
 * with floor the score's theoretical minimum (SCORE_FLOOR) and max the best score among the candidates. Unlike
 * min–max over the candidates, this keeps a flat list flat: a vector list whose cosines barely differ adds about
 * the same to every chunk instead of stretching those differences to 0…1 — so weak embeddings cannot push a strong
 * keyword hit down. A candidate without a score (beyond the keyword list, or no stored embedding) gets the floor.
 * Returns ids with their fused score (0…1), best first (ties keep the candidates' order).
 */
export function convexCombination(
	candidates: ReadonlyArray<{ id: string; keywordScore?: number; vectorScore?: number }>,
	keywordWeight: number,
): Array<{ id: string; score: number }> {
	const normaliser = (scores: Array<number | undefined>, floor: number) => {
		const max = Math.max(floor, ...scores.map((s) => s ?? floor));
		return (s: number | undefined) =>
			max > floor && s !== undefined ? (s - floor) / (max - floor) : 0;
	};
	const keyword = normaliser(
		candidates.map((c) => c.keywordScore),
		SCORE_FLOOR.keyword,
	);
	const vector = normaliser(
		candidates.map((c) => c.vectorScore),
		SCORE_FLOOR.vector,
	);
	return candidates
		.map((c) => ({
			id: c.id,
			score: keywordWeight * keyword(c.keywordScore) + (1 - keywordWeight) * vector(c.vectorScore),
		}))
		.sort((a, b) => b.score - a.score);
}

/** Cosine similarity, −1…1 (0 when either vector is all zeros). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
	let dot = 0;
	let na = 0;
	let nb = 0;
	for (let i = 0; i < a.length; i++) {
		dot += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

interface Candidate extends StoredChunk {
	score: number;
	vectorScore?: number;
	keywordScore?: number;
	rerankScore?: number;
}

function toRetrieved({
	id,
	text,
	metadata: m,
	score,
	vectorScore,
	keywordScore,
	rerankScore,
}: Candidate): RetrievedChunk {
	return {
		id,
		text,
		source: String(m.source ?? ''),
		chunkIndex: Number(m.chunkIndex ?? 0),
		start: Number(m.start ?? 0),
		end: Number(m.end ?? 0),
		headingPath: String(m.headingPath ?? ''),
		...(m.page !== undefined ? { page: Number(m.page) } : {}),
		score,
		...(vectorScore !== undefined ? { vectorScore } : {}),
		...(keywordScore !== undefined ? { keywordScore } : {}),
		...(rerankScore !== undefined ? { rerankScore } : {}),
		metadata: m,
	};
}

/**
 * The best chunks for `query`, best first, traced as a `retrieval {knowledge base}` span (mode, top-k, scores,
 * sources; the query only with Record Content). Embeds the query (under options.embedding's retry policy) unless the
 * mode is keyword without a minimum score or MMR. Throws RagError INVALID_OPTIONS for bad options or an empty
 * query, STORE_* for Chroma failures; reranker and embedding errors as they are thrown.
 */
export function retrieve(
	kb: KnowledgeBaseCollection,
	embedder: DocumentEmbedder,
	query: string,
	options: RetrievalOptions & { embedding: CallOptions },
): Promise<RetrievedChunk[]> {
	return inSpan(
		`${GEN_AI_OPERATION.retrieval} ${kb.name}`,
		{
			[GEN_AI.operationName]: GEN_AI_OPERATION.retrieval,
			[GEN_AI.dataSourceId]: kb.name,
			[OPENAGENTS.kbMode]: options.mode ?? 'hybrid',
			[OPENAGENTS.kbTopK]: options.topK ?? 4,
		},
		async (span) => {
			if (recordsContent()) span.setAttribute(GEN_AI.retrievalQueryText, contentAttribute(query));
			const chunks = await retrieveChunks(kb, embedder, query, options);
			span.setAttributes({
				[OPENAGENTS.kbScores]: chunks.map((c) => c.score),
				[OPENAGENTS.kbSources]: chunks.map((c) => c.source),
			});
			return chunks;
		},
	);
}

async function retrieveChunks(
	kb: KnowledgeBaseCollection,
	embedder: DocumentEmbedder,
	query: string,
	options: RetrievalOptions & { embedding: CallOptions },
): Promise<RetrievedChunk[]> {
	checkRetrieval(options);
	if (!query.trim()) throw new RagError('INVALID_OPTIONS', 'The query is empty');
	const plan = searchPlan(options);
	const queryEmbedding = plan.needsVectors
		? (await embedTexts(embedder, [query], options.embedding)).vectors[0]
		: undefined;
	const found = await search(kb, query, queryEmbedding, plan, options);
	const vectorScoreOf = vectorScores(found, queryEmbedding);
	let pool = candidatesOf(found, rank(found, plan, vectorScoreOf, options), vectorScoreOf);
	if (options.minScore !== undefined)
		pool = pool.filter((c) => (c.vectorScore ?? -Infinity) >= options.minScore!);
	pool = pool.slice(0, plan.candidates);
	if (options.rerank && pool.length) pool = await rerankPool(query, pool, options.rerank.reranker);
	if (options.mmr && queryEmbedding) pool = diversify(queryEmbedding, pool, options.mmr, plan.topK);
	return pool.slice(0, plan.topK).map(toRetrieved);
}

/** What one retrieval searches, and how deep. */
interface SearchPlan {
	mode: SearchMode;
	topK: number;
	/** How many candidates the later steps (minimum score, reranking, MMR) choose from. */
	candidates: number;
	/** How deep each ranked list goes. */
	depth: number;
	/** Hybrid's fusion and the keyword list's share of the score, 0…1. */
	fusion: Fusion;
	keywordWeight: number;
	useVector: boolean;
	useKeyword: boolean;
	/** Whether the query is embedded: for the vector list, the minimum score or MMR. */
	needsVectors: boolean;
}

function searchPlan(options: RetrievalOptions): SearchPlan {
	const { mode = 'hybrid', topK = 4, mmr, rerank } = options;
	const candidates = Math.max(
		topK,
		mmr ? (mmr.fetchK ?? Math.max(20, 4 * topK)) : 0,
		rerank ? (rerank.candidates ?? Math.max(20, 4 * topK)) : 0,
	);
	// Hybrid fuses deeper lists than it returns: a chunk ranked lower in both lists can still rise (fusion's point).
	const depth = mode === 'hybrid' ? Math.max(2 * candidates, 40) : candidates;
	const fusion = options.hybrid?.fusion ?? 'convex';
	const keywordWeight =
		mode === 'hybrid'
			? (options.hybrid?.keywordWeight ?? DEFAULT_KEYWORD_WEIGHT[fusion])
			: mode === 'keyword'
				? 1
				: 0;
	// A ranking with no weight in the result is not searched at all.
	const [useVector, useKeyword] = [keywordWeight < 1, keywordWeight > 0];
	const needsVectors = useVector || options.minScore !== undefined || !!mmr;
	return {
		mode,
		topK,
		candidates,
		depth,
		fusion,
		keywordWeight,
		useVector,
		useKeyword,
		needsVectors,
	};
}

/** The vector matches and keyword hits (both filtered by `where`), and every chunk either list found, by id. */
interface Found {
	vectorMatches: QueryMatch[];
	keywordScores: Map<string, number>;
	/** Keyword hits that pass the filter, best first, at most the plan's depth. */
	keywordIds: string[];
	known: Map<string, StoredChunk>;
}

async function search(
	kb: KnowledgeBaseCollection,
	query: string,
	queryEmbedding: number[] | undefined,
	plan: SearchPlan,
	{ where, mmr }: RetrievalOptions,
): Promise<Found> {
	const { depth } = plan;
	const [vectorMatches, keywordHits] = await Promise.all([
		plan.useVector ? kb.query(queryEmbedding!, depth, where, !!mmr) : [],
		plan.useKeyword
			? keywordIndexFor(kb).then((index) => index.search(query, where ? 5 * depth : depth))
			: [],
	]);
	const keywordScores = new Map(keywordHits.map((hit) => [hit.id, hit.score]));
	const known = new Map<string, StoredChunk>(vectorMatches.map((m) => [m.id, m]));

	// Keyword hits the vector list did not bring: read them from Chroma, which also applies the metadata filter.
	const unread = keywordHits.map((hit) => hit.id).filter((id) => !known.has(id));
	if (unread.length) {
		const read = await kb.getByIds(unread, {
			where,
			documents: true,
			embeddings: plan.needsVectors,
		});
		for (const chunk of read) known.set(chunk.id, chunk);
	}
	const keywordIds = keywordHits
		.map((hit) => hit.id)
		.filter((id) => known.has(id))
		.slice(0, depth);
	return { vectorMatches, keywordScores, keywordIds, known };
}

/**
 * Cosine similarity to the query of a chunk either list found: Chroma's, or computed once from its stored embedding
 * (a chunk only the keyword list found).
 */
function vectorScores(
	{ vectorMatches, known }: Found,
	queryEmbedding: number[] | undefined,
): (id: string) => number | undefined {
	const scores = new Map<string, number | undefined>(vectorMatches.map((m) => [m.id, m.score]));
	return (id) => {
		if (!scores.has(id)) {
			const embedding = known.get(id)?.embedding;
			scores.set(
				id,
				queryEmbedding && embedding?.length ? cosine(queryEmbedding, embedding) : undefined,
			);
		}
		return scores.get(id);
	};
}

/** The mode's ranking: by cosine similarity, by BM25, or both lists fused (convex combination or RRF). */
function rank(
	found: Found,
	{ mode, fusion, keywordWeight }: SearchPlan,
	vectorScoreOf: (id: string) => number | undefined,
	options: RetrievalOptions,
): Array<{ id: string; score: number }> {
	const { vectorMatches, keywordScores, keywordIds } = found;
	if (mode === 'vector') return vectorMatches.map((m) => ({ id: m.id, score: m.score }));
	if (mode === 'keyword') return keywordIds.map((id) => ({ id, score: keywordScores.get(id)! }));
	// A list with no weight is not searched (searchPlan): its members do not become candidates.
	const ids = [...new Set([...vectorMatches.map((m) => m.id), ...keywordIds])];
	if (fusion === 'convex')
		return convexCombination(
			ids.map((id) => ({
				id,
				keywordScore: keywordScores.get(id),
				vectorScore: vectorScoreOf(id),
			})),
			keywordWeight,
		);
	return reciprocalRankFusion(
		[
			{ ids: vectorMatches.map((m) => m.id), weight: 1 - keywordWeight },
			{ ids: keywordIds, weight: keywordWeight },
		],
		options.hybrid?.rrfK ?? DEFAULT_RRF_K,
	);
}

/**
 * The ranked chunks with their scores. A chunk only the keyword list found gets its cosine similarity from its stored
 * embedding, so the minimum score applies to it too.
 */
function candidatesOf(
	{ keywordScores, known }: Found,
	ranked: Array<{ id: string; score: number }>,
	vectorScoreOf: (id: string) => number | undefined,
): Candidate[] {
	return ranked.map(({ id, score }) => ({
		...known.get(id)!,
		score,
		vectorScore: vectorScoreOf(id),
		keywordScore: keywordScores.get(id),
	}));
}

/** The pool reordered by the reranker's scores, which become the chunks' scores. */
async function rerankPool(
	query: string,
	pool: Candidate[],
	reranker: Reranker,
): Promise<Candidate[]> {
	const scores = await reranker.rerank(
		query,
		pool.map((c) => c.text),
	);
	return pool
		.map((c, i) => ({ ...c, score: scores[i], rerankScore: scores[i] }))
		.sort((a, b) => b.score - a.score);
}

/** The `topK` chunks MMR picks from the pool, in pick order. */
function diversify(
	queryEmbedding: number[],
	pool: Candidate[],
	mmr: NonNullable<RetrievalOptions['mmr']>,
	topK: number,
): Candidate[] {
	const picked = mmrSelect(
		queryEmbedding,
		pool.map((c) => c.embedding ?? []),
		mmr.lambda ?? 0.5,
		topK,
	);
	return picked.map((i) => pool[i]);
}
