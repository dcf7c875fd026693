/**
 * The executions of a time window as compact summaries, kept in the Memory Store so that every worker and every
 * viewer shares one copy and each refresh reads only what changed:
 * - finished executions never change, so a summary read with its data (error, usage) is read once;
 * - a refresh lists only the executions that started since the previous one (a minute of overlap for commit lag),
 *   re-reads the ones that were still running or waiting, and reads the data of newly finished ones;
 * - within `maxAgeMs` of a refresh the stored copy is served as it is (no API call), and while one viewer refreshes,
 *   the others wait for its result instead of reading too (a lock key with a TTL).
 * The index holds at most `maxExecutions` summaries, newest first; `truncated` says when older ones in the window
 * were left out.
 */
import { createHash } from 'node:crypto';

import { mapWithConcurrency } from '../concurrency';
import {
	internalNamespace,
	VersionConflictError,
	type MemoryStore,
	type Namespace,
} from '../memory';
import type { ExecutionFilter, N8nApiClient } from './n8n-api';
import { summarize, type ExecutionSummary } from './summary';

export interface ExecutionIndexOptions {
	client: N8nApiClient;
	store: MemoryStore;
	/** The index's namespace (an internal 'job-analytics' one: see internalNamespace). */
	namespace: Namespace;
	/** Only this workflow's executions (a separate index per workflow). */
	workflowId?: string;
	/** Most summaries kept, newest first (default 10 000). */
	maxExecutions?: number;
	/** Serve the stored copy without asking n8n when it is younger than this, ms (default 10 000). */
	maxAgeMs?: number;
	/** How long a viewer waits for another viewer's refresh, ms (default 60 000). */
	lockWaitMs?: number;
	signal?: AbortSignal;
}

export interface IndexCoverage {
	/** The index is complete back to this start time (ISO), or to `maxExecutions` summaries. */
	from: string;
	/** Summaries held. */
	executions: number;
	/** True when older executions after `from` were left out because of maxExecutions. */
	truncated: boolean;
	refreshedAt: string;
	/** 'cache': served as stored; 'refreshed': brought up to date here; 'shared': waited for another viewer's refresh. */
	source: 'cache' | 'refreshed' | 'shared';
	/** Executions read from the n8n API by this call: listed, and read with their data. */
	listed: number;
	detailed: number;
}

export interface IndexedExecutions {
	/** Newest first. */
	summaries: ExecutionSummary[];
	coverage: IndexCoverage;
}

interface StoredIndex {
	v: 1;
	/** The start time asked for: the index holds every execution since, up to maxExecutions. */
	from: string;
	refreshedAt: string;
	truncated: boolean;
	summaries: ExecutionSummary[];
}

/**
 * The namespace of the execution index (and the workers seen) for one n8n API and API key, inside the Memory Store
 * credential's `tenant`: a hash of the URL and key, so a key never reads the cache another key filled (and the key
 * itself is never stored).
 */
export function indexNamespace(tenant: string, baseUrl: string, apiKey: string): Namespace {
	const identity = createHash('sha256')
		.update(`${baseUrl.replace(/\/+$/, '')}\n${apiKey}`)
		.digest('hex')
		.slice(0, 32);
	return internalNamespace(tenant, 'job-analytics', identity);
}

/** Executions that start after a refresh's listing may become visible a little later (commit lag, clock skew). */
const OVERLAP_MS = 60_000;
/** Below this many executions to read with data, one request each; above, pages of the listing with data. */
const SINGLE_READS = 25;
const DETAIL_PAGE = 50;

/**
 * The summaries of executions that started at or after `from` (ISO), newest first, from the shared index, refreshed
 * as described above. Throws the API's JobsError when n8n cannot be read and nothing is stored; store errors fail too
 * (the caller may fall back to reading without a cache).
 */
export async function indexedExecutions(
	from: string,
	options: ExecutionIndexOptions,
): Promise<IndexedExecutions> {
	const { store, namespace: ns } = options;
	const key = `executions:${options.workflowId ?? '*'}`;
	const maxAgeMs = options.maxAgeMs ?? 10_000;
	const fresh = (index: StoredIndex | undefined): index is StoredIndex =>
		!!index &&
		index.from <= from &&
		Date.now() - Date.parse(index.refreshedAt) < Math.max(maxAgeMs, 1);

	let stored = await load(store, ns, key);
	// A refresh another viewer finishes while this one waits is taken as it is, whatever maxAgeMs says.
	const seen = stored.index?.refreshedAt;
	if (fresh(stored.index)) return result(stored.index, 'cache', 0, 0);
	const refreshedMeanwhile = (index: StoredIndex | undefined): index is StoredIndex =>
		!!index && index.refreshedAt !== seen && index.from <= from;

	const lockKey = `lock:${key}`;
	const deadline = Date.now() + (options.lockWaitMs ?? 60_000);
	let held: boolean;
	// Waiting polls the small lock key only; the index is read once the lock is free.
	while (!(held = await tryLock(store, ns, lockKey))) {
		if (Date.now() > deadline || options.signal?.aborted) break; // the holder died or is slow: refresh anyway
		await sleep(100);
	}
	try {
		stored = await load(store, ns, key);
		if (fresh(stored.index) || refreshedMeanwhile(stored.index))
			return result(stored.index, 'shared', 0, 0);
		const refreshed = await refresh(stored.index, from, options);
		const json = JSON.stringify(refreshed.index);
		try {
			await store.set(ns, key, json, { ttlMs: 24 * 3600_000, ifVersion: stored.version });
		} catch (error) {
			if (!(error instanceof VersionConflictError)) throw error; // another refresh won: ours is as good
		}
		return result(refreshed.index, 'refreshed', refreshed.listed, refreshed.detailed);
	} finally {
		if (held) await store.delete(ns, lockKey).catch(() => undefined);
	}
}

