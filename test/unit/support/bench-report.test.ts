/** bench/report.ts: every figure of latest.json reaches the report with its command and machine; bars are to scale. */
import { barChart, mergeResults, renderReport } from '../../../bench/report';

const machine = { cpus: 2, cpu: 'Test CPU', memoryGiB: 24, node: 'v24.0.0' };
/** The agent benchmark's entry: ours 9 executions/s at p50 400 ms, n8n's 6 at 500 ms. */
const agentEntry = {
	at: '2026-01-01T00:00:00.000Z',
	machine,
	result: {
		n8n: {
			openAgentsAgent: { executionsPerSecond: 9, latencyMs: { p50: 400, p95: 500 } },
			n8nAiAgent: { executionsPerSecond: 6, latencyMs: { p50: 500, p95: 500 } },
		},
	},
};

it('lists every figure with the command and machine that produced it, and charts the comparisons', () => {
	const { markdown, charts } = renderReport({
		planner: {
			at: '2026-01-01T00:00:00.000Z',
			machine,
			result: { parallel: { wallMs: 600 }, sequential: { wallMs: 4200 }, speedUp: 7 },
		},
		other: { at: '2026-01-02T00:00:00.000Z', machine, result: { ops: { perSecond: 1234.5678 } } },
	});
	expect(markdown).toContain(
		'Command: `BENCH_ONLY=planner npm run bench` · measured 2026-01-01T00:00:00.000Z · 2 × Test CPU, 24 GiB, Node v24.0.0',
	);
	expect(markdown).toContain('| parallel.wallMs | 600 |');
	expect(markdown).toContain('| speedUp | 7 |');
	expect(markdown).toContain('| ops.perSecond | 1,234.568 |');
	expect(markdown).toContain('![planner-parallel.svg](planner-parallel.svg)');
	expect(Object.keys(charts)).toEqual(['planner-parallel.svg']);
});

it('draws bars to scale', () => {
	const svg = barChart('t', 'ms', [
		{ label: 'a', value: 50 },
		{ label: 'b', value: 100 },
	]);
	const widths = [...svg.matchAll(/<rect x="\d+" y="\d+" width="([\d.]+)"/g)].map((m) =>
		Number(m[1]),
	);
	expect(widths).toHaveLength(2);
	expect(widths[1] / widths[0]).toBeCloseTo(2, 5);
});

it('quotes each side-by-side comparison with its ratio, and leaves out those not measured', () => {
	const { markdown } = renderReport({
		agent: agentEntry,
	});
	expect(markdown).toContain(
		"| Agent vs n8n's AI Agent: throughput | 9 executions/s | n8n's built-in: 6 executions/s | 1.50 (higher is better) | [agent](#agent) |",
	);
	expect(markdown).toContain(
		"| Agent vs n8n's AI Agent: latency p50 | 400 ms | n8n's built-in: 500 ms | 0.80 (lower is better) | [agent](#agent) |",
	);
	expect(markdown).not.toContain('Chroma Vector Store');
});

it('names the other side and what the ratio measures where the two sides do different work', () => {
	const { markdown } = renderReport({
		'queue-scaling': {
			at: '2026-01-01T00:00:00.000Z',
			machine,
			result: {
				flagship: { oneWorker: { executionsPerSecond: 4 }, twoWorkers: { executionsPerSecond: 6 } },
			},
		},
	});
	expect(markdown).toContain(
		"| Flagship RAG flow: 2 workers vs 1 worker — both sides are ours: how n8n's queue mode scales our flow, not a comparison with n8n | 6 executions/s | OpenAgents, 1 worker: 4 executions/s | 1.50 (higher is better) |",
	);
});

