/**
 * Analytics over execution summaries for a time window: KPIs (jobStats plus usage totals), time-bucketed series
 * (executions by status, duration p50/p95, tokens and cost per workflow), totals per workflow, failures.
 */
import { percentile } from '../stats';
import { ENDED_STATUSES, EXECUTION_STATUSES, FAILED_STATUSES, type ExecutionStatus } from './job';
import { jobStats, type JobStats } from './metrics';
import type { ExecutionSummary, ExecutionUsage } from './summary';

export interface AnalyticsWindow {
	/** ISO 8601; executions that started in [from, to) are counted. */
	from: string;
	to: string;
	/** Bucket width of the series, ms (≥ 1 000). */
	bucketMs: number;
}

interface UsageTotalsOverWindow extends ExecutionUsage {
	/** Executions that recorded usage (ran an OpenAgents Agent, Planner or Knowledge Base node). */
	executions: number;
}

export interface SeriesBucket {
	/** ISO start of the bucket. */
	start: string;
	byStatus: Record<ExecutionStatus, number>;
	/** Over executions that ended in this bucket's starts, ms; null when none. */
	durationP50: number | null;
	durationP95: number | null;
	/** Per workflow ID: total tokens and cost of the executions that started in the bucket. */
	tokensByWorkflow: Record<string, number>;
	costByWorkflow: Record<string, number>;
}

export interface WorkflowTotals {
	workflowId: string;
	executions: number;
	success: number;
	failed: number;
	durationP95: number | null;
	totalTokens: number;
	cost: number;
	modelCalls: number;
}

/** A workflow's totals before its first execution is counted. */
export function emptyWorkflowTotals(workflowId: string): WorkflowTotals {
	return {
		workflowId,
		executions: 0,
		success: 0,
		failed: 0,
		durationP95: null,
		totalTokens: 0,
		cost: 0,
		modelCalls: 0,
	};
}

export interface Analytics {
	window: AnalyticsWindow;
	stats: JobStats;
	usage: UsageTotalsOverWindow;
	series: SeriesBucket[];
	/** Largest total tokens first. */
	workflows: WorkflowTotals[];
}

export const ZERO_USAGE = (): UsageTotalsOverWindow => ({
	executions: 0,
	promptTokens: 0,
	completionTokens: 0,
	totalTokens: 0,
	modelCalls: 0,
	cost: 0,
	retries: 0,
	toolErrors: 0,
});
const emptyByStatus = () =>
	Object.fromEntries(EXECUTION_STATUSES.map((s) => [s, 0])) as Record<ExecutionStatus, number>;
/** Cost is summed in integer units of 1e-8 of the currency: sums do not depend on the order (no float noise). */
export const COST_UNIT = 1e8;
const units = (cost: number) => Math.round(cost * COST_UNIT);

/** The window's start time of an execution: startedAt, which n8n's API also filters on. */
const startOf = (s: ExecutionSummary) => (s.startedAt ? Date.parse(s.startedAt) : NaN);

/** A workflow's totals while the summaries are counted: the ended executions' durations, for the p95. */
type WorkflowTally = WorkflowTotals & { durations: number[] };

/**
 * Aggregates the summaries that started inside `window`. Percentiles are nearest-rank (lib/stats); buckets are aligned
 * to `window.from`; the last one may be partial. Throws RangeError for an empty or inverted window or bucketMs < 1 000.
 */
