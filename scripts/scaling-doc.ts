/**
 * `npm run docs:scaling`: writes docs/SCALING.md, the capacity model, and the README's queue-scaling paragraph from
 * the queue-scaling entry of bench/results/latest.json (`BENCH_ONLY=queue-scaling npm run bench` measures it). Every
 * figure in them is a measured one or computed from measured ones by bench/capacity.ts;
 * test/unit/support/scaling-doc.test.ts fails when either is not what this script makes of the committed JSON.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { DEFAULT_ASSUMPTIONS, project, type FlowCost } from '../bench/capacity';
import type { SideFigures } from '../bench/queue-scaling';
import type { Entry } from '../bench/report';

const ROOT = join(__dirname, '..');
const WORKER_COUNTS = [1, 2, 4, 8, 16, 32];
const FLOWS = {
	flagship:
		'the flagship RAG flow (example 3: the Planner plans research tasks that search the knowledge base, Knowledge Base Answer cites the sources)',
	agent:
		'the plain agent flow (webhook → Agent with one HTTP Request Tool call, two model calls → respond)',
} as const;
type Flow = keyof typeof FLOWS;

interface FlowResult {
	oneWorker: SideFigures;
	twoWorkers: SideFigures;
	throughputRatio: number;
	/** Requests one at a time: the latency with no execution waiting for a core. */
	sequential?: SideFigures;
}

interface ScalingResult {
	setup: string;
	workerConcurrency: number;
	modelLatencyMs: number;
	cores: number;
	flagship: FlowResult;
	agent: FlowResult;
}

const fmt = (x: number, digits = 1) =>
	Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits }) : '—';

/** The process sets of bench/stack-cpu.ts, grouped into the parts of the model. */
function part(process: string): keyof FlowCost | undefined {
	if (process.startsWith('n8n worker')) return 'workerMs';
	if (process === 'n8n main') return 'mainMs';
	if (process.startsWith('Redis')) return 'redisMs';
	if (process.startsWith('Postgres')) return 'postgresMs';
	if (process === 'Chroma') return 'chromaMs';
	return undefined; // the model server stands for the provider; the load generator for the clients
}

/** Per-execution cost of a flow, both sides pooled (CPU ms over all executions of both). */
export function flowCost(flow: FlowResult): FlowCost {
	const sides = [flow.oneWorker, flow.twoWorkers];
	const executions = sides.reduce((sum, s) => sum + s.latencyMs.n, 0);
	const cost: FlowCost = {
		workerMs: 0,
		mainMs: 0,
		redisMs: 0,
		postgresMs: 0,
		chromaMs: 0,
		modelRequests: 0,
		latencyMs: flow.sequential?.latencyMs.p50 ?? Math.min(...sides.map((s) => s.latencyMs.p50)),
	};
	for (const side of sides)
		for (const row of side.cpuBudget) {
			const key = part(row.process);
			if (key) cost[key] += row.cpuMs / executions;
		}
	const trips = flow.twoWorkers.roundTripsPerExecution;
	cost.modelRequests = ['chat', 'embeddings', 'rerank'].reduce(
		(sum, route) => sum + (trips[`model ${route} requests`] ?? 0),
		0,
	);
	return cost;
}

/** Whether the cores, rather than the workers, set the pace of the 2-worker side. */
function saturation(flow: FlowResult): string {
	const busy = flow.twoWorkers.machineBusyPercent;
	return busy >= 95
		? `With 2 workers the machine was ${fmt(busy)} % busy: the cores were saturated, so the second worker could only take CPU time from the other processes; the ratio is what the cores allow, not what a worker adds.`
		: `With 2 workers the machine was ${fmt(busy)} % busy: cores were left, so the ratio is what the workers' slots and the shared processes allow.`;
}