it('puts the retrieval evaluation (npm run eval) in the report: one row per set, embedding model and search mode', () => {
	const mode = (hitAt1: number) => ({
		hitAt1,
		hitAt4: 0.9,
		hitAt10: 1,
		mrr: 0.8,
		latencyMs: { p50: 3, p95: 5 },
		ranks: { q1: 1 },
	});
	const run = (set: string, embedding: 'hashing' | 'semantic', subset: boolean) => ({
		set,
		setTitle: `set ${set}`,
		embedding,
		model: 'm',
		corpus: { documents: 10, chunks: 100, subset },
		questions: 4,
		skipped: [],
		ingest: { added: 100, seconds: 1 },
		modes: { vector: mode(0.5), hybrid: mode(0.75) },
		bestMode: 'hybrid',
	});
	const { markdown } = renderReport(
		{},
		{
			at: '2026-01-01T00:00:00.000Z',
			machine,
			result: {
				topK: 10,
				runs: [run('a', 'hashing', false), run('a', 'semantic', true)],
				large: {
					chunks: 100_000,
					keywordIndex: { buildMs: 9000, heapMiB: 300 },
					latencyMs: { vector: { p50: 6, p95: 9 }, hybrid: { p50: 20, p95: 30 } },
				},
			},
		},
	);
	expect(markdown).toContain('## Retrieval evaluation');
	expect(markdown).toContain(
		'| a: set a, 4 questions | word hashing (stand-in) | 100 | vector | 0.5 | 0.9 | 1 | 0.8 |',
	);
	expect(markdown).toContain(
		'| a: set a, 4 questions | USE Lite (semantic) | 100 (subset) | hybrid | 0.75 | 0.9 | 1 | 0.8 |',
	);
	expect(markdown).toContain('| hybrid | 3 / 5 | 20 / 30 |');
	expect(markdown).toContain('built in 9000 ms on first use, 300 MiB of heap');
	expect(renderReport({}).markdown).not.toContain('Retrieval evaluation');
});

it('keeps the earlier figures of a benchmark that failed, marked stale with the failed run, in the JSON and the report', () => {
	const earlier = {
		agent: agentEntry,
		planner: { at: '2026-01-01T00:00:00.000Z', machine, result: { speedUp: 7 } },
		memory: { at: '2026-01-01T00:00:00.000Z', machine, result: { ops: 1 } },
	};
	const merged = mergeResults(
		earlier,
		{ planner: { at: '2026-02-01T00:00:00.000Z', machine, result: { speedUp: 8 } } },
		{
			agent: { failedAt: '2026-02-01T00:05:00.000Z', error: 'n8n did not start | timeout\nstack' },
			newOne: { failedAt: '2026-02-01T00:06:00.000Z', error: 'boom' },
		},
	);
	expect(merged.planner.result).toEqual({ speedUp: 8 });
	expect(merged.memory).toEqual(earlier.memory); // not run: kept as it was, not stale
	expect(merged.agent).toEqual({
		...earlier.agent,
		stale: { failedAt: '2026-02-01T00:05:00.000Z', error: 'n8n did not start | timeout\nstack' },
	});
	expect(merged.newOne).toBeUndefined(); // failed without earlier figures: nothing to show

	const { markdown } = renderReport(merged);
	expect(markdown).toContain(
		'**Stale**: the run of 2026-02-01T00:05:00.000Z failed (n8n did not start \\| timeout); these are the figures of 2026-01-01T00:00:00.000Z.',
	);
	expect(markdown).toContain(
		"| Agent vs n8n's AI Agent: throughput (stale: figures of 2026-01-01) |",
	);
	expect(markdown).not.toMatch(/## planner\n\nCommand[^\n]*\n\n\*\*Stale/);
});

it('shows a list of objects as a table of its own, one column per entry, and a list of numbers in one row', () => {
	const { markdown } = renderReport({
		'knowledge-base-scale': {
			at: '2026-01-01T00:00:00.000Z',
			machine,
			result: {
				seedIngest: { chunks: 15934 },
				levels: [
					{ chunks: 100_000, queryMs: { vector: { p50: 9.062 }, hybrid: { p50: 26.136 } } },
					{ chunks: 1_000_000, queryMs: { vector: { p50: 9.403 } }, note: 'a | b' },
				],
				workersRss: { peakMiB: [1017, 917] },
			},
		},
	});
	expect(markdown).not.toContain('[object Object]');
	expect(markdown).toContain('| seedIngest.chunks | 15,934 |');
	expect(markdown).toContain('| workersRss.peakMiB | 1,017; 917 |');
	const table = markdown.slice(markdown.indexOf('**levels**'));
	expect(table.split('\n').slice(2, 9)).toEqual([
		'| figure | levels[0] | levels[1] |',
		'|---|---|---|',
		'| chunks | 100,000 | 1,000,000 |',
		'| queryMs.vector.p50 | 9.062 | 9.403 |',
		'| queryMs.hybrid.p50 | 26.136 | — |',
		'| note | — | a \\| b |',
		'',
	]);
	expect(markdown).not.toMatch(/\| levels \|/);
});
