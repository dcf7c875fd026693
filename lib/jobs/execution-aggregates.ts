/**
 * Per-minute, per-workflow aggregates of execution summaries: what the dashboard and the Prometheus metrics need of
 * every execution (counts by status, the durations of ended ones, usage sums, failures by node and message), kept so
 * that adding executions never needs the executions already counted, and so that the analytics of a window computed
 * from them equal `analyze` over the summaries themselves (same counts, same nearest-rank percentiles, same order).
 *
 * Durations are kept as a multiset (ms → count), so percentiles stay exact; cost as integer units of 1e-8 (as
 * `analyze` sums it), so sums do not depend on the order executions were added in.
 */
import {
	COST_UNIT,
	emptySeries,
	emptyWorkflowTotals,
	ZERO_USAGE,
	type Analytics,
	type AnalyticsWindow,
	type SeriesBucket,
	type WorkflowTotals,
} from './analytics';
import { ENDED_STATUSES, EXECUTION_STATUSES, FAILED_STATUSES, type ExecutionStatus } from './job';
import { assembleJobStats, type JobStats } from './metrics';
import { USAGE_FIELDS, type ExecutionSummary, type ExecutionUsage } from './summary';

const COST_AT = USAGE_FIELDS.indexOf('cost');
const MINUTE = 60_000;
/** Example execution ids kept per failure group (jobStats shows 10). */
const FAILURE_IDS = 10;

/** The executions of one workflow that started in one minute (JSON as stored). */
export interface Cell {
	/** Executions by status, in EXECUTION_STATUSES order. */
	s: number[];
	/** Durations of ended executions (success, error, crashed) that have one: ms → count. */
	d: Record<string, number>;
	/** Usage sums in EXECUTION_USAGE_KEYS order (cost in units of 1e-8); `ue` executions recorded usage. */
	u: number[];
	ue: number;
	/** Executions that retry an earlier one (retryOf set). */
	r: number;
	/** Failures: [node, message, count, up to 10 execution ids, largest first]. */
	f: Array<[string | null, string, number, string[]]>;
	/** Largest execution id counted. */
	n: string;
}

/** Minute start (ms since the epoch) → workflow ID → cell. */
export type MinuteCells = Map<number, Map<string, Cell>>;

const emptyCell = (): Cell => ({
	s: EXECUTION_STATUSES.map(() => 0),
	d: {},
	u: USAGE_FIELDS.map(() => 0),
	ue: 0,
	r: 0,
	f: [],
	n: '',
});

const newer = (a: string, b: string) => Number(a) - Number(b) || a.localeCompare(b);

/** The minute an execution started in (ms since the epoch), or undefined when it has not started. */
export function minuteOf(s: ExecutionSummary): number | undefined {
	const t = s.startedAt ? Date.parse(s.startedAt) : NaN;
	return Number.isFinite(t) ? Math.floor(t / MINUTE) * MINUTE : undefined;
}

/** Adds one execution to `cells`; one that has not started (no startedAt) is not counted, as in `analyze`. */
export function addSummary(cells: MinuteCells, s: ExecutionSummary): void {
	const minute = minuteOf(s);
	if (minute === undefined) return;
	let byWorkflow = cells.get(minute);
	if (!byWorkflow) cells.set(minute, (byWorkflow = new Map()));
	let cell = byWorkflow.get(s.workflowId);
	if (!cell) byWorkflow.set(s.workflowId, (cell = emptyCell()));
	cell.s[EXECUTION_STATUSES.indexOf(s.status)]++;
	if (ENDED_STATUSES.has(s.status) && s.durationMs !== null)
		cell.d[s.durationMs] = (cell.d[s.durationMs] ?? 0) + 1;
	if (s.retryOf) cell.r++;
	if (s.usage) {
		cell.ue++;
		USAGE_FIELDS.forEach((field, i) => {
			cell.u[i] += i === COST_AT ? Math.round(s.usage![field] * COST_UNIT) : s.usage![field];
		});
	}
	if (s.error && FAILED_STATUSES.has(s.status))
		addFailure(cell.f, [s.error.node, s.error.message, 1, [s.id]]);
	if (!cell.n || newer(s.id, cell.n) > 0) cell.n = s.id;
}

/** Adds `group` to `groups` (same node and message: counts added, the largest ids kept). */
function addFailure(groups: Cell['f'], [node, message, count, ids]: Cell['f'][number]): void {
	const known = groups.find(([n, m]) => n === node && m === message);
	if (!known) {
		groups.push([node, message, count, ids.slice(0, FAILURE_IDS)]);
		return;
	}
	known[2] += count;
	known[3] = [...known[3], ...ids].sort((a, b) => newer(b, a)).slice(0, FAILURE_IDS);
}

