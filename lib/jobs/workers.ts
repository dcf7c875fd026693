/**
 * The workers of an n8n queue-mode cluster, asked the way n8n's own Workers view asks them: a `get-worker-status`
 * command on n8n's pub/sub channel `<N8N_REDIS_KEY_PREFIX>:n8n.commands`, answered by every running worker on
 * `<prefix>:n8n.worker-response` (n8n's internal protocol, read defensively). Answers are remembered in the Memory Store
 * so a worker that stopped answering is still listed, with when it was last seen.
 */
import type Redis from 'ioredis';

import type { MemoryStore, Namespace } from '../memory';
import { JobsError } from './errors';

export interface WorkerStatus {
	/**
	 * The worker process: n8n's host ID, with `#2`, `#3`, … for further processes answering under the same host ID
	 * (n8n's host ID is `worker-<hostname>` in a container, the same for every worker process of that host, and its
	 * answers carry nothing else that tells two processes apart).
	 */
	id: string;
	/** n8n's host ID of the worker process. */
	hostId: string;
	/** ISO start of the worker process (now − its uptime); null when it did not say. */
	startedAt: string | null;
	hostname: string | null;
	version: string | null;
	/** Executions it is running now. */
	running: Array<{
		executionId: string;
		workflowId: string;
		workflowName: string | null;
		startedAt: string | null;
	}>;
	uptimeSeconds: number | null;
	/** Resident memory of the worker process, bytes. */
	memoryRssBytes: number | null;
	/** 1-minute load average of its host. */
	load1: number | null;
	/** ISO time of its latest answer. */
	lastSeen: string;
	/** True when it answered this request. */
	answered: boolean;
}

/**
 * Publishes `get-worker-status` and collects the answers that arrive within `waitMs` (default 1 000), returning early
 * once `expected` workers have answered (e.g. as many as answered last time). `redis`: a client
 * of the cluster's Redis (a subscriber connection is duplicated from it and closed). Throws JobsError
 * QUEUE_UNAVAILABLE when Redis cannot be used.
 */
export async function askWorkers(
	redis: Redis,
	{
		prefix = 'n8n',
		waitMs = 1000,
		expected = Infinity,
	}: { prefix?: string; waitMs?: number; expected?: number } = {},
): Promise<WorkerStatus[]> {
	const subscriber = redis.duplicate({ lazyConnect: true, maxRetriesPerRequest: 0 });
	const answers: WorkerStatus[] = [];
	const responses = `${prefix}:n8n.worker-response`;
	let allAnswered = () => {};
	const enough = new Promise<void>((resolve) => (allAnswered = resolve));
	try {
		await subscriber.connect();
		subscriber.on('message', (channel: string, text: string) => {
			if (channel !== responses) return;
			const status = parseAnswer(text);
			if (status) answers.push(status);
			if (answers.length >= expected) allAnswered();
		});
		await subscriber.subscribe(responses);
		await redis.publish(
			`${prefix}:n8n.commands`,
			JSON.stringify({
				command: 'get-worker-status',
				payload: { requestingUserId: 'openagents-job-monitor' },
				senderId: 'openagents-job-monitor',
				selfSend: false,
				debounce: false,
			}),
		);
		let timer: NodeJS.Timeout | undefined;
		await Promise.race([enough, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
		clearTimeout(timer);
		return numberSameHost(answers);
	} catch (error) {
		throw new JobsError(
			'QUEUE_UNAVAILABLE',
			`Cannot ask the workers through Redis: ${(error as Error).message}`,
			{
				cause: error,
			},
		);
	} finally {
		subscriber.disconnect();
	}
}

/** Gives the second and later processes answering under one host ID the IDs `<host ID>#2`, … (oldest process first). */
function numberSameHost(answers: WorkerStatus[]): WorkerStatus[] {
	const seen = new Map<string, number>();
	return [...answers]
		.sort(
			(a, b) => a.hostId.localeCompare(b.hostId) || (b.uptimeSeconds ?? 0) - (a.uptimeSeconds ?? 0),
		)
		.map((worker) => {
			const n = (seen.get(worker.hostId) ?? 0) + 1;
			seen.set(worker.hostId, n);
			return n === 1 ? worker : { ...worker, id: `${worker.hostId}#${n}` };
		});
}

/** One worker's answer, or undefined for any other message on the channel. */
export function parseAnswer(text: string, now = new Date()): WorkerStatus | undefined {
	let message: {
		response?: unknown;
		senderId?: unknown;
		payload?: Record<string, unknown>;
	};
	try {
		message = JSON.parse(text);
	} catch {
		return undefined;
	}
	if (message.response !== 'response-to-get-worker-status' || typeof message.senderId !== 'string')
		return undefined;
	const p = message.payload ?? {};
	const num = (value: unknown) =>
		typeof value === 'number' && Number.isFinite(value) ? value : null;
	const str = (value: unknown) => (typeof value === 'string' ? value : null);
	const memory = (p.process as { memory?: { rss?: unknown } } | undefined)?.memory;
	const jobs = Array.isArray(p.runningJobsSummary)
		? (p.runningJobsSummary as Array<Record<string, unknown>>)
		: [];
	const uptime = num(p.uptime);
	return {
		id: message.senderId,
		hostId: message.senderId,
		startedAt:
			uptime === null
				? null
				: new Date(Math.round(now.getTime() / 1000 - uptime) * 1000).toISOString(),
		hostname: str(p.hostname),
		version: str(p.version),
		running: jobs.map((job) => ({
			executionId: String(job.executionId ?? ''),
			workflowId: String(job.workflowId ?? ''),
			workflowName: str(job.workflowName),
			startedAt: job.startedAt ? new Date(job.startedAt as string).toISOString() : null,
		})),
		uptimeSeconds: uptime,
		memoryRssBytes: num(memory?.rss),
		load1: Array.isArray(p.loadAvg) ? num(p.loadAvg[0]) : null,
		lastSeen: now.toISOString(),
		answered: true,
	};
}

/**
 * Merges `answers` into the workers remembered under `ns` and returns every worker seen within `recentMs`
 * (default 10 min), those that did not answer now with `answered: false` and their last answer.
 */
export async function rememberWorkers(
	store: MemoryStore,
	ns: Namespace,
	answers: WorkerStatus[],
	recentMs = 600_000,
): Promise<WorkerStatus[]> {
	const stored = (await store.get(ns, 'workers'))?.value as
		Record<string, WorkerStatus> | undefined;
	const now = Date.now();
	const all: Record<string, WorkerStatus> = {};
	for (const [id, worker] of Object.entries(stored ?? {}))
		if (now - Date.parse(worker.lastSeen) < recentMs)
			all[id] = { ...worker, answered: false, running: [] };
	for (const worker of answers) all[worker.id] = worker;
	await store.set(ns, 'workers', JSON.stringify(all), { ttlMs: recentMs });
	return Object.values(all).sort(
		(a, b) => Number(b.answered) - Number(a.answered) || a.id.localeCompare(b.id),
	);
}
