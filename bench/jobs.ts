/**
 * The headline targets for executions as jobs, in real queue-mode n8n (main + 2 workers, Bull on Redis,
 * executions in Postgres):
 *  - job creation < 50 ms: a webhook in respond-immediately mode (Respond: Immediately) → Set; per request, from
 *    sending it to (a) n8n's HTTP answer and (b) the job appearing in the Bull queue (Bull publishes each added job
 *    id on `<prefix>:jobs:waiting@…`; we subscribe to it). One request at a time, so each job is matched to its
 *    request.
 *  - job status read < 100 ms: the Job Monitor's Get Job (the N8nApiClient call plus toJob, which is all the
 *    operation does) on finished executions, and the Job Monitor node itself in a workflow, timed by n8n
 *    (executionTime of the node in the execution data).
 *  - BENCH_JOBS_AGENT_JOBS (default 500) agent jobs submitted at once (webhook, respond immediately → our Agent with one tool call): all accepted?
 *    all completed? counted in n8n's executions table: success, failed, lost (accepted but no execution), total
 *    time from the first request to the last execution stopping.
 */
import { randomUUID } from 'node:crypto';

import Redis from 'ioredis';
import { Pool } from 'pg';

import { N8nApiClient, toJob } from '../lib/jobs';
import { NoRetryPolicy } from '../lib/retry';
import { webhookNode, whereNode } from '../stack/n8n/workflow-nodes';
import { postgresFromEnv, redisFromEnv } from '../stack/services';
import { agentWorkflow, oneToolCall, openAgentsAgentNode } from './agent';
import {
	activeWorkflow,
	benchCluster,
	chain,
	WORKER_CONCURRENCY,
	WORKERS,
	type BenchCluster,
} from './cluster';
import { FINAL_STATUSES, settle, submitAtOnce } from './executions';
import { pool, postJson } from './load';
import { summary } from './stats';

async function jobCreation(bench: BenchCluster, db: Pool, requests: number) {
	const path = `bench-jobs-create-${randomUUID()}`;
	const workflowId = await activeWorkflow(
		bench.client,
		'job creation',
		path,
		[webhookNode(path, [0, 0], { responseMode: 'onReceived' }), whereNode([220, 0])],
		chain('Webhook', 'Where'),
	);
	const subscriber = new Redis(redisFromEnv());
	let onJob: ((t: number) => void) | undefined;
	subscriber.on('pmessage', () => {
		const t = performance.now();
		onJob?.(t);
		onJob = undefined;
	});
	await subscriber.psubscribe(`${bench.cluster.queuePrefix}:jobs:waiting@*`);
	const answered: number[] = [];
	const enqueued: number[] = [];
	try {
		for (let i = 0; i < requests + 10; i++) {
			const queued = new Promise<number>((resolve, reject) => {
				onJob = resolve;
				setTimeout(
					() => reject(new Error(`request ${i}: no job reached the queue within 10 s`)),
					10_000,
				).unref();
			});
			const t = performance.now();
			const res = await bench.client.webhook(path, { i });
			await res.text();
			if (res.status !== 200) throw new Error(`job creation webhook: HTTP ${res.status}`);
			const tAnswered = performance.now();
			const tQueued = await queued;
			if (i < 10) continue; // warm-up
			answered.push(tAnswered - t);
			enqueued.push(tQueued - t);
		}
	} finally {
		subscriber.disconnect();
	}
	const counts = await settle(db, workflowId, requests + 10);
	if (counts.success !== requests + 10)
		throw new Error(`job creation: executions ended ${JSON.stringify(counts)}`);
	const queued = summary(enqueued);
	return {
		requests,
		httpAnsweredMs: summary(answered),
		enqueuedMs: queued,
		targetMs: 50,
		p50MeetsTarget: queued.p50 < 50,
		p95MeetsTarget: queued.p95 < 50,
		executionsSucceeded: counts.success - 10,
	};
}

