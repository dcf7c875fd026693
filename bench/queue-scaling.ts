/**
 * Queue scaling: executions/s of two flows in real queue-mode n8n with 2 workers and with 1 (concurrency 10 each),
 * 2 × 10 requests in flight so that one worker has to queue what two can run at once, and the CPU time every process
 * of the stack spent on them (bench/stack-cpu.ts, read from /proc), so that a ratio below 2 can be placed:
 *  - flagship: the RAG flow of examples/03-plan-and-research.json (Planner plans and runs research tasks that search
 *    the knowledge base through the Knowledge Base Tool, Knowledge Base Answer cites the sources); the knowledge base
 *    holds the first 60 READMEs of the installed npm packages, ingested once beforehand;
 *  - agent: webhook → our Agent (one HTTP Request Tool call, two model calls) → respond.
 * The chat model answers after a latency (default 200 ms, as a hosted model would) so that the flows wait on I/O as
 * in production. The load comes from its own process (bench/load-generator.ts) so that its CPU time is apart from the
 * offline model server's. Per side: executions/s, latency, CPU ms per execution and share of the cores per process,
 * the machine's busy share (other sessions' processes too), and round trips per execution (Redis, Postgres, model);
 * and each flow's latency with one request at a time. docs/SCALING.md (npm run docs:scaling) is the capacity model
 * built on these figures.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { createEmbeddings } from '../lib/llm';
import { ChromaKnowledgeStore, ingestDocuments, loadDocument } from '../lib/rag';
import { NoRetryPolicy } from '../lib/retry';
import {
	activateExample,
	importExample,
	loadExample,
	webhookPath,
	WEBHOOK_KEY_HEADER,
} from '../stack/examples';
import { cpuBetween, type CpuSnapshot } from '../stack/proc-cpu';
import { offlineModelConfig } from '../stack/model-server';
import { agentWorkflow, oneToolCall, openAgentsAgentNode } from './agent';
import { benchCluster, WORKER_CONCURRENCY, type BenchCluster } from './cluster';
import { readmes } from './knowledge-base-vs-n8n';
import type { LoadSpec } from './load-generator';
import { ratio, type VariantFigures } from './load';
import { roundTripsPerExecution, stackProbe, type RoundTripCounters } from './stack-cpu';

async function ingestCorpus(bench: BenchCluster, knowledgeBase: string) {
	const policy = new NoRetryPolicy();
	const kb = await new ChromaKnowledgeStore({ url: bench.chroma.url }, { policy }).open(
		knowledgeBase,
		{ create: true },
	);
	const embeddings = createEmbeddings(offlineModelConfig(bench.model));
	const documents = await Promise.all(
		readmes(60).map((d) => loadDocument({ source: d.source, content: d.text, fileName: d.source })),
	);
	const result = await ingestDocuments(kb, embeddings, documents, {
		chunkSize: 1000,
		chunkOverlap: 100,
		embedding: { policy, batchSize: 100 },
	});
	return { documents: documents.length, chunks: result.added };
}

async function flagshipWorkflow(bench: BenchCluster, knowledgeBase: string) {
	const workflow = loadExample('03-plan-and-research.json', bench.credentials);
	for (const node of workflow.nodes)
		if ('knowledgeBase' in node.parameters)
			node.parameters.knowledgeBase = { __rl: true, mode: 'name', value: knowledgeBase };
	const id = await importExample(bench.client, workflow);
	await activateExample(bench.client, id, workflow);
	return webhookPath(workflow, 'Research Request');
}

export interface SideFigures extends VariantFigures {
	totalMs: number;
	windowMs: number;
	/** Every process on the machine over the window, ours or not, percent of all cores. */
	machineBusyPercent: number;
	/** One entry per process (set) of the stack. */
	cpuBudget: Array<{
		process: string;
		cpuMs: number;
		cpuMsPerExecution: number;
		percentOfCores: number;
		processes: number;
	}>;
	/** The stack's processes together. */
	stackCpuMsPerExecution: number;
	stackPercentOfCores: number;
	roundTripsPerExecution: Record<string, number>;
}

/**
 * Runs the load generator with `spec`, snapshots the stack's CPU time and counters when it starts and ends its
 * measured requests, and returns the side's figures.
 */