function measuredSection(name: Flow, flow: FlowResult, cores: number): string[] {
	const sides = [
		['1 worker', flow.oneWorker],
		['2 workers', flow.twoWorkers],
	] as const;
	const top = (side: SideFigures) =>
		[...side.cpuBudget].sort((a, b) => b.percentOfCores - a.percentOfCores)[0];
	return [
		`### ${name}: ${FLOWS[name]}`,
		'',
		`| side | executions/s | latency p50 / p95 | the stack's share of the ${cores} cores | other processes on the machine | machine busy | busiest process |`,
		'|---|---|---|---|---|---|---|',
		...sides.map(
			([label, s]) =>
				`| ${label} | ${fmt(s.executionsPerSecond, 2)} | ${fmt(s.latencyMs.p50, 0)} / ${fmt(s.latencyMs.p95, 0)} ms | ${fmt(s.stackPercentOfCores)} % | ${fmt(Math.max(0, s.machineBusyPercent - s.stackPercentOfCores))} % | ${fmt(s.machineBusyPercent)} % | ${top(s).process} (${fmt(top(s).percentOfCores)} %) |`,
		),
		'',
		`2 workers ÷ 1 worker: **${fmt(flow.throughputRatio, 2)} ×** (${fmt(flow.oneWorker.latencyMs.n, 0)} and ${fmt(flow.twoWorkers.latencyMs.n, 0)} executions answered, ${fmt(flow.oneWorker.lostResponses + flow.twoWorkers.lostResponses, 0)} lost${flow.sequential ? `; one request at a time: p50 ${fmt(flow.sequential.latencyMs.p50, 0)} ms` : ''}). ${saturation(flow)}`,
		'',
		`| process | CPU ms per execution, 1 worker | % of the ${cores} cores, 1 worker | CPU ms per execution, 2 workers | % of the ${cores} cores, 2 workers |`,
		'|---|---|---|---|---|',
		...flow.twoWorkers.cpuBudget.map((row) => {
			const one = flow.oneWorker.cpuBudget.find((r) => r.process === row.process);
			return `| ${row.process} | ${one ? fmt(one.cpuMsPerExecution) : '— (not running)'} | ${one ? `${fmt(one.percentOfCores)} %` : '—'} | ${fmt(row.cpuMsPerExecution)} | ${fmt(row.percentOfCores)} % |`;
		}),
		`| **the stack together** | ${fmt(flow.oneWorker.stackCpuMsPerExecution)} | ${fmt(flow.oneWorker.stackPercentOfCores)} % | ${fmt(flow.twoWorkers.stackCpuMsPerExecution)} | ${fmt(flow.twoWorkers.stackPercentOfCores)} % |`,
		'',
	];
}

function roundTripSection(result: ScalingResult): string[] {
	const keys = [
		...new Set(
			(['flagship', 'agent'] as const).flatMap((f) =>
				Object.keys(result[f].twoWorkers.roundTripsPerExecution),
			),
		),
	];
	return [
		'## Round trips per execution (2 workers)',
		'',
		'| counter | flagship | agent |',
		'|---|---|---|',
		...keys.map(
			(k) =>
				`| ${k} | ${fmt(result.flagship.twoWorkers.roundTripsPerExecution[k] ?? 0, 2)} | ${fmt(result.agent.twoWorkers.roundTripsPerExecution[k] ?? 0, 2)} |`,
		),
		'',
		"`model models requests` are the agent's tool (n8n's HTTP Request Tool fetching the model server's model list), not",
		'model calls. Chroma does not count its requests; its share is in CPU time only.',
		'',
	];
}

/** What to do when a bound is the one that stops the flow. */
const NEXT_STEP: Array<[RegExp, string]> = [
	[/^workers/, 'add workers (one core each): the flow is CPU-bound in the workers'],
	[
		/^worker slots/,
		"raise the workers' concurrency (`--concurrency`, `N8N_CONCURRENCY_PRODUCTION_LIMIT`) or add workers: the slots are full of executions waiting on the model",
	],
	[
		/^n8n main/,
		"move webhook intake off main: n8n's webhook processors (`n8n webhook`, behind a load balancer) take the webhooks main would receive",
	],
	[
		/^Redis/,
		"give Bull's Redis a server of its own (the memory store and rate limits can stay on another); Redis runs commands on one thread",
	],
	[
		/^Postgres/,
		'give Postgres more cores and fast disks, save fewer executions (`EXECUTIONS_DATA_SAVE_ON_SUCCESS=none`) and prune sooner: every execution is written there',
	],
	[
		/^Chroma/,
		'run Chroma on its own machine or as a distributed Chroma: the Knowledge Base nodes reach it by URL only',
	],
	[
		/^provider/,
		"raise the provider's limit or spread the load over fallback models and keys (the rate limiter shares the budget across workers)",
	],
];

