/**
 * Queue depth of n8n's queue mode: from Redis (the Bull queue n8n uses, "jobs" under QUEUE_BULL_PREFIX, default
 * "bull") or from main's Prometheus /metrics (N8N_METRICS_INCLUDE_QUEUE_METRICS=true; refreshed every
 * N8N_METRICS_QUEUE_METRICS_INTERVAL seconds, so it lags).
 */
import { JobsError } from './errors';

export interface QueueStats {
	source: 'redis' | 'metrics';
	/** Jobs not yet taken by a worker. */
	waiting: number;
	/** Jobs a worker is running now. */
	active: number;
	/** Redis only: delayed and paused jobs. */
	delayed?: number;
	paused?: number;
	/** Kept finished jobs (Redis: what Bull still holds; metrics: counted since main started). */
	completed: number;
	failed: number;
	/** Redis only: the execution and workflow of each active job. */
	activeJobs?: Array<{ jobId: string; executionId: string; workflowId: string | null }>;
}

/** The ioredis calls this needs. */
interface RedisLike {
	llen(key: string): Promise<number>;
	zcard(key: string): Promise<number>;
	lrange(key: string, start: number, stop: number): Promise<string[]>;
	hget(key: string, field: string): Promise<string | null>;
}

/** Counts from Bull's keys `<prefix>:<queue>:wait|active|paused` (lists) and `delayed|completed|failed` (sorted sets). */
export async function queueStatsFromRedis(
	redis: RedisLike,
	prefix = 'bull',
	queue = 'jobs',
	activeLimit = 100,
): Promise<QueueStats> {
	const key = (name: string) => `${prefix}:${queue}:${name}`;
	try {
		const [waiting, active, paused, delayed, completed, failed, activeIds] = await Promise.all([
			redis.llen(key('wait')),
			redis.llen(key('active')),
			redis.llen(key('paused')),
			redis.zcard(key('delayed')),
			redis.zcard(key('completed')),
			redis.zcard(key('failed')),
			redis.lrange(key('active'), 0, activeLimit - 1),
		]);
		const activeJobs = await Promise.all(
			activeIds.map(async (jobId) => {
				const data = JSON.parse((await redis.hget(key(jobId), 'data')) ?? '{}') as {
					executionId?: unknown;
					workflowId?: unknown;
				};
				return {
					jobId,
					executionId: String(data.executionId ?? ''),
					workflowId: data.workflowId === undefined ? null : String(data.workflowId),
				};
			}),
		);
		return { source: 'redis', waiting, active, paused, delayed, completed, failed, activeJobs };
	} catch (error) {
		throw new JobsError(
			'QUEUE_UNAVAILABLE',
			`Cannot read the queue from Redis: ${(error as Error).message}`,
			{ cause: error },
		);
	}
}

/** Counts from n8n's `n8n_scaling_mode_queue_jobs_{waiting,active,completed,failed}` gauges (any metric prefix). */
export function queueStatsFromMetrics(metricsText: string): QueueStats {
	const value = (name: string) => {
		const match = new RegExp(
			`^\\w*scaling_mode_queue_jobs_${name}(?:\\{[^}]*\\})?\\s+([0-9.eE+-]+)`,
			'm',
		).exec(metricsText);
		return match ? Number(match[1]) : undefined;
	};
	const [waiting, active, completed, failed] = ['waiting', 'active', 'completed', 'failed'].map(
		value,
	);
	if (waiting === undefined || active === undefined) {
		throw new JobsError(
			'QUEUE_UNAVAILABLE',
			"n8n's /metrics has no queue metrics: start main with N8N_METRICS=true and N8N_METRICS_INCLUDE_QUEUE_METRICS=true (queue mode), or read the queue from Redis",
		);
	}
	return { source: 'metrics', waiting, active, completed: completed ?? 0, failed: failed ?? 0 };
}
