/**
 * The executions of a time window as per-minute aggregates (lib/jobs/execution-aggregates), kept in the Memory Store
 * so that every worker and every viewer shares one copy, each refresh reads only what changed, and a view reads the
 * aggregates of its window, not its executions:
 * - an execution is counted into the aggregates once it is final and its data was read (error, usage); from then on
 *   it never changes, so it is never read again;
 * - the executions not counted yet (running, waiting, or finished but not read with data) are kept as summaries next
 *   to the aggregates, and counted by the view as they are;
 * - a refresh lists only the executions that started since the previous one (a minute of overlap for commit lag; the
 *   executions counted in that minute are remembered, so none is counted twice), re-reads the pending ones, and reads
 *   the data of newly finished ones;
 * - within `maxAgeMs` of a refresh the stored copy is served as it is (no API call), and while one viewer refreshes,
 *   the others wait for its result instead of reading too (a lock key with a TTL).
 * Storage: one small state key per index (watermark, pending summaries) and one key per hour of aggregates, so a
 * refresh rewrites the hours it added to and a view of 24 hours reads 24 keys, however many executions they hold.
 * A refresh writes the hours it adds to under keys of its own and the state names them, so the aggregates change
 * only with the state: two refreshes from the same state (one that gave up waiting for the other) or one that died
 * before saving its state never count an execution twice. Keys a saved state no longer names expire after
 * SUPERSEDED_TTL_MS (viewers that read the previous state may still read them); a refresh whose state was not saved
 * deletes its own.
 * The first build of an index (or one extended further back) lists the whole window, at most `maxExecutions`, and
 * reads each finished execution once with its data; `truncated` says when older ones in the window were left out.
 */
import { createHash, randomUUID } from 'node:crypto';

import { mapWithConcurrency } from '../concurrency';
import { internalNamespace, type MemoryStore, type Namespace } from '../memory';
import {
	addSummary,
	cellsFromJson,
	cellsToJson,
	mergeCells,
	minuteOf,
	type MinuteCells,
} from './execution-aggregates';
import { EXECUTION_STATUSES, FINAL_STATUSES, type ApiExecution } from './job';
import type { ExecutionFilter, N8nApiClient } from './n8n-api';
import { sharedRefresh } from './shared-refresh';
import { summarize, USAGE_FIELDS, type ExecutionSummary, type ExecutionUsage } from './summary';

interface ExecutionIndexOptions {
	client: N8nApiClient;
	store: MemoryStore;
	/** The index's namespace (an internal 'job-analytics' one: see internalNamespace). */
	namespace: Namespace;
	/** Only this workflow's executions (a separate index per workflow). */
	workflowId?: string;
	/** Most executions listed by one refresh (the first build lists the whole window; default 10 000). */
	maxExecutions?: number;
	/** Serve the stored copy without asking n8n when it is younger than this, ms (default 10 000). */
	maxAgeMs?: number;
	/** How long a viewer waits for another viewer's refresh, ms (default 60 000). */
	lockWaitMs?: number;
	signal?: AbortSignal;
}

export interface IndexCoverage {
	/** The index is complete back to this start time (ISO), or to `maxExecutions` executions. */
	from: string;
	/** Executions held: counted into the aggregates, and pending. */
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
	/** The aggregates of the executions counted, for the minutes since the `from` asked for. */
	cells: MinuteCells;
	/** The start of the span `cells` cover (ISO): the hour of the `from` asked for, or later when the index is. */
	since: string;
	/** Executions not counted yet (running, waiting, or not read with data), newest first. */
	pending: ExecutionSummary[];
	coverage: IndexCoverage;
}

