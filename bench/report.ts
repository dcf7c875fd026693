/**
 * The benchmark report: bench/results/REPORT.md (every figure with the command and machine that produced it) and
 * SVG bar charts of the side-by-side comparisons, from bench/results/latest.json. `npm run bench` writes it after
 * each run; `npx tsx bench/report.ts` rewrites it from the JSON alone.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Entry {
	at: string;
	machine: { cpus: number; cpu?: string; memoryGiB: number; node: string };
	result: Record<string, unknown>;
}

interface Bar {
	label: string;
	value: number;
}

/** A horizontal bar chart as SVG: one bar per value, the value written at its end. */
export function barChart(title: string, unit: string, bars: readonly Bar[]): string {
	const width = 640;
	const labelWidth = 180;
	const barHeight = 26;
	const top = 36;
	const max = Math.max(...bars.map((b) => b.value), 1e-9);
	const plot = width - labelWidth - 150; // room for the value after the longest bar
	const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
	const rows = bars.map((bar, i) => {
		const y = top + i * (barHeight + 10);
		const w = Math.max(1, (bar.value / max) * plot);
		return [
			`<text x="${labelWidth - 8}" y="${y + 18}" text-anchor="end">${escape(bar.label)}</text>`,
			`<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${i % 2 ? '#8a94a6' : '#ff6d5a'}"/>`,
			`<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 18}">${bar.value.toLocaleString('en-US', { maximumFractionDigits: 2 })} ${escape(unit)}</text>`,
		].join('');
	});
	const height = top + bars.length * (barHeight + 10) + 6;
	return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13"><rect width="100%" height="100%" fill="#fff"/><text x="12" y="22" font-weight="bold">${escape(title)}</text>${rows.join('')}</svg>\n`;
}

/** Nested figures as `a.b.c | value` rows. */
function flatten(value: unknown, prefix = ''): Array<[string, string]> {
	if (value && typeof value === 'object' && !Array.isArray(value)) {
		return Object.entries(value).flatMap(([key, v]) => flatten(v, prefix ? `${prefix}.${key}` : key));
	}
	return [[prefix, typeof value === 'number' ? value.toLocaleString('en-US', { maximumFractionDigits: 3 }) : String(value)]];
}

const num = (value: unknown) => Number(value);
const get = (result: Record<string, unknown>, path: string): unknown => path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], result);

/** Charts for the benchmarks that compare two variants; a benchmark without one gets only its table. */
const CHARTS: Record<string, (r: Record<string, unknown>) => Array<{ file: string; svg: string }>> = {
	agent: (r) => [
		{
			file: 'agent-throughput.svg',
			svg: barChart('Webhook → agent (1 tool call) → respond, queue mode', 'executions/s', [
				{ label: 'OpenAgents Agent', value: num(get(r, 'n8n.openAgentsAgent.executionsPerSecond')) },
				{ label: "n8n's AI Agent", value: num(get(r, 'n8n.n8nAiAgent.executionsPerSecond')) },
			]),
		},
		{
			file: 'agent-latency.svg',
			svg: barChart('Same flow, latency p50 / p95', 'ms', [
				{ label: 'OpenAgents p50', value: num(get(r, 'n8n.openAgentsAgent.latencyMs.p50')) },
				{ label: "n8n's AI Agent p50", value: num(get(r, 'n8n.n8nAiAgent.latencyMs.p50')) },
				{ label: 'OpenAgents p95', value: num(get(r, 'n8n.openAgentsAgent.latencyMs.p95')) },
				{ label: "n8n's AI Agent p95", value: num(get(r, 'n8n.n8nAiAgent.latencyMs.p95')) },
			]),
		},
	],
	planner: (r) => [
		{
			file: 'planner-parallel.svg',
			svg: barChart('8 independent tasks, 500 ms model latency: wall time', 'ms', [
				{ label: 'Planner, concurrency 8', value: num(get(r, 'parallel.wallMs')) },
				{ label: 'one after another', value: num(get(r, 'sequential.wallMs')) },
			]),
		},
	],
	'llm-call-overhead': (r) => [
		{
			file: 'llm-call-overhead.svg',
			svg: barChart('One chat model call, offline model, p50', 'ms', [
				{ label: 'lib/llm invokeChatModel', value: num(get(r, 'invokeChatModel.p50')) },
				{ label: 'LangChain ChatOpenAI', value: num(get(r, 'rawChatOpenAI.p50')) },
			]),
		},
	],
};

export function renderReport(results: Record<string, Entry>): { markdown: string; charts: Record<string, string> } {
	const charts: Record<string, string> = {};
	const sections = Object.entries(results).map(([name, entry]) => {
		const figures = (CHARTS[name]?.(entry.result) ?? []).filter((c) => !c.svg.includes('NaN'));
		for (const chart of figures) charts[chart.file] = chart.svg;
		const m = entry.machine;
		return [
			`## ${name}`,
			'',
			`Command: \`BENCH_ONLY=${name} npm run bench\` · measured ${entry.at} · ${m.cpus} × ${m.cpu ?? 'CPU'}, ${m.memoryGiB} GiB, Node ${m.node}`,
			'',
			...figures.map((c) => `![${c.file}](${c.file})`),
			...(figures.length ? [''] : []),
			'| figure | value |',
			'|---|---|',
			...flatten(entry.result).map(([key, value]) => `| ${key} | ${value.replace(/\|/g, '\\|')} |`),
			'',
		].join('\n');
	});
	const markdown = [
		'# Benchmark report',
		'',
		'<!-- Generated by bench/report.ts from bench/results/latest.json; do not edit. -->',
		'',
		'Every figure below was measured by the command named in its section, on the machine named there. Benchmarks use',
		'real local servers wherever they involve one (n8n in queue mode, Chroma, Redis, Postgres) and the offline model',
		'server in place of an LLM. Comparisons run both variants alternately in one run.',
		'',
		...sections,
	].join('\n');
	return { markdown, charts };
}

export function writeReport(dir = join(__dirname, 'results')): void {
	const { results } = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as { results: Record<string, Entry> };
	const { markdown, charts } = renderReport(results);
	mkdirSync(dir, { recursive: true });
	writeFileSync(join(dir, 'REPORT.md'), markdown);
	for (const [file, svg] of Object.entries(charts)) writeFileSync(join(dir, file), svg);
}

if (require.main === module) {
	writeReport();
	console.log('bench/results/REPORT.md written');
}
