/**
 * The README's Knowledge Base scale table, from the knowledge-base-scale benchmark's result (bench/results/latest.json,
 * key "knowledge-base-scale"); test/unit/support/readme.test.ts holds the README to it.
 */
interface Latency {
	p50: number;
	p95: number;
}

export interface KnowledgeBaseScaleResult {
	levels: Array<{
		chunks: number;
		queryMs: { vector: Latency & { max: number }; hybrid?: Latency };
		keywordIndex?: { buildMs: number; heapMiB: number };
		sharedKeywordIndex: {
			buildMs: number;
			redisMiB: number;
			freshWorker: { firstQueryMs: number; queryMs: Latency; addedRssMiB: number };
			syncAfterOneWriteMs: number;
		};
		chromaServerRssMiB: number;
	}>;
}

/** 1000000 → "1 000 000", as the README writes numbers. */
const grouped = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
const latency = ({ p50, p95 }: Latency) => `${p50.toFixed(1)} / ${p95.toFixed(1)} ms`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function scaleTable({ levels }: KnowledgeBaseScaleResult): string {
	return [
		"| chunks | vector query p50 / p95 | hybrid query p50 / p95, keyword index in each worker (warm; embedding call included) | hybrid query, keyword index shared in Redis: a fresh worker's first query; p50 / p95 of the next 199 (embedding call excluded) | shared index: built from Chroma (once for every worker); in Redis; RSS keyword search added to the worker; next query after one chunk is written | Chroma server memory |",
		'|---|---|---|---|---|---|',
		...levels.map(
			({ chunks, queryMs, keywordIndex, sharedKeywordIndex: shared, chromaServerRssMiB }) => {
				const own =
					queryMs.hybrid && keywordIndex
						? `${latency(queryMs.hybrid)} (built in ${seconds(keywordIndex.buildMs)} on a worker's first hybrid query, ${keywordIndex.heapMiB} MiB of heap)`
						: "not measured: each worker would hold every chunk's terms";
				const worker = shared.freshWorker;
				return `| ${grouped(chunks)} | ${latency(queryMs.vector)} | ${own} | ${grouped(worker.firstQueryMs)} ms; ${latency(worker.queryMs)} | ${seconds(shared.buildMs)}; ${grouped(shared.redisMiB)} MiB; ${worker.addedRssMiB} MiB; ${shared.syncAfterOneWriteMs} ms | ${grouped(chromaServerRssMiB)} MiB |`;
			},
		),
	].join('\n');
}