function result(
	index: StoredIndex,
	source: IndexCoverage['source'],
	listed: number,
	detailed: number,
): IndexedExecutions {
	return {
		summaries: index.summaries,
		coverage: {
			from: (index.truncated && index.summaries.at(-1)?.startedAt) || index.from,
			executions: index.summaries.length,
			truncated: index.truncated,
			refreshedAt: index.refreshedAt,
			source,
			listed,
			detailed,
		},
	};
}

async function load(
	store: MemoryStore,
	ns: Namespace,
	key: string,
): Promise<{ index?: StoredIndex; version: number }> {
	const stored = await store.get(ns, key);
	const index = stored?.value as StoredIndex | undefined;
	return {
		index: index?.v === 1 && Array.isArray(index.summaries) ? index : undefined,
		version: stored?.version ?? 0,
	};
}

async function tryLock(store: MemoryStore, ns: Namespace, key: string): Promise<boolean> {
	try {
		await store.set(ns, key, '1', { ttlMs: 60_000, ifVersion: 0 });
		return true;
	} catch (error) {
		if (error instanceof VersionConflictError) return false;
		throw error;
	}
}

async function refresh(
	previous: StoredIndex | undefined,
	from: string,
	options: ExecutionIndexOptions,
): Promise<{ index: StoredIndex; listed: number; detailed: number }> {
	const { client } = options;
	const maxExecutions = options.maxExecutions ?? 10_000;
	const refreshedAt = new Date().toISOString();
	const filter: ExecutionFilter = options.workflowId ? { workflowId: options.workflowId } : {};
	// Extending the window back, or no index yet: list the whole window; else only what started since the last refresh.
	const incremental = previous && previous.from <= from;
	const listedFrom = incremental
		? new Date(Date.parse(previous.refreshedAt) - OVERLAP_MS).toISOString()
		: from;
	const listed = await client.listExecutions(
		{ ...filter, startedAfter: listedFrom },
		maxExecutions,
	);

	const byId = new Map<string, ExecutionSummary>();
	for (const s of previous?.summaries ?? []) byId.set(s.id, s);
	for (const execution of listed) {
		const summary = summarize(execution);
		const known = byId.get(summary.id);
		if (!(known?.finished && known.detailed)) byId.set(summary.id, summary);
	}
	// Executions that were running or waiting and started before the listed span: read them again.
	const seen = new Set(listed.map((e) => String(e.id)));
	const pending = [...byId.values()].filter((s) => !s.finished && !seen.has(s.id));
	await mapWithConcurrency(pending, 4, async (s) => {
		try {
			byId.set(s.id, summarize(await client.getExecution(s.id)));
		} catch (error) {
			if ((error as { code?: string }).code === 'NOT_FOUND') byId.delete(s.id);
			else throw error;
		}
	});

	const undetailed = [...byId.values()].filter((s) => s.finished && !s.detailed);
	await readDetails(client, undetailed, byId, { ...filter, startedAfter: listedFrom });

	const bound = incremental ? previous.from : from;
	const summaries = [...byId.values()]
		.filter((s) => !s.startedAt || s.startedAt >= bound)
		.sort((a, b) => Number(b.id) - Number(a.id) || b.id.localeCompare(a.id));
	return {
		index: {
			v: 1,
			from: bound,
			refreshedAt,
			truncated: summaries.length > maxExecutions || listed.length >= maxExecutions,
			summaries: summaries.slice(0, maxExecutions),
		},
		listed: listed.length + pending.length,
		detailed: undetailed.length,
	};
}

/** Reads error and usage of finished executions: one request each when few, else pages of the listing with data. */
async function readDetails(
	client: N8nApiClient,
	targets: ExecutionSummary[],
	byId: Map<string, ExecutionSummary>,
	filter: ExecutionFilter,
): Promise<void> {
	if (!targets.length) return;
	if (targets.length <= SINGLE_READS) {
		await mapWithConcurrency(targets, 4, async (s) => {
			byId.set(s.id, summarize(await client.getExecution(s.id, { includeData: true })));
		});
		return;
	}
	const wanted = new Set(targets.map((s) => s.id));
	const oldest = Math.min(...targets.map((s) => Number(s.id)));
	const oldestStart = targets
		.map((s) => s.startedAt ?? '')
		.filter(Boolean)
		.sort()[0];
	for await (const execution of client.executions(
		{ ...filter, startedAfter: oldestStart ?? filter.startedAfter, includeData: true },
		DETAIL_PAGE,
	)) {
		const id = String(execution.id);
		if (wanted.delete(id)) byId.set(id, summarize(execution));
		if (!wanted.size || Number(id) < oldest) break;
	}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