async function statusRead(bench: BenchCluster, reads: number) {
	const ids = (await bench.client.executions({ limit: 100 }))
		.filter((e) => FINAL_STATUSES.includes(e.status))
		.map((e) => e.id);
	if (!ids.length) throw new Error('status read: no finished executions to read');
	const api = new N8nApiClient(
		{ baseUrl: `${bench.client.url}/api/v1`, apiKey: bench.client.connection.apiKey },
		{ policy: new NoRetryPolicy() },
	);
	const read = async (i: number) => {
		const job = toJob(await api.getExecution(ids[i % ids.length], { includeData: true }));
		if (!FINAL_STATUSES.includes(job.status))
			throw new Error(`status read: unexpected status ${job.status}`);
	};
	for (let i = 0; i < 20; i++) await read(i); // warm-up
	const direct = await pool(reads, 1, read);

	const path = `bench-jobs-read-${randomUUID()}`;
	const monitor = {
		id: randomUUID(),
		name: 'Job Monitor',
		type: 'n8n-nodes-openagents.openAgentsJobMonitor',
		typeVersion: 1,
		position: [220, 0],
		parameters: { resource: 'job', operation: 'getJob', executionId: '={{ $json.body.id }}' },
		credentials: { openAgentsN8nApi: bench.credentials.openAgentsN8nApi },
	};
	const workflowId = await activeWorkflow(
		bench.client,
		'job status read',
		path,
		[webhookNode(path), monitor],
		chain('Webhook', 'Job Monitor'),
	);
	const nodeRuns = Math.min(reads, 50);
	await pool(nodeRuns, 1, (i) =>
		postJson<{ status?: string }>(bench.client, path, { id: ids[i % ids.length] }, (r) =>
			FINAL_STATUSES.includes(String(r.status)),
		),
	);
	const executions = await bench.client.waitForExecutions(workflowId, nodeRuns);
	const nodeTimes = executions.map((e) => {
		const run = e.data?.resultData.runData['Job Monitor']?.[0] as
			{ executionTime?: number } | undefined;
		if (typeof run?.executionTime !== 'number')
			throw new Error(`status read: execution ${e.id} has no Job Monitor run`);
		return run.executionTime;
	});
	const node = summary(nodeTimes);
	return {
		getJobMs: direct.latencyMs,
		jobMonitorNodeMs: node,
		targetMs: 100,
		p50MeetsTarget: direct.latencyMs.p50 < 100 && node.p50 < 100,
		p95MeetsTarget: direct.latencyMs.p95 < 100 && node.p95 < 100,
	};
}

async function manyAgentJobs(bench: BenchCluster, db: Pool, jobs: number) {
	bench.model.reset();
	bench.model.setHandler(oneToolCall);
	const { path, id: workflowId } = await agentWorkflow(
		bench,
		'agent-jobs',
		openAgentsAgentNode(),
		(p) => webhookNode(p, [0, 0], { responseMode: 'onReceived' }),
	);
	return submitAtOnce(bench.client, db, workflowId, path, jobs, (i) => ({
		question: `Look it up (job ${i})`,
	}));
}

export async function jobs(
	creations = Number(process.env.BENCH_JOBS_CREATIONS ?? 200),
	reads = Number(process.env.BENCH_JOBS_READS ?? 200),
	agentJobs = Number(process.env.BENCH_JOBS_AGENT_JOBS ?? 500),
) {
	const bench = await benchCluster();
	const db = new Pool({ ...postgresFromEnv(), database: bench.cluster.database, max: 2 });
	try {
		return {
			setup: `queue mode, main + ${WORKERS} workers (concurrency ${WORKER_CONCURRENCY})`,
			jobCreation: await jobCreation(bench, db, creations),
			statusRead: await statusRead(bench, reads),
			agentJobsAtOnce: await manyAgentJobs(bench, db, agentJobs),
		};
	} finally {
		await db.end();
	}
}
