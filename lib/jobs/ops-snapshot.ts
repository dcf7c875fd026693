/**
 * Everything the operations view shows, gathered in parallel, each part on its own: executions (through the shared
 * execution index), the live queue, the workers and workflow names. A part that fails carries its error message in
 * its place; the others are unaffected.
 */
import type Redis from 'ioredis';

import { messageOf } from '../retry';
import type { MemoryStore, Namespace } from '../memory';
import { indexedExecutions, type IndexedExecutions } from './execution-index';
import type { N8nApiClient } from './n8n-api';
import { queueStatsFromMetrics, queueStatsFromRedis, type QueueStats } from './queue';
import { askWorkers, rememberWorkers, type WorkerStatus } from './workers';

/** A part of the snapshot: its data, or the message (and the error) of why it is missing. */
export type Part<T> = { data: T } | { error: string; cause: unknown };

export interface OpsSnapshotOptions {
	client: N8nApiClient;
	/** The shared cache (execution index, workers seen); its namespace is private to one n8n API key. */
	store: MemoryStore;
	namespace: Namespace;
	/** The Redis of n8n's queue (Bull keys and pub/sub); undefined → the queue comes from main's /metrics, no workers. */
	redis?: Redis;
	/** Bull's key prefix (QUEUE_BULL_PREFIX, default "bull") and n8n's pub/sub prefix (N8N_REDIS_KEY_PREFIX, "n8n"). */
	queuePrefix?: string;
	redisPrefix?: string;
	workflowId?: string;
	/** Executions that started at or after this time (ISO) are needed. */
	from: string;
	maxExecutions?: number;
	/** How old the shared copy may be before it is refreshed, ms. */
	cacheMs?: number;
	/** Longest wait for worker answers, ms (default 500). */
	workerWaitMs?: number;
	signal?: AbortSignal;
}

export interface OpsSnapshot {
	executions: Part<IndexedExecutions>;
	queue: Part<QueueStats>;
	workers: Part<WorkerStatus[]>;
	workflows: Part<Array<{ id: string; name: string }>>;
}

const part = async <T>(work: () => Promise<T>): Promise<Part<T>> => {
	try {
		return { data: await work() };
	} catch (error) {
		return { error: messageOf(error), cause: error };
	}
};

export async function opsSnapshot(options: OpsSnapshotOptions): Promise<OpsSnapshot> {
	const { client, store, namespace: ns, redis } = options;
	const [executions, queue, workers, workflows] = await Promise.all([
		part(async () => {
			if (options.workflowId) await client.getWorkflow(options.workflowId); // NOT_FOUND → the panel says so
			return indexedExecutions(options.from, {
				client,
				store,
				namespace: ns,
				workflowId: options.workflowId,
				maxExecutions: options.maxExecutions,
				maxAgeMs: options.cacheMs,
				signal: options.signal,
			});
		}),
		part(async () =>
			redis
				? queueStatsFromRedis(redis, options.queuePrefix ?? 'bull')
				: queueStatsFromMetrics(await client.metricsText()),
		),
		part(async () => {
			if (!redis)
				throw new Error(
					'Workers are asked through the Redis of the n8n queue: give the Memory Store credential with the Redis backend',
				);
			const known = (await store.get(ns, 'workers'))?.value as
				Record<string, WorkerStatus> | undefined;
			const expected = Object.values(known ?? {}).filter((w) => w.answered).length || Infinity;
			const answers = await askWorkers(redis, {
				prefix: options.redisPrefix ?? 'n8n',
				waitMs: options.workerWaitMs ?? 500,
				expected,
			});
			return rememberWorkers(store, ns, answers);
		}),
		part(async () => {
			const out: Array<{ id: string; name: string }> = [];
			let cursor: string | undefined;
			do {
				const page = await client.listWorkflows({ cursor, limit: 250 });
				out.push(...page.data.map(({ id, name }) => ({ id, name })));
				cursor = page.nextCursor;
			} while (cursor && out.length < 1000);
			return out.sort((a, b) => a.name.localeCompare(b.name));
		}),
	]);
	return { executions, queue, workers, workflows };
}
