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
import { EXECUTION_USAGE_KEYS } from '../llm';
import { internalNamespace, type MemoryStore, type Namespace } from '../memory';
import { EXECUTION_STATUSES, FINAL_STATUSES } from './job';
import type { ExecutionFilter, N8nApiClient } from './n8n-api';
import { sharedRefresh } from './shared-refresh';
import { summarize, type ExecutionSummary, type ExecutionUsage } from './summary';

interface ExecutionIndexOptions {
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
	/** The start time asked for: the index holds every execution since, up to maxExecutions. */
	from: string;
	/** When the refresh that produced it started (the next one lists what started since). */
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
	let reads = { listed: 0, detailed: 0 };
	const shared = await sharedRefresh<StoredIndex>(
		options.store,
		options.namespace,
		`executions:${options.workflowId ?? '*'}`,
		{
			maxAgeMs: options.maxAgeMs ?? 10_000,
			lockWaitMs: options.lockWaitMs,
			usable: (index) => index.from <= from,
			encode: packIndex,
			decode: unpackIndex,
			signal: options.signal,
		},
		async (previous) => {
			const refreshed = await refresh(previous, from, options);
			reads = { listed: refreshed.listed, detailed: refreshed.detailed };
			return refreshed.index;
		},
	);
	const index = shared.value;
	return {
		summaries: index.summaries,
		coverage: {
			from: (index.truncated && index.summaries.at(-1)?.startedAt) || index.from,
			executions: index.summaries.length,
			truncated: index.truncated,
			refreshedAt: index.refreshedAt,
			source: shared.source,
			...reads,
		},
	};
}

/**
 * The stored form of the index: workflow IDs, statuses and modes as positions in lists, times as epoch ms, one array
 * per execution (about a fifth of the JSON of the summaries as objects, and as much faster to read and write).
 */
interface PackedIndex {
	v: 2;
	from: string;
	refreshedAt: string;
	truncated: boolean;
	workflows: string[];
	modes: string[];
	/** [id, workflow, status, mode, startedAt, stoppedAt, retryOf, retrySuccessId, detailed, usage, error] */
	rows: Array<
		[
			string,
			number,
			number,
			number,
			number | null,
			number | null,
			string | null,
			string | null,
			0 | 1,
			number[] | null,
			[string | null, string] | null,
		]
	>;
}

const USAGE_FIELDS = Object.keys(EXECUTION_USAGE_KEYS) as Array<keyof ExecutionUsage>;

function packIndex(index: StoredIndex): PackedIndex {
	const workflows: string[] = [];
	const modes: string[] = [];
	const position = (list: string[], value: string) => {
		const at = list.indexOf(value);
		return at >= 0 ? at : list.push(value) - 1;
	};
	const ms = (iso: string | null) => (iso ? Date.parse(iso) : null);
	return {
		v: 2,
		from: index.from,
		refreshedAt: index.refreshedAt,
		truncated: index.truncated,
		workflows,
		modes,
		rows: index.summaries.map((s) => [
			s.id,
			position(workflows, s.workflowId),
			EXECUTION_STATUSES.indexOf(s.status),
			position(modes, s.mode),
			ms(s.startedAt),
			ms(s.stoppedAt),
			s.retryOf,
			s.retrySuccessId,
			s.detailed ? 1 : 0,
			s.usage ? USAGE_FIELDS.map((field) => s.usage![field]) : null,
			s.error ? [s.error.node, s.error.message] : null,
		]),
	};
}

function unpackIndex(stored: unknown): StoredIndex | undefined {
	const packed = stored as PackedIndex | undefined;
	if (packed?.v !== 2 || !Array.isArray(packed.rows)) return undefined;
	const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
	return {
		from: packed.from,
		refreshedAt: packed.refreshedAt,
		truncated: packed.truncated,
		summaries: packed.rows.map(
			([
				id,
				wf,
				status,
				mode,
				started,
				stopped,
				retryOf,
				retrySuccessId,
				detailed,
				usage,
				error,
			]) => {
				const s: ExecutionSummary = {
					id,
					workflowId: packed.workflows[wf],
					status: EXECUTION_STATUSES[status],
					finished: FINAL_STATUSES.has(EXECUTION_STATUSES[status]),
					mode: packed.modes[mode],
					startedAt: iso(started),
					stoppedAt: iso(stopped),
					durationMs: started !== null && stopped !== null ? Math.max(0, stopped - started) : null,
					retryOf,
					retrySuccessId,
				};
				if (detailed) s.detailed = true;
				if (usage)
					s.usage = Object.fromEntries(
						USAGE_FIELDS.map((field, i) => [field, usage[i]]),
					) as ExecutionUsage;
				if (error) s.error = { node: error[0], message: error[1] };
				return s;
			},
		),
	};
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
	await mapWithConcurrency(pending, 4, (s) => reread(client, s.id, byId, false));

	const undetailed = [...byId.values()].filter((s) => s.finished && !s.detailed);
	await readDetails(client, undetailed, byId, { ...filter, startedAfter: listedFrom });

	const bound = incremental ? previous.from : from;
	const summaries = [...byId.values()]
		.filter((s) => !s.startedAt || s.startedAt >= bound)
		.sort((a, b) => Number(b.id) - Number(a.id) || b.id.localeCompare(a.id));
	return {
		index: {
			from: bound,
			refreshedAt,
			truncated: summaries.length > maxExecutions || listed.length >= maxExecutions,
			summaries: summaries.slice(0, maxExecutions),
		},
		listed: listed.length + pending.length,
		detailed: undetailed.length,
	};
}

/**
 * Reads one execution again into `byId`; one deleted since it was listed (n8n prunes old executions, users delete
 * them) leaves the index instead of failing the refresh.
 */
async function reread(
	client: N8nApiClient,
	id: string,
	byId: Map<string, ExecutionSummary>,
	includeData: boolean,
): Promise<void> {
	try {
		byId.set(id, summarize(await client.getExecution(id, { includeData })));
	} catch (error) {
		if ((error as { code?: string }).code === 'NOT_FOUND') byId.delete(id);
		else throw error;
	}
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
		await mapWithConcurrency(targets, 4, (s) => reread(client, s.id, byId, true));
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
