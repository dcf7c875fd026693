/** Executions as n8n stores them (its Postgres `execution_entity` table), for benchmarks that count jobs. */
import type { Pool } from 'pg';

import { FINAL_STATUSES as FINAL } from '../lib/jobs/job';
import type { N8nClient } from '../stack/n8n/client';

/** n8n's statuses after which an execution will not change by itself (lib/jobs' set, as a list of strings). */
export const FINAL_STATUSES: string[] = [...FINAL];

/** Executions of a workflow by status. */
export async function statusCounts(db: Pool, workflowId: string): Promise<Record<string, number>> {
	const { rows } = await db.query<{ status: string; n: number }>(
		'SELECT status, count(*)::int AS n FROM execution_entity WHERE "workflowId" = $1 GROUP BY status',
		[workflowId],
	);
	return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

export const sum = (counts: Record<string, number>, statuses = Object.keys(counts)) =>
	statuses.reduce((n, s) => n + (counts[s] ?? 0), 0);

/** Waits until `expected` executions of the workflow are final, or none has finished for `stallMs` (ms). */
export async function settle(
	db: Pool,
	workflowId: string,
	expected: number,
	stallMs = 120_000,
): Promise<Record<string, number>> {
	let last = -1;
	let lastChange = Date.now();
	for (;;) {
		const counts = await statusCounts(db, workflowId);
		const done = sum(counts, FINAL_STATUSES);
		if (done >= expected) return counts;
		if (done !== last) [last, lastChange] = [done, Date.now()];
		else if (Date.now() - lastChange > stallMs) return counts;
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
}

/**
 * Sends `jobs` requests at once to a webhook that responds immediately, waits for their executions to finish and
 * counts them: accepted (HTTP 200), succeeded, failed, unfinished, lost (accepted without an execution), completion
 * rate (%), when the first request was sent, time to submit all and total time from the first request to the last execution stopping (ms),
 * executions/s over that total.
 */
export async function submitAtOnce(
	client: N8nClient,
	db: Pool,
	workflowId: string,
	path: string,
	jobs: number,
	body: (i: number) => unknown,
) {
	const started = Date.now();
	const t = performance.now();
	const statuses = await Promise.all(
		Array.from({ length: jobs }, async (_, i) => {
			try {
				const res = await client.webhook(path, body(i));
				await res.text();
				return res.status;
			} catch {
				return 0;
			}
		}),
	);
	const submitMs = Math.round(performance.now() - t);
	const accepted = statuses.filter((s) => s === 200).length;
	const counts = await settle(db, workflowId, accepted);
	const { rows } = await db.query<{ last: Date | null }>(
		'SELECT max("stoppedAt") AS last FROM execution_entity WHERE "workflowId" = $1',
		[workflowId],
	);
	const totalMs = rows[0].last ? rows[0].last.getTime() - started : NaN;
	const succeeded = counts.success ?? 0;
	const failed = sum(counts, ['error', 'crashed', 'canceled']);
	return {
		submitted: jobs,
		accepted,
		succeeded,
		failed,
		unfinished: sum(counts) - succeeded - failed,
		lost: accepted - sum(counts),
		completionRatePercent: Math.round((succeeded / jobs) * 10000) / 100,
		submitMs,
		/** When the first request was sent, ms since the epoch. */
		startedAt: started,
		totalMs,
		executionsPerSecond: Math.round((succeeded / (totalMs / 1000)) * 100) / 100,
	};
}
