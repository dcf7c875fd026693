/** What `npm run eval` writes (bench/results/eval.json) and its tables, for the bench report and the README. */

/** One search mode on one set with one embedding model; hit@k and MRR 0…1 (3 decimals), latency in ms. */
export interface EvalModeResult {
	hitAt1: number;
	hitAt4: number;
	hitAt10: number;
	mrr: number;
	latencyMs: { p50: number; p95: number };
	/** Per question ID: the rank of the first chunk of an answering file, null beyond the top k. */
	ranks: Record<string, number | null>;
}

export interface EvalRun {
	set: string;
	setTitle: string;
	embedding: 'hashing' | 'semantic';
	/** The offline model server's model id. */
	model: string;
	corpus: { documents: number; chunks: number; subset: boolean };
	questions: number;
	/** Questions left out: none of their answering files is in the corpus (set a follows what npm installed). */
	skipped: string[];
	/** Chunks embedded and written by this run (0 when a kept Chroma folder had them), and the ingest's duration. */
	ingest: { added: number; seconds: number };
	modes: Record<string, EvalModeResult>;
	bestMode: string | null;
}

export interface EvalResult {
	topK: number;
	runs: EvalRun[];
	/** Query latency on a large copy of set a (hashing embeddings). */
	large?: {
		chunks: number;
		keywordIndex: { buildMs: number; heapMiB: number };
		latencyMs: Record<string, { p50: number; p95: number }>;
	};
}

const EMBEDDING_TITLES: Record<EvalRun['embedding'], string> = {
	hashing: 'word hashing (stand-in)',
	semantic: 'USE Lite (semantic)',
};

/** Quality per set, embedding model and search mode: one row each. */
export function qualityTable(result: EvalResult): string[] {
	return [
		'| set | embeddings | chunks | search mode | hit@1 | hit@4 | hit@10 | MRR |',
		'|---|---|---|---|---|---|---|---|',
		...result.runs.flatMap((run) =>
			Object.entries(run.modes).map(
				([mode, m]) =>
					`| ${run.set}: ${run.setTitle}, ${run.questions} questions | ${EMBEDDING_TITLES[run.embedding]} | ${run.corpus.chunks}${run.corpus.subset ? ' (subset)' : ''} | ${mode} | ${m.hitAt1} | ${m.hitAt4} | ${m.hitAt10} | ${m.mrr} |`,
			),
		),
	];
}

/** Query latency per search mode on set a with the hashing model, and on the large knowledge base when measured. */
export function latencyTable(result: EvalResult): string[] {
	const run = result.runs.find((r) => r.set === 'a' && r.embedding === 'hashing');
	if (!run) return [];
	const { large } = result;
	return [
		`| search mode | query p50 / p95, ms (${run.corpus.chunks} chunks) |${large ? ` query p50 / p95, ms (${large.chunks} chunks) |` : ''}`,
		`|---|---|${large ? '---|' : ''}`,
		...Object.entries(run.modes).map(
			([mode, m]) =>
				`| ${mode} | ${m.latencyMs.p50} / ${m.latencyMs.p95} |${large?.latencyMs[mode] ? ` ${large.latencyMs[mode].p50} / ${large.latencyMs[mode].p95} |` : ''}`,
		),
	];
}

export function evalTables(result: EvalResult): string[] {
	return [...qualityTable(result), '', ...latencyTable(result)];
}
