/**
 * Retrieval evaluation: how well each search mode ranks the sources that answer a set of questions, as in
 * Manning, Raghavan & Schütze, *Introduction to Information Retrieval* (2008), ch. 8: hit@k (success at k) and the
 * mean reciprocal rank (MRR, Voorhees, TREC-8 QA track, 1999), with latency percentiles per mode.
 *
 * Matching: a question's `expected` is a list of entries, each a source ID or a part of one. A retrieved chunk
 * matches when its source contains one of the entries (an exact source ID contains itself), compared as written
 * (case-sensitive); entries are trimmed and empty ones ignored. A question's rank is the 1-based position of the
 * first matching chunk in the mode's ranked results (chunks, not distinct sources), or null when none matches; a
 * rank beyond the results retrieved is a miss, so hit@10 needs a top k of at least 10.
 */
import { percentile } from '../stats';
import { RagError } from './errors';

/** What separates several expected entries given as one string (a data-table or sheet cell). */
const EXPECTED_SEPARATOR = '|';

/** One mode's answer to one question: its results' sources, best first, and the query's latency, ms. */
export interface ModeRun {
	sources: readonly string[];
	latencyMs?: number;
}

/** One question's scores in one mode. hitAt1/4/10 are 1 or 0, so they average into hit@k. */
export interface RankScore {
	/** 1-based position of the first matching chunk; null when no chunk matched. */
	rank: number | null;
	/** 1 / rank, 0 when no chunk matched. */
	reciprocalRank: number;
	hitAt1: number;
	hitAt4: number;
	hitAt10: number;
}

/** One question's scores per mode, with the query latency (ms) when measured. */
export type QuestionScores = Record<string, RankScore & { latencyMs?: number }>;

/** One mode over all questions: hit@k as fractions 0…1, MRR 0…1, latency percentiles in ms (null if none measured). */
export interface ModeSummary {
	questions: number;
	hitAt1: number;
	hitAt4: number;
	hitAt10: number;
	mrr: number;
	latencyMs: { p50: number; p95: number } | null;
}

export interface EvaluationSummary {
	/** Questions scored. */
	questions: number;
	/** Per mode, in the order the modes were given. */
	modes: Record<string, ModeSummary>;
	/** See {@link bestMode}; null when no mode was evaluated. */
	bestMode: string | null;
}

/**
 * The expected entries of a question: an array of strings, or one string holding several entries separated by
 * "|" (EXPECTED_SEPARATOR); entries trimmed, empty ones dropped.
 * @throws RagError INVALID_OPTIONS when the value is not a string or an array of strings, or holds no entry.
 */
export function expectedSources(value: unknown): string[] {
	const parts =
		typeof value === 'string'
			? value.split(EXPECTED_SEPARATOR)
			: Array.isArray(value) && value.every((v) => typeof v === 'string')
				? (value as string[])
				: undefined;
	if (!parts)
		throw new RagError(
			'INVALID_OPTIONS',
			`Expected sources must be a string or a list of strings, got ${JSON.stringify(value) ?? String(value)}`,
		);
	const entries = parts.map((p) => p.trim()).filter(Boolean);
	if (!entries.length)
		throw new RagError(
			'INVALID_OPTIONS',
			'Expected sources are empty: give a source ID or a part of one',
		);
	return entries;
}

/** Whether `source` matches one of the expected entries (it contains the entry, case-sensitive). */
function matchesExpected(source: string, expected: readonly string[]): boolean {
	return expected.some((entry) => source.includes(entry));
}

/** 1-based position of the first source matching `expected`, or null. */
export function rankOf(sources: readonly string[], expected: readonly string[]): number | null {
	const index = sources.findIndex((source) => matchesExpected(source, expected));
	return index < 0 ? null : index + 1;
}

/** The scores of one rank (null = not retrieved). */
export function scoreRank(rank: number | null): RankScore {
	const hit = (k: number) => (rank !== null && rank <= k ? 1 : 0);
	return {
		rank,
		reciprocalRank: rank === null ? 0 : 1 / rank,
		hitAt1: hit(1),
		hitAt4: hit(4),
		hitAt10: hit(10),
	};
}