/** How many cores the one worker's processes used when it ran alone (its event loop, task runner, helper threads). */
function workerCores(flow: FlowResult, cores: number): number {
	const row = flow.oneWorker.cpuBudget.find((r) => r.process.startsWith('n8n worker'));
	return ((row?.percentOfCores ?? 0) * cores) / 100;
}

function projectionSection(name: Flow, cost: FlowCost): string[] {
	const rows = project(cost, WORKER_COUNTS);
	const singletons = Object.entries(rows[0].bounds)
		.filter(([bound]) => !bound.startsWith('worker'))
		.sort((a, b) => a[1] - b[1]);
	const first = rows[rows.length - 1].boundBy;
	const step = NEXT_STEP.find(([pattern]) => pattern.test(first))?.[1] ?? '';
	return [
		`### ${name}`,
		'',
		`Cost per execution: workers ${fmt(cost.workerMs)} ms, n8n main ${fmt(cost.mainMs)} ms, Redis ${fmt(cost.redisMs)} ms, Postgres ${fmt(cost.postgresMs)} ms, Chroma ${fmt(cost.chromaMs)} ms of CPU; ${fmt(cost.modelRequests, 2)} model requests; ${fmt(cost.latencyMs, 0)} ms latency.`,
		'',
		'| workers | executions/s | bound by | cores the stack uses at that rate |',
		'|---|---|---|---|',
		...rows.map(
			(r) =>
				`| ${r.workers} | ${fmt(r.executionsPerSecond)} | ${r.boundBy} | ${fmt(r.coresUsed)} |`,
		),
		'',
		`The shared parts, lowest first (executions/s each allows, whatever the workers): ${singletons.map(([bound, rate]) => `${bound} ${fmt(rate)}`).join('; ')}.`,
		`At 32 workers the bound is ${first}: ${step}.`,
		'',
	];
}

/** docs/SCALING.md as the queue-scaling entry of `results` gives it. */
export function scalingDoc(results: Record<string, Entry>): string {
	const entry = results['queue-scaling'];
	if (!entry) throw new Error('bench/results/latest.json has no queue-scaling entry');
	const result = entry.result as unknown as ScalingResult;
	const m = entry.machine;
	const a = DEFAULT_ASSUMPTIONS;
	const costs = { flagship: flowCost(result.flagship), agent: flowCost(result.agent) };
	return [
		'# Scaling: a capacity model',
		'',
		'<!-- Generated by scripts/scaling-doc.ts (npm run docs:scaling) from bench/results/latest.json; do not edit. -->',
		'',
		'How many executions per second a queue-mode n8n running these nodes can take, and what to add when it needs more.',
		'Every figure is measured by `BENCH_ONLY=queue-scaling npm run bench` or computed from measured ones (bench/capacity.ts).',
		'',
		`Measured ${entry.at}${entry.stale ? ` (stale: the run of ${entry.stale.failedAt} failed)` : ''} on ${m.cpus} × ${m.cpu ?? 'CPU'}, ${m.memoryGiB} GiB, Node ${m.node}: ${result.setup}.`,
		'',
		`## Measured: 1 and 2 workers on ${result.cores} cores`,
		'',
		`Every process of the stack shares the ${result.cores} cores here, so a second worker adds execution slots, not cores. CPU time is`,
		'read from /proc per process (utime + stime, in clock ticks); "% of the cores" is that time over the measured',
		"window and all cores. Postgres is a shared server: its backends connected to the cluster's database are counted",
		"as the cluster's, its background processes (WAL writer, checkpointer, …) apart, since every database on the server",
		'uses them. Redis is shared too: its row is the whole server.',
		'',
		...measuredSection('flagship', result.flagship, result.cores),
		...measuredSection('agent', result.agent, result.cores),
		...roundTripSection(result),
		'## The model',
		'',
		'- CPU ms per execution of a process does not depend on the load: CPU time, unlike latency, does not grow while a',
		'  process waits for a core. The figures are both sides of the measurement pooled.',
		`- **Workers scale**: each is one Node process, at most one core (its event loop), holding ${a.workerConcurrency} executions at once`,
		'  (the concurrency measured), each lasting the latency measured with one request at a time.',
		'- **Singletons do not**: n8n main (one event loop receives every webhook and every job result) and Redis (one',
		'  thread runs every command), at most one core each.',
		`- **Postgres and Chroma** are multi-core servers, given ${a.serverCores} cores each here.`,
		`- **The model provider** is outside: it bounds by its request limit, ${a.providerRequestsPerMinute.toLocaleString('en-US')} requests per minute here`,
		'  (chat, embeddings and rerank requests), not by CPU. The offline model server and the load generator are left out.',
		`- A worker's processes can use more than one core (its task runner and Node's helper threads beside the event`,
		`  loop): alone, the one worker used ${fmt(workerCores(result.flagship, result.cores), 2)} cores with the flagship and ${fmt(workerCores(result.agent, result.cores), 2)} with the agent, so the`,
		'  one-core bound is on the safe side. The CPU figures of the 2-core run include the cost of sharing two cores',
		'  with every other process (switching, caches), so the projections are too, on the safe side.',
		'- Projected executions/s = the lowest of the bounds. The network, disks and memory are not modelled.',
		'',
		'## Projection: 1 to 32 workers on a machine with cores to spare',
		'',
		...projectionSection('flagship', costs.flagship),
		...projectionSection('agent', costs.agent),
		'## Not measured yet',
		'',
		'- The ingest flow: the ingest benchmarks time it but do not read CPU per process.',
		"- Chroma's and Postgres's own request counts (Chroma keeps none; Postgres's are transactions and rows above).",
		'',
	].join('\n');
}