/** Adds cell `b` into cell `a`. */
export function mergeCell(a: Cell, b: Cell): void {
	b.s.forEach((count, i) => (a.s[i] += count));
	for (const [ms, count] of Object.entries(b.d)) a.d[ms] = (a.d[ms] ?? 0) + count;
	b.u.forEach((sum, i) => (a.u[i] += sum));
	a.ue += b.ue;
	a.r += b.r;
	for (const group of b.f) addFailure(a.f, group);
	if (!a.n || (b.n && newer(b.n, a.n) > 0)) a.n = b.n;
}

/** Adds every cell of `from` into `into` (cells of `from` are copied, never shared). */
export function mergeCells(into: MinuteCells, from: MinuteCells): void {
	for (const [minute, byWorkflow] of from) {
		let target = into.get(minute);
		if (!target) into.set(minute, (target = new Map()));
		for (const [workflowId, cell] of byWorkflow) {
			const known = target.get(workflowId);
			if (known) mergeCell(known, cell);
			else target.set(workflowId, copyCell(cell));
		}
	}
}

const copyCell = (cell: Cell): Cell => {
	const copy = emptyCell();
	mergeCell(copy, cell);
	return copy;
};

/** Cells as stored: { minute: { workflowId: cell } }. */
export const cellsToJson = (cells: MinuteCells): Record<string, Record<string, Cell>> =>
	Object.fromEntries([...cells].map(([minute, byWf]) => [minute, Object.fromEntries(byWf)]));

export function cellsFromJson(json: unknown): MinuteCells {
	const cells: MinuteCells = new Map();
	if (!json || typeof json !== 'object') return cells;
	for (const [minute, byWf] of Object.entries(json as Record<string, Record<string, Cell>>))
		cells.set(Number(minute), new Map(Object.entries(byWf)));
	return cells;
}

/** A duration multiset being merged: every duration once per execution, sorted once when asked (typed-array sort). */
class Durations {
	private values: number[] = [];
	private sortedValues: Float64Array | undefined;
	add(d: Record<string, number>): void {
		for (const ms in d) {
			const value = Number(ms);
			for (let i = d[ms]; i > 0; i--) this.values.push(value);
		}
		this.sortedValues = undefined;
	}
	get n(): number {
		return this.values.length;
	}
	sorted(): Float64Array {
		this.sortedValues ??= Float64Array.from(this.values).sort();
		return this.sortedValues;
	}
	/** Nearest-rank, as lib/stats; null when empty. */
	percentile(p: number): number | null {
		const sorted = this.sorted();
		if (!sorted.length) return null;
		return sorted[
			Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
		];
	}
	/** ms → count. */
	counts(): Map<number, number> {
		const out = new Map<number, number>();
		for (const value of this.sorted()) out.set(value, (out.get(value) ?? 0) + 1);
		return out;
	}
}

/** Everything one workflow's cells add up to over a span. */
export interface WorkflowRollup {
	workflowId: string;
	byStatus: Record<ExecutionStatus, number>;
	/** Ended executions' durations, ms → count. */
	durations: Map<number, number>;
	retried: number;
	usage: ExecutionUsage;
	usageExecutions: number;
}

const byStatusOf = (counts: number[]) =>
	Object.fromEntries(EXECUTION_STATUSES.map((s, i) => [s, counts[i] ?? 0])) as Record<
		ExecutionStatus,
		number
	>;
const usageOf = (sums: number[]) =>
	Object.fromEntries(
		USAGE_FIELDS.map((field, i) => [field, i === COST_AT ? sums[i] / COST_UNIT : sums[i]]),
	) as ExecutionUsage;

/** Per workflow, the sum of every cell (for counters that cover the whole index, e.g. Prometheus). */
export function rollupByWorkflow(cells: MinuteCells): WorkflowRollup[] {
	const totals = new Map<string, { cell: Cell; durations: Durations }>();
	for (const byWorkflow of cells.values())
		for (const [workflowId, cell] of byWorkflow) {
			let total = totals.get(workflowId);
			if (!total)
				totals.set(workflowId, (total = { cell: emptyCell(), durations: new Durations() }));
			const { d, f: _f, ...rest } = cell;
			mergeCell(total.cell, { ...rest, d: {}, f: [] });
			total.durations.add(d);
		}
	return [...totals].map(([workflowId, { cell, durations }]) => ({
		workflowId,
		byStatus: byStatusOf(cell.s),
		durations: durations.counts(),
		retried: cell.r,
		usage: usageOf(cell.u),
		usageExecutions: cell.ue,
	}));
}

/**
 * The analytics of `window` from cells: equal to `analyze` over the summaries the cells were built from. The window's
 * from and to, and bucketMs, must be whole minutes (cells hold minutes): RangeError otherwise, or for an empty window.
 */
