/**
 * The real servers the n8n benchmarks share, started once per `npm run bench` (starting n8n costs ~2 minutes on
 * 2 cores): n8n in queue mode (main + 2 workers, Bull on Redis, executions in Postgres), a Chroma server, the
 * offline model server, and one credential of each kind the compared workflows use (ours and n8n's built-in ones,
 * pointing at the same servers). Each benchmark sets the model's handler and latency it needs.
 */
import { randomUUID } from 'node:crypto';

import { startChroma, type ChromaServer } from '../stack/chroma';
import { OfflineModelServer, offlineModelConfig } from '../stack/model-server';
import type { N8nClient } from '../stack/n8n/client';
import { upsertExampleCredentials, type CredentialRefs } from '../stack/examples';
import { N8nCluster } from '../stack/n8n/cluster';
import { deleteKeys, redisFromEnv } from '../stack/services';

export const WORKERS = 2;

/**
 * The "realistic" provider latency the comparisons also run at, beside 0 ms: a chat model answering in 500 ms and
 * embeddings in 100 ms per request (real providers: 300–1 500 ms and 50–200 ms). BENCH_MODEL_LATENCY_MS and
 * BENCH_EMBEDDING_LATENCY_MS change them.
 */
export const REALISTIC_LATENCY = {
	modelMs: Number(process.env.BENCH_MODEL_LATENCY_MS ?? 500),
	embeddingMs: Number(process.env.BENCH_EMBEDDING_LATENCY_MS ?? 100),
};

/** Resets the offline model (handler, request log, faults) but keeps the latencies a benchmark variant set. */
export function resetModelKeepingLatency(bench: BenchCluster): void {
	const { latencyMs, embeddingLatencyMs } = bench.model;
	bench.model.reset();
	bench.model.latencyMs = latencyMs;
	bench.model.embeddingLatencyMs = embeddingLatencyMs;
}

/** Runs `work` with the offline model answering after the given latencies, then restores 0 ms. */
export async function withProviderLatency<T>(
	bench: BenchCluster,
	latency: { modelMs: number; embeddingMs: number },
	work: () => Promise<T>,
): Promise<T & { providerLatency: { modelMs: number; embeddingMs: number } }> {
	bench.model.latencyMs = latency.modelMs;
	bench.model.embeddingLatencyMs = latency.embeddingMs;
	try {
		return { ...(await work()), providerLatency: latency };
	} finally {
		bench.model.latencyMs = 0;
		bench.model.embeddingLatencyMs = 0;
	}
}
export const WORKER_CONCURRENCY = 10;

export interface BenchCluster {
	cluster: N8nCluster;
	client: N8nClient;
	chroma: ChromaServer;
	model: OfflineModelServer;
	/** Prefix of every Redis key the benchmarks write outside n8n's queue (deleted on stop). */
	redisPrefix: string;
	/** Ours (as the examples use them, with their webhook key credential) and n8n's own. */
	credentials: CredentialRefs &
		Record<'openAiApi' | 'chromaSelfHostedApi' | 'redis', { id: string; name: string }>;
	/** The examples' webhook key (header WEBHOOK_KEY_HEADER). */
	webhookKey: string;
	/** Basic Auth login of example 5's dashboard and metrics. */
	dashboardLogin: { user: string; password: string };
}

let shared: Promise<BenchCluster> | undefined;

async function start(): Promise<BenchCluster> {
	const log = (line: string) => process.stderr.write(`[bench n8n] ${line}\n`);
	const model = new OfflineModelServer();
	const [chroma] = await Promise.all([startChroma(), model.start()]);
	const cluster = await N8nCluster.start({
		mode: 'queue',
		workers: WORKERS,
		workerConcurrency: WORKER_CONCURRENCY,
		name: 'bench',
		log,
		// A full run creates more than n8n's default 10 000 kept executions; pruning them while the dashboard
		// benchmark reads its 10 000 would change what it measures.
		env: {
			EXECUTIONS_DATA_PRUNE_MAX_COUNT: '200000',
			// BENCH_CPU_PROFILE_DIR=<dir>: every n8n process writes a V8 CPU profile there when it stops (where the time goes).
			...(process.env.BENCH_CPU_PROFILE_DIR
				? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_CPU_PROFILE_DIR}` }
				: {}),
		},
	});
	const { client } = cluster;
	const redisPrefix = `openagents-bench-${randomUUID().slice(0, 8)}`;
	const ours = await upsertExampleCredentials(client, {
		llm: offlineModelConfig(model),
		chromaUrl: chroma.url,
		redis: { host: '127.0.0.1', port: 6379, prefix: redisPrefix },
		namePrefix: 'bench: ',
	});
	const credentials = {
		...ours.credentials,
		openAiApi: await client.createCredential('bench offline model (OpenAI)', 'openAiApi', {
			apiKey: 'sk-offline',
			url: model.baseUrl,
		}),
		chromaSelfHostedApi: await client.createCredential(
			'bench chroma (n8n)',
			'chromaSelfHostedApi',
			{ baseUrl: chroma.url, authentication: 'none' },
		),
		redis: await client.createCredential('bench redis (n8n)', 'redis', {
			host: '127.0.0.1',
			port: 6379,
			database: 0,
			password: '',
		}),
	};
	return {
		cluster,
		client,
		chroma,
		model,
		redisPrefix,
		credentials,
		webhookKey: ours.webhookKey,
		dashboardLogin: ours.dashboardLogin,
	};
}

/** The shared servers, started on first use. */
export function benchCluster(): Promise<BenchCluster> {
	shared ??= start();
	return shared;
}

/** Stops what benchCluster() started (nothing when no benchmark used it). */
export async function stopBenchCluster(): Promise<void> {
	if (!shared) return;
	const { cluster, chroma, model, redisPrefix } = await shared;
	shared = undefined;
	await Promise.all([
		cluster.stop(),
		chroma.stop(),
		model.stop(),
		deleteKeys(redisFromEnv(), `${redisPrefix}*`),
	]);
}

/** Creates and activates a workflow whose entry is a production webhook at `path`. */
export async function activeWorkflow(
	client: N8nClient,
	name: string,
	path: string,
	nodes: unknown[],
	connections: unknown,
): Promise<string> {
	const { id } = await client.createWorkflow({ name: `bench: ${name}`, nodes, connections });
	await client.activateWorkflow(id, [path]);
	return id;
}

/** One main → main connection per pair, e.g. chain('Webhook', 'Agent'). */
export function chain(
	...names: string[]
): Record<string, { main: Array<Array<{ node: string; type: 'main'; index: 0 }>> }> {
	return Object.fromEntries(
		names
			.slice(0, -1)
			.map((name, i) => [name, { main: [[{ node: names[i + 1], type: 'main', index: 0 }]] }]),
	);
}

/** Connects sub-node `from` to root node `to` through `type` (ai_languageModel, ai_tool, ai_memory, ...). */
export function sub(from: string, type: string, to: string) {
	return { [from]: { [type]: [[{ node: to, type, index: 0 }]] } };
}
