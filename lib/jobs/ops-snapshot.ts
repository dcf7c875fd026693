/**
 * Everything the operations view shows, gathered in parallel, each part on its own: executions (through the shared
 * execution index), the live queue, the workers and workflow names. A part that fails carries its error message in
 * its place; the others are unaffected.
 */
import type Redis from 'ioredis';

import { messageOf } from '../retry';
import type { MemoryStore, Namespace } from '../memory';
import { bucketFor, type Analytics } from './analytics';
import { indexAnalytics, indexFailureWorkflows } from './index-analytics';
import { indexedExecutions, type IndexCoverage, type IndexedExecutions } from './execution-index';
import type { N8nApiClient } from './n8n-api';
import { queueStatsFromMetrics, queueStatsFromRedis, type QueueStats } from './queue';
import { sharedRefresh } from './shared-refresh';
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

interface OpsSnapshot {
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

interface DashboardViewOptions extends OpsSnapshotOptions {
	/** End of the window (ISO); `from` is its start. */
	to: string;
	/** The filter's range key ('1h', '24h', … or 'custom'): views of one range and workflow are shared. */
	range: string;
}

/** What the dashboard page shows, JSON-safe: each panel's data or the reason it is missing. */
interface DashboardView {
	window: { from: string; to: string; range: string };
	analytics: { data: Analytics; coverage: IndexCoverage } | { error: string };
	queue: { data: QueueStats } | { error: string };
	workers: { data: WorkerStatus[] } | { error: string };
	workflows: Array<{ id: string; name: string }>;
	/** Workflow ID of each execution the failures table links to. */
	executionWorkflows: Record<string, string>;
	/** Said above the panels, e.g. an unknown workflow. */
	notice?: string;
	/** How this view was obtained (see sharedRefresh): computed here, served as stored, or another viewer's. */
	source: 'cache' | 'refreshed' | 'shared';
}

const messageOnly = <T>(part: Part<T>): { data: T } | { error: string } =>
	'data' in part ? { data: part.data } : { error: part.error };

/**
 * The dashboard's view of a window, shared by every viewer of the same range and workflow for `cacheMs` (one viewer
 * computes it, the others wait for it: see sharedRefresh); the executions come from the shared execution index.
 */
export async function dashboardView(options: DashboardViewOptions): Promise<DashboardView> {
	const key = `view:${options.workflowId ?? '*'}:${options.range === 'custom' ? `${options.from}/${options.to}` : options.range}`;
	const shared = await sharedRefresh<Omit<DashboardView, 'source'>>(
		options.store,
		options.namespace,
		key,
		{ maxAgeMs: options.cacheMs ?? 10_000, ttlMs: 3600_000, signal: options.signal },
		async () => {
			// A preset range ends with the current minute; a custom one where it was asked to. Both are whole
			// minutes, as the shared aggregates are.
			const minute = 60_000;
			const end =
				options.range === 'custom'
					? Math.ceil(Date.parse(options.to) / minute) * minute
					: Math.floor(Date.now() / minute) * minute + minute;
			const start =
				options.range === 'custom'
					? Math.floor(Date.parse(options.from) / minute) * minute
					: end - (Date.parse(options.to) - Date.parse(options.from));
			const [from, to] = [new Date(start).toISOString(), new Date(end).toISOString()];
			const snapshot = await opsSnapshot({ ...options, from });
			const { executions } = snapshot;
			let notice: string | undefined;
			if (
				'error' in executions &&
				options.workflowId &&
				/not found|\(404\)/i.test(executions.error)
			)
				notice = `Unknown workflow "${options.workflowId}", or the API key cannot see it: choose another in the filter.`;
			const analytics: DashboardView['analytics'] =
				'data' in executions
					? {
							data: indexAnalytics(executions.data, {
								from,
								to,
								bucketMs: bucketFor(end - start),
							}),
							coverage: executions.data.coverage,
						}
					: { error: executions.error };
			const linked = new Set(
				'data' in analytics ? analytics.data.stats.failures.flatMap((f) => f.executionIds) : [],
			);
			const executionWorkflows: Record<string, string> = {};
			if ('data' in executions)
				for (const [id, workflowId] of Object.entries(indexFailureWorkflows(executions.data)))
					if (linked.has(id)) executionWorkflows[id] = workflowId;
			return {
				window: { from, to, range: options.range },
				analytics,
				queue: messageOnly(snapshot.queue),
				workers: messageOnly(snapshot.workers),
				workflows: 'data' in snapshot.workflows ? snapshot.workflows.data : [],
				executionWorkflows,
				...(notice ? { notice } : {}),
			};
		},
	);
	return { ...shared.value, source: shared.source };
}