export function analyzeCells(cells: MinuteCells, window: AnalyticsWindow): Analytics {
	const from = Date.parse(window.from);
	const to = Date.parse(window.to);
	if (!(to > from)) throw new RangeError(`The window ${window.from} – ${window.to} is empty`);
	if (from % MINUTE || to % MINUTE || !(window.bucketMs >= MINUTE) || window.bucketMs % MINUTE)
		throw new RangeError('Aggregates answer windows and buckets of whole minutes only');
	const series = emptySeries(from, Math.ceil((to - from) / window.bucketMs), window.bucketMs);
	const bucketDurations = series.map(() => new Durations());
	const bucketCosts = series.map(() => new Map<string, number>());
	const all = new Durations();
	const total = emptyCell();
	const workflows = new Map<string, { totals: WorkflowTotals; durations: Durations; n: string }>();
	const failures: Cell['f'] = [];
	for (const [minute, byWorkflow] of cells) {
		if (minute < from || minute >= to) continue;
		const i = Math.floor((minute - from) / window.bucketMs);
		for (const [workflowId, cell] of byWorkflow) {
			addToBucket(series[i], bucketCosts[i], workflowId, cell);
			bucketDurations[i].add(cell.d);
			all.add(cell.d);
			const { d: _d, f, ...rest } = cell;
			mergeCell(total, { ...rest, d: {}, f: [] });
			for (const group of f) addFailure(failures, [...group]);
			addToWorkflow(workflows, workflowId, cell);
		}
	}
	series.forEach((bucket, i) => {
		for (const [wf, cost] of bucketCosts[i]) bucket.costByWorkflow[wf] = cost / COST_UNIT;
		bucket.durationP50 = bucketDurations[i].percentile(50);
		bucket.durationP95 = bucketDurations[i].percentile(95);
	});
	const usage = { ...ZERO_USAGE(), ...usageOf(total.u), executions: total.ue };
	return {
		window,
		stats: statsOf(total, all, failures, from, to),
		usage,
		series,
		workflows: [...workflows.values()]
			.sort(
				(a, b) =>
					b.totals.totalTokens - a.totals.totalTokens ||
					b.totals.executions - a.totals.executions ||
					newer(b.n, a.n),
			)
			.map(({ totals, durations }) => ({
				...totals,
				cost: totals.cost / COST_UNIT,
				durationP95: durations.percentile(95),
			})),
	};
}

function addToBucket(
	bucket: SeriesBucket,
	costUnits: Map<string, number>,
	workflowId: string,
	cell: Cell,
): void {
	EXECUTION_STATUSES.forEach((status, i) => (bucket.byStatus[status] += cell.s[i]));
	if (!cell.ue) return;
	const tokens = cell.u[USAGE_FIELDS.indexOf('totalTokens')];
	bucket.tokensByWorkflow[workflowId] = (bucket.tokensByWorkflow[workflowId] ?? 0) + tokens;
	costUnits.set(workflowId, (costUnits.get(workflowId) ?? 0) + cell.u[COST_AT]);
}

function addToWorkflow(
	workflows: Map<string, { totals: WorkflowTotals; durations: Durations; n: string }>,
	workflowId: string,
	cell: Cell,
): void {
	let wf = workflows.get(workflowId);
	if (!wf)
		workflows.set(
			workflowId,
			(wf = {
				totals: emptyWorkflowTotals(workflowId),
				durations: new Durations(),
				n: '',
			}),
		);
	const count = (status: ExecutionStatus) => cell.s[EXECUTION_STATUSES.indexOf(status)];
	const t = wf.totals;
	t.executions += cell.s.reduce((a, b) => a + b, 0);
	t.success += count('success');
	for (const status of FAILED_STATUSES) t.failed += count(status);
	t.totalTokens += cell.u[USAGE_FIELDS.indexOf('totalTokens')];
	t.cost += cell.u[COST_AT]; // units until the end
	t.modelCalls += cell.u[USAGE_FIELDS.indexOf('modelCalls')];
	wf.durations.add(cell.d);
	if (!wf.n || newer(cell.n, wf.n) > 0) wf.n = cell.n;
}

/** jobStats over the window, from the summed cells. */
function statsOf(
	total: Cell,
	durations: Durations,
	failures: Cell['f'],
	from: number,
	to: number,
): JobStats {
	const sorted = durations.sorted();
	return assembleJobStats({
		byStatus: byStatusOf(total.s),
		durations: {
			p50: durations.percentile(50),
			p95: durations.percentile(95),
			max: sorted.length ? sorted[sorted.length - 1] : null,
			sum: sorted.reduce((a, b) => a + b, 0),
			n: sorted.length,
		},
		from,
		to,
		failures: failures
			.map(([node, message, count, executionIds]) => ({ node, message, count, executionIds }))
			.sort(
				(a, b) =>
					b.count - a.count ||
					String(a.node).localeCompare(String(b.node)) ||
					newer(b.executionIds[0], a.executionIds[0]),
			),
	});
}

/** Execution ID → workflow ID for the failure examples in `cells` (the page links them into n8n's editor). */
export function failureWorkflows(cells: MinuteCells): Record<string, string> {
	const out: Record<string, string> = {};
	for (const byWorkflow of cells.values())
		for (const [workflowId, cell] of byWorkflow)
			for (const [, , , ids] of cell.f) for (const id of ids) out[id] = workflowId;
	return out;
}
