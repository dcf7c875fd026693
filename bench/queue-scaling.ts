/**
 * Queue scaling: executions/s of the flagship RAG flow (examples/03-plan-and-research.json: Planner plans and runs
 * research tasks that search the knowledge base through the Knowledge Base Tool, Knowledge Base Answer cites the
 * sources) in real queue-mode n8n with 1 worker and with 2 workers (concurrency 10 each), the same requests with
 * 2 × 10 in flight, so that one worker has to queue what two can run at once. The chat model answers after a
 * latency (default 200 ms, as a hosted model would) so that the flow waits on I/O the way it does in production.
 * The knowledge base holds the first 60 READMEs of the installed npm packages, ingested once beforehand.
 */
import { randomUUID } from 'node:crypto';

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
import type { ResearchReport } from '../scripts/report';
import { offlineModelConfig } from '../stack/model-server';
import { benchCluster, WORKER_CONCURRENCY, type BenchCluster } from './cluster';
import { readmes } from './knowledge-base-vs-n8n';
import { pool, postJson, ratio } from './load';

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

export async function queueScaling(
	requests = Number(process.env.BENCH_SCALING_REQUESTS ?? 40),
	latencyMs = Number(process.env.BENCH_SCALING_LATENCY_MS ?? 200),
	inFlight = Number(process.env.BENCH_SCALING_IN_FLIGHT ?? 2 * WORKER_CONCURRENCY),
) {
	const bench = await benchCluster();
	bench.model.reset();
	const knowledgeBase = `bench-rag-${randomUUID().slice(0, 8)}`;
	const corpus = await ingestCorpus(bench, knowledgeBase);
	const path = await flagshipWorkflow(bench, knowledgeBase);
	// `run` makes every request a new plan run (the default plan run ID hashes the input item).
	let run = 0;
	const research = () =>
		postJson<ResearchReport>(
			bench.client,
			path,
			{ question: 'How does the client reconnect when the connection is lost?', run: run++ },
			(r) => r.planStatus === 'completed' && r.answer.length > 0,
			{ [WEBHOOK_KEY_HEADER]: bench.webhookKey },
		);
	const measure = async () => {
		await pool(inFlight, inFlight, research); // warm-up, not measured
		const before = bench.model.requestsTo('chat').length;
		const figures = await pool(requests, inFlight, research);
		return {
			...figures,
			modelCallsPerExecution:
				Math.round(((bench.model.requestsTo('chat').length - before) / requests) * 10) / 10,
		};
	};

	bench.model.latencyMs = latencyMs;
	const worker2 = bench.cluster.workers.find((w) => w.name === 'worker-2');
	if (!worker2) throw new Error('the bench cluster has no worker-2');
	try {
		const twoWorkers = await measure();
		await worker2.process.stop('SIGTERM', 30_000);
		const oneWorker = await measure();
		return {
			setup: `queue mode, main + 1 or 2 workers (concurrency ${WORKER_CONCURRENCY} each); flagship flow (example 3: plan, research in the knowledge base, cited answer); ${requests} requests, ${inFlight} in flight; ${latencyMs} ms chat model latency; knowledge base of ${corpus.documents} READMEs, ${corpus.chunks} chunks`,
			oneWorker,
			twoWorkers,
			throughputRatio: ratio(twoWorkers.executionsPerSecond, oneWorker.executionsPerSecond),
			latencyP50Ratio: ratio(twoWorkers.latencyMs.p50, oneWorker.latencyMs.p50),
		};
	} finally {
		bench.model.latencyMs = 0;
		if (!worker2.process.running) await bench.cluster.startWorker(2);
	}
}