export function analyze(
	summaries: readonly ExecutionSummary[],
	window: AnalyticsWindow,
): Analytics {
	const from = Date.parse(window.from);
	const to = Date.parse(window.to);
	if (!(to > from)) throw new RangeError(`The window ${window.from} – ${window.to} is empty`);
	if (!(window.bucketMs >= 1000)) throw new RangeError('bucketMs must be at least 1000');
	const inWindow = summaries.filter((s) => {
		const t = startOf(s);
		return t >= from && t < to;
	});

	const series = emptySeries(from, Math.ceil((to - from) / window.bucketMs), window.bucketMs);
	const durations: number[][] = series.map(() => []);
	const usage = ZERO_USAGE();
	const costs = { total: 0, buckets: series.map(() => new Map<string, number>()) };
	const workflows = new Map<string, WorkflowTally>();
	for (const s of inWindow) {
		const i = Math.floor((startOf(s) - from) / window.bucketMs);
		const ended = ENDED_STATUSES.has(s.status) && s.durationMs !== null;
		series[i].byStatus[s.status]++;
		if (ended) durations[i].push(s.durationMs as number);
		const wf = countWorkflowExecution(workflows, s, ended);
		if (s.usage) addUsage(s.workflowId, s.usage, usage, wf, series[i], costs, i);
	}
	series.forEach((bucket, i) => {
		for (const [wf, cost] of costs.buckets[i]) bucket.costByWorkflow[wf] = cost / COST_UNIT;
		if (!durations[i].length) return;
		bucket.durationP50 = percentile(durations[i], 50);
		bucket.durationP95 = percentile(durations[i], 95);
	});
	usage.cost = costs.total / COST_UNIT;

	return {
		window,
		stats: jobStats(inWindow, { from: window.from, to: window.to }),
		usage,
		series,
		workflows: [...workflows.values()]
			.map(({ durations: d, ...totals }) => ({
				...totals,
				cost: totals.cost / COST_UNIT,
				durationP95: d.length ? percentile(d, 95) : null,
			}))
			.sort((a, b) => b.totalTokens - a.totalTokens || b.executions - a.executions),
	};
}

/** `count` empty buckets of `bucketMs` from `from` (ms since the epoch). */
export function emptySeries(from: number, count: number, bucketMs: number): SeriesBucket[] {
	return Array.from({ length: count }, (_, i) => ({
		start: new Date(from + i * bucketMs).toISOString(),
		byStatus: emptyByStatus(),
		durationP50: null,
		durationP95: null,
		tokensByWorkflow: {},
		costByWorkflow: {},
	}));
}

/** Counts the execution in its workflow's totals (created on the workflow's first execution); returns them. */
function countWorkflowExecution(
	workflows: Map<string, WorkflowTally>,
	s: ExecutionSummary,
	ended: boolean,
): WorkflowTally {
	const wf = workflows.get(s.workflowId) ?? { ...emptyWorkflowTotals(s.workflowId), durations: [] };
	wf.executions++;
	if (s.status === 'success') wf.success++;
	if (FAILED_STATUSES.has(s.status)) wf.failed++;
	if (ended) wf.durations.push(s.durationMs as number);
	workflows.set(s.workflowId, wf);
	return wf;
}

/** Adds an execution's usage to the window's totals, its workflow's, and its bucket's per-workflow series. */
function addUsage(
	workflowId: string,
	used: ExecutionUsage,
	usage: UsageTotalsOverWindow,
	wf: WorkflowTally,
	bucket: SeriesBucket,
	costs: { total: number; buckets: Array<Map<string, number>> },
	i: number,
): void {
	usage.executions++;
	for (const field of Object.keys(used) as Array<keyof ExecutionUsage>)
		if (field !== 'cost') usage[field] += used[field];
	costs.total += units(used.cost);
	wf.totalTokens += used.totalTokens;
	wf.cost += units(used.cost); // units until the end
	wf.modelCalls += used.modelCalls;
	bucket.tokensByWorkflow[workflowId] =
		(bucket.tokensByWorkflow[workflowId] ?? 0) + used.totalTokens;
	costs.buckets[i].set(workflowId, (costs.buckets[i].get(workflowId) ?? 0) + units(used.cost));
}

/** A bucket width that gives at most `maxBuckets` buckets over `spanMs`: 1, 5, 15, 30 min, 1, 3, 6, 12 h or 1 day. */
export function bucketFor(spanMs: number, maxBuckets = 60): number {
	const minute = 60_000;
	const steps = [1, 5, 15, 30, 60, 180, 360, 720, 1440].map((m) => m * minute);
	return steps.find((step) => spanMs / step <= maxBuckets) ?? steps[steps.length - 1];
}