interface IndexState {
	/** The start time asked for: the index holds every execution since, up to maxExecutions. */
	from: string;
	/** The index is complete back to this start time (later than `from` when the first build was truncated). */
	coveredFrom: string;
	/** When the refresh that produced it started (the next one lists what started since). */
	refreshedAt: string;
	truncated: boolean;
	/** The aggregates' keys are `agg:<workflow>:<generation>:<hour>:<write>`; a new build starts a new generation. */
	generation: string;
	/** The hours (ms since the epoch) that hold aggregates, and the write (a refresh's ID) whose key holds each. */
	hours: HourKeys;
	/** Executions counted into the aggregates. */
	counted: number;
	/** Counted executions that started within the overlap of the next listing: [id, start ms]. */
	recent: Array<[string, number]>;
	pending: ExecutionSummary[];
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
const HOUR = 3600_000;
/** Aggregates outlive the longest range the dashboard offers (30 days). */
const AGGREGATE_TTL_MS = 31 * 24 * HOUR;

/** Hours that hold aggregates: [hour (ms since the epoch), the write whose key holds it]. */
type HourKeys = Array<[number, string]>;

/** How long the key of an hour a newer state rewrote stays readable, ms. */
const SUPERSEDED_TTL_MS = 10 * 60_000;

const hourKey = (
	workflowId: string | undefined,
	generation: string,
	[hour, write]: [number, string],
) => `agg:${workflowId ?? '*'}:${generation}:${hour}:${write}`;

/**
 * The aggregates of executions that started at or after `from` (ISO) and the pending executions, from the shared
 * index, refreshed as described above. Throws the API's JobsError when n8n cannot be read and nothing is stored;
 * store errors fail too (the caller may fall back to reading without a cache).
 */
export async function indexedExecutions(
	from: string,
	options: ExecutionIndexOptions,
): Promise<IndexedExecutions> {
	let reads = { listed: 0, detailed: 0 };
	let keys: RefreshKeys | undefined;
	const shared = await sharedRefresh<IndexState>(
		options.store,
		options.namespace,
		`executions:${options.workflowId ?? '*'}`,
		{
			maxAgeMs: options.maxAgeMs ?? 10_000,
			lockWaitMs: options.lockWaitMs,
			ttlMs: AGGREGATE_TTL_MS,
			usable: (index) => index.from <= from,
			encode: packState,
			decode: unpackState,
			signal: options.signal,
		},
		async (previous) => {
			const refreshed = await refresh(previous, from, options);
			reads = { listed: refreshed.listed, detailed: refreshed.detailed };
			keys = refreshed.keys;
			return refreshed.index;
		},
	);
	const index = shared.value;
	const fromHour = Math.floor(Date.parse(from) / HOUR) * HOUR;
	const hours = index.hours.filter(([hour]) => hour >= fromHour);
	const cells = await readHours(options, index.generation, hours);
	if (keys) await settleKeys(options, keys, shared.stored); // after reading: a refresh that lost reads its own
	return {
		cells,
		since: new Date(Math.max(fromHour, Date.parse(index.coveredFrom))).toISOString(),
		pending: index.pending,
		coverage: {
			from: index.coveredFrom,
			executions: index.counted + index.pending.length,
			truncated: index.truncated,
			refreshedAt: index.refreshedAt,
			source: shared.source,
			...reads,
		},
	};
}

/**
 * After a refresh: when its state was saved, the keys it replaced expire soon; when not (another refresh's was), its
 * own keys go, as nothing names them.
 */
async function settleKeys(
	options: ExecutionIndexOptions,
	{ written, replaced }: RefreshKeys,
	stored: boolean,
): Promise<void> {
	if (stored)
		await mapWithConcurrency(replaced, 8, ({ key, json }) =>
			options.store.set(options.namespace, key, json, { ttlMs: SUPERSEDED_TTL_MS }),
		);
	else await mapWithConcurrency(written, 8, (key) => options.store.delete(options.namespace, key));
}

/** The aggregates stored for `hours`, merged into one map. */
async function readHours(
	options: ExecutionIndexOptions,
	generation: string,
	hours: HourKeys,
): Promise<MinuteCells> {
	const stored = await mapWithConcurrency(hours, 16, (hour) =>
		options.store.get(options.namespace, hourKey(options.workflowId, generation, hour)),
	);
	const cells: MinuteCells = new Map();
	for (const value of stored)
		for (const [minute, byWorkflow] of cellsFromJson(value?.value)) cells.set(minute, byWorkflow);
	return cells;
}

/** The keys a refresh wrote (its own) and the keys it replaced, with their values as they were stored. */
interface RefreshKeys {
	written: string[];
	replaced: Array<{ key: string; json: string }>;
}

/**
 * Adds `added` to the stored aggregates: each hour touched is read from the key `base` names for it, merged, and
 * written under this refresh's `write`. Returns the new state's hours and the keys written and replaced.
 */
async function storeCells(
	options: ExecutionIndexOptions,
	generation: string,
	write: string,
	base: HourKeys,
	added: MinuteCells,
): Promise<RefreshKeys & { hours: HourKeys }> {
	const byHour = new Map<number, MinuteCells>();
	for (const [minute, byWorkflow] of added) {
		const hour = Math.floor(minute / HOUR) * HOUR;
		if (!byHour.has(hour)) byHour.set(hour, new Map());
		byHour.get(hour)!.set(minute, byWorkflow);
	}
	const hours = new Map(base);
	const keys: RefreshKeys = { written: [], replaced: [] };
	await mapWithConcurrency([...byHour], 8, async ([hour, cells]) => {
		const previous = hours.get(hour);
		if (previous !== undefined) {
			const key = hourKey(options.workflowId, generation, [hour, previous]);
			const stored = (await options.store.get(options.namespace, key))?.value;
			if (stored !== undefined) keys.replaced.push({ key, json: JSON.stringify(stored) });
			const merged = cellsFromJson(stored);
			mergeCells(merged, cells);
			cells = merged;
		}
		const key = hourKey(options.workflowId, generation, [hour, write]);
		await options.store.set(options.namespace, key, JSON.stringify(cellsToJson(cells)), {
			ttlMs: AGGREGATE_TTL_MS,
		});
		keys.written.push(key);
	});
	for (const hour of byHour.keys()) hours.set(hour, write);
	return { ...keys, hours: [...hours].sort(([a], [b]) => a - b) };
}

/**
 * The stored form of the pending summaries: workflow IDs, statuses and modes as positions in lists, times as epoch
 * ms, one array per execution.
 */
interface PackedState {
	v: 4;
	from: string;
	refreshedAt: string;
	truncated: boolean;
	coveredFrom: string;
	generation: string;
	hours: HourKeys;
	counted: number;
	recent: Array<[string, number]>;
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

function packState(index: IndexState): PackedState {
	const workflows: string[] = [];
	const modes: string[] = [];
	const position = (list: string[], value: string) => {
		const at = list.indexOf(value);
		return at >= 0 ? at : list.push(value) - 1;
	};
	const ms = (iso: string | null) => (iso ? Date.parse(iso) : null);
	const { pending, ...rest } = index;
	return {
		v: 4,
		...rest,
		workflows,
		modes,
		rows: pending.map((s) => [
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

function unpackState(stored: unknown): IndexState | undefined {
	const packed = stored as PackedState | undefined;
	if (packed?.v !== 4 || !Array.isArray(packed.rows)) return undefined; // an older form: built again
	const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
	const { rows, workflows, modes, v: _v, ...state } = packed;
	return {
		...state,
		pending: rows.map(
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
					workflowId: workflows[wf],
					status: EXECUTION_STATUSES[status],
					finished: FINAL_STATUSES.has(EXECUTION_STATUSES[status]),
					mode: modes[mode],
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

const newestFirst = (a: ExecutionSummary, b: ExecutionSummary) =>
	Number(b.id) - Number(a.id) || b.id.localeCompare(a.id);

async function refresh(
	previous: IndexState | undefined,
	from: string,
	options: ExecutionIndexOptions,
): Promise<{ index: IndexState; keys: RefreshKeys; listed: number; detailed: number }> {
	const { client } = options;
	const maxExecutions = options.maxExecutions ?? 10_000;
	const refreshedAt = new Date().toISOString();
	const filter: ExecutionFilter = options.workflowId ? { workflowId: options.workflowId } : {};
	// Extending the window back, or no index yet: a new build over the whole window; else only what started since.
	const base = previous && previous.from <= from ? previous : undefined;
	const listedFrom = base
		? new Date(Date.parse(base.refreshedAt) - OVERLAP_MS).toISOString()
		: from;
	const listing: ExecutionFilter = { ...filter, startedAfter: listedFrom };
	const listed = await client.listExecutions(listing, maxExecutions);
	const { byId, reread, detailed } = await summariesToCount(base, listed, client, listing);

	const truncated = listed.length >= maxExecutions;
	const oldestListed = listed.length
		? listed.reduce((a, e) => (e.startedAt && e.startedAt < a ? e.startedAt : a), refreshedAt)
		: from;
	const bound = base ? base.from : from;
	// A truncated first build covers the span it listed; a truncated later listing leaves a gap: said, not hidden.
	const coveredFrom = base ? base.coveredFrom : truncated ? oldestListed : from;
	const generation = base?.generation ?? randomUUID();
	const { add, added, stillPending, recent } = countSummaries(byId, bound, base, refreshedAt);
	const { hours, ...keys } = await storeCells(
		options,
		generation,
		randomUUID().slice(0, 8),
		base?.hours ?? [],
		add,
	);
	return {
		keys,
		index: {
			from: bound,
			coveredFrom,
			refreshedAt,
			truncated: (base?.truncated ?? false) || truncated,
			generation,
			hours: hours.filter(([hour]) => hour + AGGREGATE_TTL_MS > Date.now()), // older ones have expired
			counted: (base?.counted ?? 0) + added,
			recent,
			pending: stillPending.sort(newestFirst),
		},
		listed: listed.length + reread,
		detailed,
	};
}

/**
 * The executions a refresh counts, by ID: the base's pending ones and the ones listed now that it has not counted
 * yet, running or waiting ones started before the listing read again (`reread` of them) and the finished ones read
 * with their error and usage (`detailed` of them).
 */
async function summariesToCount(
	base: IndexState | undefined,
	listed: readonly ApiExecution[],
	client: N8nApiClient,
	filter: ExecutionFilter,
): Promise<{ byId: Map<string, ExecutionSummary>; reread: number; detailed: number }> {
	const counted = new Set((base?.recent ?? []).map(([id]) => id));
	const byId = new Map<string, ExecutionSummary>();
	for (const s of base?.pending ?? []) byId.set(s.id, s);
	for (const execution of listed) {
		const summary = summarize(execution);
		if (!counted.has(summary.id)) byId.set(summary.id, summary);
	}
	const seen = new Set(listed.map((e) => String(e.id)));
	const pending = [...byId.values()].filter((s) => !s.finished && !seen.has(s.id));
	await mapWithConcurrency(pending, 4, (s) => reread(client, s.id, byId, false));
	const undetailed = [...byId.values()].filter((s) => s.finished && !s.detailed);
	await readDetails(client, undetailed, byId, filter);
	return { byId, reread: pending.length, detailed: undetailed.length };
}

/**
 * Adds the finished, detailed executions of `byId` started from `bound` on to new cells; the others stay pending.
 * `recent`: the IDs counted within the overlap before `refreshedAt` (the next listing sees them again).
 */
function countSummaries(
	byId: ReadonlyMap<string, ExecutionSummary>,
	bound: string,
	base: IndexState | undefined,
	refreshedAt: string,
): {
	add: MinuteCells;
	added: number;
	stillPending: ExecutionSummary[];
	recent: IndexState['recent'];
} {
	const add: MinuteCells = new Map();
	const stillPending: ExecutionSummary[] = [];
	const recentFrom = Date.parse(refreshedAt) - OVERLAP_MS;
	const recent = (base?.recent ?? []).filter(([, start]) => start >= recentFrom);
	let added = 0;
	for (const s of byId.values()) {
		if (s.startedAt && s.startedAt < bound) continue;
		if (!(s.finished && s.detailed) || minuteOf(s) === undefined) {
			stillPending.push(s);
			continue;
		}
		addSummary(add, s);
		added++;
		const start = Date.parse(s.startedAt!);
		if (start >= recentFrom) recent.push([s.id, start]);
	}
	return { add, added, stillPending, recent };
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
	const oldest = targets.reduce((a, s) => Math.min(a, Number(s.id)), Infinity);
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
