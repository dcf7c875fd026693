/**
 * Does a queue-mode webhook answering on its last node always answer? n8n's main enqueues a job, runs its
 * workflowExecuteBefore hooks and only then waits for the job (Bull's job.finished()); with n8n's default a job is
 * removed as it finishes, and one that finished in between is never reported, so its caller waits forever although
 * the execution succeeded. The same webhook → Set workflow gets BENCH_ANSWERS_REQUESTS requests (8 in flight) on a
 * cluster keeping no finished jobs (n8n's default) and on one keeping KEPT_FINISHED_JOBS (what our stacks run with).
 * A request unanswered after RESPONSE_TIMEOUT_MS counts as lost. Each setting starts its own cluster (main + 2
 * workers of concurrency 10).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { KEPT_FINISHED_JOBS, keptFinishedJobsEnv, N8nCluster } from '../stack/n8n/cluster';
import { packPackage } from '../stack/n8n/community-package';
import { webhookNode, whereNode } from '../stack/n8n/workflow-nodes';
import { activeWorkflow, chain, WORKER_CONCURRENCY, WORKERS } from './cluster';
import { pool, postJson, RESPONSE_TIMEOUT_MS } from './load';

const REQUESTS = Number(process.env.BENCH_ANSWERS_REQUESTS ?? 1000);
const IN_FLIGHT = 8;

async function answers(keptJobs: number, tarball: string) {
	const cluster = await N8nCluster.start({
		mode: 'queue',
		workers: WORKERS,
		workerConcurrency: WORKER_CONCURRENCY,
		name: 'bench-answers',
		packageTarball: tarball,
		log: (line) => process.stderr.write(`[bench answers] ${line}\n`),
		env: keptFinishedJobsEnv(keptJobs),
	});
	try {
		const path = `bench-answers-${randomUUID()}`;
		await activeWorkflow(
			cluster.client,
			'webhook → Set',
			path,
			[webhookNode(path), whereNode([220, 0])],
			chain('Webhook', 'Where'),
		);
		const call = () =>
			postJson<{ processName?: string }>(cluster.client, path, {}, (r) =>
				String(r.processName).startsWith('worker-'),
			);
		await pool(40, IN_FLIGHT, call); // warm-up
		const { executionsPerSecond, latencyMs, lostResponses } = await pool(REQUESTS, IN_FLIGHT, call);
		return {
			keptFinishedJobs: keptJobs,
			requests: REQUESTS,
			lostResponses,
			executionsPerSecond,
			latencyMs,
		};
	} finally {
		await cluster.stop();
	}
}

export async function webhookAnswers() {
	const dir = mkdtempSync(join(tmpdir(), 'openagents-bench-answers-'));
	try {
		const tarball = await packPackage(dir);
		return {
			setup: `queue mode, main + ${WORKERS} workers (concurrency ${WORKER_CONCURRENCY}); webhook (respond when the last node finishes) → Set; ${IN_FLIGHT} requests in flight, 40 not measured first; no answer within ${RESPONSE_TIMEOUT_MS / 1000} s counts as lost`,
			n8nDefault: await answers(0, tarball),
			kept: await answers(KEPT_FINISHED_JOBS, tarball),
		};
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}