async function measureSide(
	bench: BenchCluster,
	spec: Omit<LoadSpec, 'url'>,
	settleMs: number,
): Promise<SideFigures> {
	const child = spawn(
		process.execPath,
		[
			'--import',
			'tsx',
			join(__dirname, 'load-generator.ts'),
			JSON.stringify({ ...spec, url: bench.client.url }),
		],
		{ stdio: ['ignore', 'pipe', 'pipe'], cwd: join(__dirname, '..') },
	);
	let stderr = '';
	child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
	const probe = await stackProbe(bench, child.pid!);
	try {
		let start: { cpu: CpuSnapshot; counters: RoundTripCounters } | undefined;
		let end: { figures: VariantFigures & { totalMs: number }; cpu: CpuSnapshot } | undefined;
		for await (const line of createInterface({ input: child.stdout })) {
			const message = JSON.parse(line) as {
				event: 'start' | 'end';
				figures?: VariantFigures & { totalMs: number };
			};
			if (message.event === 'start')
				start = { cpu: await probe.snapshot(), counters: await probe.counters() };
			else if (message.figures) end = { cpu: await probe.snapshot(), figures: message.figures };
		}
		const code = await exited;
		if (code !== 0 || !start || !end)
			throw new Error(`load generator exited with ${code}: ${stderr.slice(-2000)}`);
		// Postgres publishes a backend's statistics at most once a second: wait for the window's last ones.
		await new Promise((resolve) => setTimeout(resolve, settleMs));
		const counters = await probe.counters();
		const executions = end.figures.latencyMs.n;
		const cpu = cpuBetween(start.cpu, end.cpu, cpus().length);
		const per = (ms: number) => Math.round((ms / executions) * 10) / 10;
		const stackMs = cpu.usage.reduce((sum, u) => sum + u.cpuMs, 0);
		return {
			...end.figures,
			windowMs: cpu.windowMs,
			machineBusyPercent: cpu.machineBusyPercent,
			cpuBudget: cpu.usage.map((u) => ({
				process: u.name,
				cpuMs: u.cpuMs,
				cpuMsPerExecution: per(u.cpuMs),
				percentOfCores: u.percentOfCores,
				processes: u.processes,
			})),
			stackCpuMsPerExecution: per(stackMs),
			stackPercentOfCores: Math.round((stackMs / (cpu.windowMs * cpus().length)) * 1000) / 10,
			roundTripsPerExecution: roundTripsPerExecution(start.counters, counters, executions),
		};
	} finally {
		await probe.close();
		if (child.exitCode === null) child.kill();
	}
}

export async function queueScaling(
	requests = Number(process.env.BENCH_SCALING_REQUESTS ?? 200),
	latencyMs = Number(process.env.BENCH_SCALING_LATENCY_MS ?? 200),
	inFlight = Number(process.env.BENCH_SCALING_IN_FLIGHT ?? 2 * WORKER_CONCURRENCY),
) {
	const bench = await benchCluster();
	bench.model.reset();
	const knowledgeBase = `bench-rag-${randomUUID().slice(0, 8)}`;
	const corpus = await ingestCorpus(bench, knowledgeBase);
	const flows = {
		flagship: {
			path: await flagshipWorkflow(bench, knowledgeBase),
			body: { question: 'How does the client reconnect when the connection is lost?' },
			// Every request a new plan run (the default plan run ID hashes the input item): a side that repeated
			// another's bodies would find those plans completed and only answer.
			runField: 'run',
			check: 'research' as const,
			handler: undefined,
			headers: { [WEBHOOK_KEY_HEADER]: bench.webhookKey },
		},
		agent: {
			path: (await agentWorkflow(bench, 'scaling-agent', openAgentsAgentNode())).path,
			body: { question: 'Look it up' },
			runField: undefined,
			check: 'agent' as const,
			handler: oneToolCall,
			headers: {},
		},
	};
	const side = (flow: keyof typeof flows, load = { total: requests, inFlight }) => {
		const { handler, ...spec } = flows[flow];
		bench.model.setHandler(handler);
		return measureSide(
			bench,
			{
				...spec,
				runPrefix: randomUUID().slice(0, 8),
				warmUp: load.inFlight,
				...load,
				settleMs: 2000,
			},
			2000,
		);
	};
	// One request at a time: the latency with nothing waiting for a core (the capacity model's slot bound).
	const sequential = { total: Number(process.env.BENCH_SCALING_SEQUENTIAL ?? 10), inFlight: 1 };

	bench.model.latencyMs = latencyMs;
	const worker2 = bench.cluster.workers.find((w) => w.name === 'worker-2');
	if (!worker2) throw new Error('the bench cluster has no worker-2');
	try {
		const alone = {
			flagship: await side('flagship', sequential),
			agent: await side('agent', sequential),
		};
		const two = { flagship: await side('flagship'), agent: await side('agent') };
		await worker2.process.stop('SIGTERM', 30_000);
		const one = { flagship: await side('flagship'), agent: await side('agent') };
		const compare = (flow: keyof typeof flows) => ({
			oneWorker: one[flow],
			twoWorkers: two[flow],
			throughputRatio: ratio(two[flow].executionsPerSecond, one[flow].executionsPerSecond),
			latencyP50Ratio: ratio(two[flow].latencyMs.p50, one[flow].latencyMs.p50),
			sequential: alone[flow],
		});
		return {
			setup: `queue mode, main + 1 or 2 workers (concurrency ${WORKER_CONCURRENCY} each); ${requests} requests per side after ${inFlight} not measured, ${inFlight} in flight, from a load generator process of its own; before them, ${sequential.total} requests one at a time (2 workers); ${latencyMs} ms chat model latency; flagship: example 3 (plan, research in the knowledge base, cited answer), knowledge base of ${corpus.documents} READMEs, ${corpus.chunks} chunks; agent: webhook → Agent (1 HTTP Request Tool call, 2 model calls) → respond; CPU time per process from /proc/<pid>/stat (utime + stime) over the measured window, ${cpus().length} cores`,
			workerConcurrency: WORKER_CONCURRENCY,
			modelLatencyMs: latencyMs,
			cores: cpus().length,
			flagship: compare('flagship'),
			agent: compare('agent'),
		};
	} finally {
		bench.model.latencyMs = 0;
		bench.model.setHandler(undefined);
		if (!worker2.process.running) await bench.cluster.startWorker(2);
	}
}
