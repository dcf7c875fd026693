/** Statistics over a set of jobs (executions): counts, success rate, duration percentiles, throughput, failures. */
import { percentile } from '../stats';
import { ENDED_STATUSES, FAILED_STATUSES, type ExecutionStatus, type Job } from './job';

interface FailureGroup {
	/** Node the execution failed in (null when unknown, e.g. a crash before any node ran). */
	node: string | null;
	message: string;
	count: number;
	/** Up to 10 example execution ids, newest first. */
	executionIds: string[];
}

export interface JobStats {
	total: number;
	byStatus: Record<ExecutionStatus, number>;
	/** Executions that ended: success + error + crashed (canceled ones are counted in byStatus only). */
	ended: number;
	/** success / ended, 0…1; null when none ended. */
	successRate: number | null;
	/** Over ended executions, ms. */
	durationMs: { p50: number | null; p95: number | null; max: number | null; mean: number | null };
	/** Ended executions per minute over the window (given, else first start → last stop); null without a window. */
	throughputPerMinute: number | null;
	window: { from: string | null; to: string | null };
	/** Failed (error, crashed) executions grouped by node and message, largest group first; needs execution data. */
	failures: FailureGroup[];
}

const emptyCounts = (): Record<ExecutionStatus, number> => ({
	canceled: 0,
	crashed: 0,
	error: 0,
	new: 0,
	running: 0,
	success: 0,
	unknown: 0,
	waiting: 0,
});
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Metrics over `jobs`. `window` (ISO times) fixes the throughput denominator; without it the span from the earliest
 * start to the latest stop is used. Percentiles are nearest-rank (lib/stats).
 */
export function jobStats(
	jobs: readonly Job[],
	window: { from?: string; to?: string } = {},
): JobStats {
	const byStatus = emptyCounts();
	for (const job of jobs) byStatus[job.status] = (byStatus[job.status] ?? 0) + 1;
	const durations = jobs
		.filter((j) => ENDED_STATUSES.has(j.status))
		.map((j) => j.durationMs)
		.filter((d): d is number => d !== null);

	const starts = jobs
		.map((j) => (j.startedAt ? Date.parse(j.startedAt) : NaN))
		.filter(Number.isFinite);
	const stops = jobs
		.map((j) => (j.stoppedAt ? Date.parse(j.stoppedAt) : NaN))
		.filter(Number.isFinite);
	const from = window.from ? Date.parse(window.from) : starts.length ? Math.min(...starts) : NaN;
	const to = window.to ? Date.parse(window.to) : stops.length ? Math.max(...stops) : NaN;

	const groups = new Map<string, FailureGroup>();
	for (const job of jobs) {
		if (!job.error || !FAILED_STATUSES.has(job.status)) continue;
		const key = JSON.stringify([job.error.node, job.error.message]);
		const group = groups.get(key) ?? {
			node: job.error.node,
			message: job.error.message,
			count: 0,
			executionIds: [],
		};
		group.count++;
		if (group.executionIds.length < 10) group.executionIds.push(job.id);
		groups.set(key, group);
	}

	return assembleJobStats({
		byStatus,
		durations: {
			p50: durations.length ? percentile(durations, 50) : null,
			p95: durations.length ? percentile(durations, 95) : null,
			max: durations.length ? Math.max(...durations) : null,
			sum: durations.reduce((a, b) => a + b, 0),
			n: durations.length,
		},
		from,
		to,
		failures: [...groups.values()].sort(
			(a, b) => b.count - a.count || String(a.node).localeCompare(String(b.node)),
		),
	});
}

/**
 * The JobStats of counts by status, the ended executions' durations (ms: nearest-rank p50 and p95, max, sum, count),
 * a window (ms since the epoch, NaN when unknown) and the failure groups in their order. jobStats and the execution
 * aggregates (the dashboard's cold view) both build their result here, so they cannot disagree on a field.
 */
export function assembleJobStats({
	byStatus,
	durations,
	from,
	to,
	failures,
}: {
	byStatus: Record<ExecutionStatus, number>;
	durations: { p50: number | null; p95: number | null; max: number | null; sum: number; n: number };
	from: number;
	to: number;
	failures: FailureGroup[];
}): JobStats {
	const ended = [...ENDED_STATUSES].reduce((n, status) => n + (byStatus[status] ?? 0), 0);
	const minutes = (to - from) / 60_000;
	return {
		total: Object.values(byStatus).reduce((a, b) => a + b, 0),
		byStatus,
		ended,
		successRate: ended ? round(byStatus.success / ended, 4) : null,
		durationMs: {
			p50: durations.p50,
			p95: durations.p95,
			max: durations.max,
			mean: durations.n ? round(durations.sum / durations.n, 1) : null,
		},
		throughputPerMinute: Number.isFinite(minutes) && minutes > 0 ? round(ended / minutes) : null,
		window: {
			from: Number.isFinite(from) ? new Date(from).toISOString() : null,
			to: Number.isFinite(to) ? new Date(to).toISOString() : null,
		},
		failures,
	};
}