/** The README's queue-scaling paragraph (between `<!-- queue-scaling: … -->` and `<!-- /queue-scaling -->`). */
export function readmeParagraph(results: Record<string, Entry>): string {
	const result = results['queue-scaling']?.result as unknown as ScalingResult;
	const { flagship, agent } = result;
	const busiest = [...flagship.twoWorkers.cpuBudget].sort(
		(a, b) => b.percentOfCores - a.percentOfCores,
	)[0];
	return [
		"Queue scaling (both sides ours, so not in the table above: it measures how n8n's queue mode scales our flows), with",
		`${fmt(flagship.twoWorkers.latencyMs.n, 0)} requests per side, ${fmt(result.workerConcurrency * 2, 0)} in flight and the model answering in ${fmt(result.modelLatencyMs, 0)} ms: the flagship RAG flow (example 3)`,
		`ran at ${fmt(flagship.twoWorkers.executionsPerSecond, 2)} executions/s on 2 workers and ${fmt(flagship.oneWorker.executionsPerSecond, 2)} on 1 (${fmt(flagship.throughputRatio, 2)} ×), the plain agent flow at`,
		`${fmt(agent.twoWorkers.executionsPerSecond, 2)} and ${fmt(agent.oneWorker.executionsPerSecond, 2)} (${fmt(agent.throughputRatio, 2)} ×). On this ${fmt(result.cores, 0)}-core machine every process of the stack shares the`,
		`cores: with the flagship on 2 workers the stack used ${fmt(flagship.twoWorkers.stackPercentOfCores)} % of them, most of it ${busiest.process} (${fmt(busiest.percentOfCores)} %). What each`,
		'execution costs each process, and what a given load needs on bigger machines: [docs/SCALING.md](docs/SCALING.md).',
	].join('\n');
}

/** `text` with the block `name` replaced by `content`. */
export function replaceBlock(text: string, name: string, content: string): string {
	const start = text.indexOf(`<!-- ${name}:`);
	const end = text.indexOf(`<!-- /${name} -->`);
	if (start < 0 || end < start) throw new Error(`no <!-- ${name}: --> block`);
	const from = text.indexOf('\n', start) + 1;
	return `${text.slice(0, from)}${content}\n${text.slice(end)}`;
}

/** Writes docs/SCALING.md and the README's paragraph from `results` (npm run bench does after queue-scaling ran). */
export function writeScalingDocs(results: Record<string, Entry>): void {
	writeFileSync(join(ROOT, 'docs', 'SCALING.md'), scalingDoc(results));
	const readme = join(ROOT, 'README.md');
	writeFileSync(
		readme,
		replaceBlock(readFileSync(readme, 'utf8'), 'queue-scaling', readmeParagraph(results)),
	);
}

if (require.main === module) {
	const { results } = JSON.parse(
		readFileSync(join(ROOT, 'bench', 'results', 'latest.json'), 'utf8'),
	) as { results: Record<string, Entry> };
	writeScalingDocs(results);
	console.log('docs/SCALING.md and the README paragraph written');
}