/** One question's scores in every mode of `runs` (in that order). */
export function scoreQuestion(
	expected: readonly string[],
	runs: Record<string, ModeRun>,
): QuestionScores {
	const scores: QuestionScores = {};
	for (const [mode, run] of Object.entries(runs)) {
		scores[mode] = {
			...scoreRank(rankOf(run.sources, expected)),
			...(run.latencyMs === undefined ? {} : { latencyMs: run.latencyMs }),
		};
	}
	return scores;
}

/**
 * Summary over scored questions: per mode (in `modes`' order; default the first question's) hit@1/4/10 and MRR
 * averaged over the questions, p50/p95 latency (nearest rank) of the questions that have one, and the best mode.
 * @throws RagError INVALID_OPTIONS when a question lacks a mode's score.
 */
export function summarize(
	questions: readonly QuestionScores[],
	modes: readonly string[] = Object.keys(questions[0] ?? {}),
): EvaluationSummary {
	const summaries: Record<string, ModeSummary> = {};
	for (const mode of modes) {
		const scores = questions.map((q, i) => {
			const score = q[mode];
			if (!score)
				throw new RagError('INVALID_OPTIONS', `Question ${i} has no score for mode "${mode}"`);
			return score;
		});
		const mean = (pick: (s: RankScore) => number) =>
			scores.length ? scores.reduce((sum, s) => sum + pick(s), 0) / scores.length : 0;
		const latencies = scores.flatMap((s) => (s.latencyMs === undefined ? [] : [s.latencyMs]));
		summaries[mode] = {
			questions: scores.length,
			hitAt1: mean((s) => s.hitAt1),
			hitAt4: mean((s) => s.hitAt4),
			hitAt10: mean((s) => s.hitAt10),
			mrr: mean((s) => s.reciprocalRank),
			latencyMs: latencies.length
				? { p50: percentile(latencies, 50), p95: percentile(latencies, 95) }
				: null,
		};
	}
	return { questions: questions.length, modes: summaries, bestMode: bestMode(summaries) };
}

/** Quality values closer than this are equal (sums of 1/rank in a different order differ in the last bits). */
const TIE = 1e-9;

/**
 * The best mode: highest MRR; on a tie the higher hit@1, then hit@4, then hit@10; then the lower p50 latency (when
 * both are measured); then the mode given first. Null for no modes.
 */
export function bestMode(modes: Record<string, ModeSummary>): string | null {
	const compare = (a: ModeSummary, b: ModeSummary): number => {
		for (const key of ['mrr', 'hitAt1', 'hitAt4', 'hitAt10'] as const) {
			if (Math.abs(a[key] - b[key]) > TIE) return b[key] - a[key];
		}
		return a.latencyMs && b.latencyMs ? a.latencyMs.p50 - b.latencyMs.p50 : 0;
	};
	let best: string | null = null;
	for (const mode of Object.keys(modes)) {
		if (best === null || compare(modes[mode], modes[best]) < 0) best = mode;
	}
	return best;
}

/**
 * Scores every question in every mode and summarises them. `runs[mode][i]` is the mode's answer to `questions[i]`.
 * @throws RagError INVALID_OPTIONS when a mode has no run for a question, or a question's expected entries are empty.
 */
export function evaluateRetrieval(
	questions: readonly { question: string; expected: unknown }[],
	runs: Record<string, readonly ModeRun[]>,
): { questions: QuestionScores[]; summary: EvaluationSummary } {
	const modes = Object.keys(runs);
	const scored = questions.map((q, i) => {
		const perMode: Record<string, ModeRun> = {};
		for (const mode of modes) {
			const run = runs[mode][i];
			if (!run)
				throw new RagError('INVALID_OPTIONS', `Mode "${mode}" has no results for question ${i}`);
			perMode[mode] = run;
		}
		return scoreQuestion(expectedSources(q.expected), perMode);
	});
	return { questions: scored, summary: summarize(scored, modes) };
}
