/**
 * The Job Monitor in real queue-mode n8n, on a cluster of its own (main + 2 workers, 2 jobs each) because it kills
 * a worker: Stats reports exactly what n8n's API holds; Queue Depth shows jobs waiting while the workers are busy;
 * a machine failure mid-execution (its worker and main killed) leaves a crashed execution that Retry brings to
 * success on the surviving worker; the Trigger fires once per failed execution and never for successful ones.
 *
 * Crash handling is n8n's own. When only a worker dies, Bull's stalled-job check hands the execution to main, which
 * after 30 s saves it as "error" with its data discarded — nothing can replay it (the unit tests cover how Retry
 * explains that). When main goes down too, main's queue recovery on restart marks it "crashed" with its data kept. */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { N8nCluster } from '../../stack/n8n/cluster';
import { nodeOutput, type Execution, type N8nClient } from '../../stack/n8n/client';
import { webhookNode, whereNode } from '../../stack/n8n/workflow-nodes';
import { sleep, waitFor } from '../../stack/process';
import { testNodeTypes } from '../support/test-nodes';
import { itemsInto, runWorkflow } from '../support/workflow-runner';

let cluster: N8nCluster;
let client: N8nClient;
let credentials: { api: { id: string; name: string }; redis: { id: string; name: string } };
let apiData: { baseUrl: string; apiKey: string };
const workflows: Record<'ok' | 'fail' | 'slow' | 'trigger', { id: string; path: string }> =
	{} as never;

const node = (
	name: string,
	type: string,
	parameters: Record<string, unknown>,
	position: [number, number],
	extra: Record<string, unknown> = {},
) => ({
	id: randomUUID(),
	name,
	type,
	typeVersion: 1,
	position,
	parameters,
	...extra,
});
const jobMonitor = (parameters: Record<string, unknown>, continueOnFail = false) =>
	node('Job Monitor', 'n8n-nodes-openagents.openAgentsJobMonitor', parameters, [220, 0], {
		credentials: { openAgentsN8nApi: credentials.api, openAgentsMemoryStore: credentials.redis },
		...(continueOnFail ? { onError: 'continueRegularOutput' } : {}),
	});

/** Webhook → nodes in a chain, activated; the webhook answers with every item of the last node (or at once). */
async function webhookWorkflow(
	name: string,
	nodes: Array<ReturnType<typeof node> | ReturnType<typeof whereNode>>,
	respond: 'lastNode' | 'onReceived' = 'lastNode',
) {
	const path = `e2e-jobs-${randomUUID()}`;
	const webhook = {
		...webhookNode(path),
		parameters: {
			httpMethod: 'POST',
			path,
			responseMode: respond,
			...(respond === 'lastNode' ? { responseData: 'allEntries' } : {}),
			options: {},
		},
	};
	const chain = [webhook, ...nodes];
	const connections = Object.fromEntries(
		chain
			.slice(0, -1)
			.map((n, i) => [n.name, { main: [[{ node: chain[i + 1].name, type: 'main', index: 0 }]] }]),
	);
	const { id } = await client.createWorkflow({ name, nodes: chain, connections });
	await client.activateWorkflow(id, [path]);
	return { id, path };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- outputs are asserted field by field
async function monitor<T = Record<string, any>>(
	parameters: Record<string, unknown>,
	body: object = {},
	continueOnFail = false,
): Promise<T[]> {
	const { path } = await webhookWorkflow(`e2e: job monitor ${String(parameters.operation)}`, [
		jobMonitor(parameters, continueOnFail),
	]);
	const res = await client.webhook(path, body);
	const text = await res.text();
	expect({ status: res.status, text: res.status === 200 ? '' : text }).toEqual({
		status: 200,
		text: '',
	});
	return JSON.parse(text) as T[];
}

beforeAll(async () => {
	cluster = await N8nCluster.start({
		mode: 'queue',
		workers: 2,
		workerConcurrency: 2,
		name: 'jobs',
		log: (line) => process.stdout.write(`[e2e jobs] ${line}\n`),
		env: {
			N8N_EXECUTIONS_QUEUE_RECOVERY_INTERVAL: '1',
			QUEUE_WORKER_LOCK_DURATION: '5000',
			QUEUE_WORKER_LOCK_RENEW_TIME: '1000',
			QUEUE_WORKER_STALLED_INTERVAL: '5000',
		},
	});
	client = cluster.client;
	apiData = { baseUrl: `${cluster.url}/api/v1`, apiKey: client.connection.apiKey };
	const [api, redis] = await Promise.all([
		client.createCredential('e2e n8n API', 'openAgentsN8nApi', apiData),
		client.createCredential('e2e queue redis', 'openAgentsMemoryStore', {
			backend: 'redis',
			host: '127.0.0.1',
			redisPort: 6379,
			redisDatabase: 0,
			prefix: 'unused',
		}),
	]);
	credentials = { api, redis };

	workflows.ok = await webhookWorkflow('e2e: succeeds', [whereNode([220, 0])]);
	workflows.fail = await webhookWorkflow('e2e: fails on purpose', [
		node(
			'Stop and Error',
			'n8n-nodes-base.stopAndError',
			{ errorMessage: 'Planned failure' },
			[220, 0],
		),
	]);
	workflows.slow = await webhookWorkflow(
		'e2e: slow',
		[
			node(
				'Wait',
				'n8n-nodes-base.wait',
				{ resume: 'timeInterval', amount: 8, unit: 'seconds' },
				[220, 0],
				{ typeVersion: 1.1, webhookId: randomUUID() },
			),
			whereNode([440, 0]),
		],
		'onReceived',
	);

	const trigger = node(
		'Job Monitor Trigger',
		'n8n-nodes-openagents.openAgentsJobMonitorTrigger',
		{
			pollTimes: { item: [{ mode: 'everyMinute' }] },
			workflowIds: `${workflows.ok.id},${workflows.fail.id}`,
			statuses: ['error', 'crashed'],
			lookBackMinutes: 60,
		},
		[0, 0],
		{ credentials: { openAgentsN8nApi: credentials.api } },
	);
	const { id } = await client.createWorkflow({
		name: 'e2e: on failure',
		nodes: [trigger, whereNode([220, 0], true)],
		connections: { 'Job Monitor Trigger': { main: [[{ node: 'Where', type: 'main', index: 0 }]] } },
	});
	await client.activateWorkflow(id);
	workflows.trigger = { id, path: '' };
}, 300_000);

afterAll(() => cluster?.stop(), 60_000);

const statusesOf = (executions: Execution[]) => executions.map((e) => e.status).sort();

it('Stats reports the counts and success rate n8n holds, and groups failures by node and message', async () => {
	for (let i = 0; i < 3; i++)
		expect((await client.webhook(workflows.ok.path, {})).status).toBe(200);
	for (let i = 0; i < 2; i++)
		expect((await client.webhook(workflows.fail.path, {})).status).toBe(500);
	const okRuns = await client.waitForExecutions(workflows.ok.id, 3);
	const failRuns = await client.waitForExecutions(workflows.fail.id, 2);
	expect(statusesOf(okRuns)).toEqual(['success', 'success', 'success']);
	expect(statusesOf(failRuns)).toEqual(['error', 'error']);

	const [failStats] = await monitor(
		{
			resource: 'metric',
			operation: 'stats',
			workflowId: '={{ $json.body.workflowId }}',
			windowMinutes: 60,
		},
		{ workflowId: workflows.fail.id },
	);
	expect(failStats).toMatchObject({
		workflowId: workflows.fail.id,
		total: 2,
		ended: 2,
		successRate: 0,
		byStatus: { error: 2, success: 0 },
	});
	expect(failStats.failures).toEqual([
		{
			node: 'Stop and Error',
			message: 'Planned failure',
			count: 2,
			executionIds: failRuns.map((e) => e.id).sort((a, b) => Number(b) - Number(a)),
		},
	]);

	const [okStats] = await monitor(
		{
			resource: 'metric',
			operation: 'stats',
			workflowId: '={{ $json.body.workflowId }}',
			windowMinutes: 60,
		},
		{ workflowId: workflows.ok.id },
	);
	expect(okStats).toMatchObject({
		total: 3,
		ended: 3,
		successRate: 1,
		byStatus: { success: 3 },
		failures: [],
	});
	expect(okStats.durationMs.p95).toBeGreaterThanOrEqual(okStats.durationMs.p50);
	const durations = okRuns
		.map((e) => Date.parse(e.stoppedAt!) - Date.parse(e.startedAt))
		.sort((a, b) => a - b);
	expect(okStats.durationMs.max).toBe(durations[2]);
	expect(okStats.durationMs.p50).toBe(durations[1]);

	const listed = await monitor(
		{
			resource: 'job',
			operation: 'listJobs',
			workflowId: '={{ $json.body.workflowId }}',
			status: 'error',
			limit: 10,
		},
		{ workflowId: workflows.fail.id },
	);
	expect(listed.map((j) => j.id).sort()).toEqual(failRuns.map((e) => e.id).sort());
}, 120_000);

it('Queue Depth shows jobs waiting while every worker is busy', async () => {
	// 2 workers × 2 jobs at once: six 8-second executions leave two waiting.
	for (let i = 0; i < 6; i++)
		expect((await client.webhook(workflows.slow.path, {})).status).toBe(200);
	const queueDepth = async () => {
		const result = await runWorkflow(
			itemsInto([{}], {
				name: 'Job Monitor',
				type: 'openAgentsJobMonitor',
				parameters: {
					resource: 'metric',
					operation: 'queue',
					queueSource: 'redis',
					bullPrefix: cluster.queuePrefix!,
				},
				credentials: {
					openAgentsN8nApi: { id: '1', name: 'api' },
					openAgentsMemoryStore: { id: '2', name: 'redis' },
				},
			}),
			{
				nodeTypes: testNodeTypes,
				credentials: {
					openAgentsN8nApi: apiData,
					openAgentsMemoryStore: {
						backend: 'redis',
						host: '127.0.0.1',
						redisPort: 6379,
						redisDatabase: 0,
					},
				},
			},
		);
		return result.outputs['Job Monitor'][0][0].json as {
			waiting: number;
			active: number;
			activeJobs: Array<{ workflowId: string }>;
		};
	};
	const busy = await waitFor(
		'four active jobs',
		async () => {
			const depth = await queueDepth();
			return depth.active === 4 ? depth : undefined;
		},
		20_000,
		200,
	);
	expect(busy.waiting).toBe(2);
	expect(busy.activeJobs.map((j) => j.workflowId)).toEqual(Array(4).fill(workflows.slow.id));

	await client.waitForExecutions(workflows.slow.id, 6, 90_000);
	expect(await queueDepth()).toMatchObject({ waiting: 0, active: 0 });
}, 150_000);

it('bad input gives clear per-item errors: wrong key (never shown), wrong URL, unknown id, Redis down, retry while running', async () => {
	const run = async (parameters: Record<string, unknown>, api = apiData, redisPort = 6379) => {
		const result = await runWorkflow(
			itemsInto([{}], {
				name: 'Job Monitor',
				type: 'openAgentsJobMonitor',
				parameters: { retryPolicy: { type: 'none' }, ...parameters },
				credentials: {
					openAgentsN8nApi: { id: '1', name: 'api' },
					openAgentsMemoryStore: { id: '2', name: 'redis' },
				},
				continueOnFail: true,
			}),
			{
				nodeTypes: testNodeTypes,
				credentials: {
					openAgentsN8nApi: api,
					openAgentsMemoryStore: {
						backend: 'redis',
						host: '127.0.0.1',
						redisPort,
						redisDatabase: 0,
					},
				},
			},
		);
		return result.outputs['Job Monitor'][0][0].json as {
			code?: string;
			error?: string;
			total?: number;
		};
	};
	const getJob = { resource: 'job', operation: 'getJob', executionId: '1' };
	const wrongKey = 'n8n_wrong_key_e2e_0123456789';
	const unauthorized = await run(getJob, { ...apiData, apiKey: wrongKey });
	expect(unauthorized).toMatchObject({
		code: 'UNAUTHORIZED',
		error: expect.stringMatching(/rejected the API key \(401\)/),
	});
	expect(JSON.stringify(unauthorized)).not.toContain(wrongKey);
	expect(await run(getJob, { ...apiData, baseUrl: 'http://127.0.0.1:1/api/v1' })).toMatchObject({
		code: 'API_UNAVAILABLE',
		error: expect.stringContaining('Cannot reach the n8n API at http://127.0.0.1:1/api/v1'),
	});
	expect(await run({ ...getJob, executionId: '999999' })).toMatchObject({ code: 'NOT_FOUND' });

	expect(
		await run(
			{
				resource: 'metric',
				operation: 'queue',
				queueSource: 'redis',
				bullPrefix: cluster.queuePrefix!,
			},
			apiData,
			1,
		),
	).toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
	expect(
		await run({ resource: 'metric', operation: 'stats', workflowId: workflows.ok.id }, apiData, 1),
	).toMatchObject({ total: 3 });

	const before = (await client.executions({ workflowId: workflows.slow.id, limit: 100 })).length;
	expect((await client.webhook(workflows.slow.path, {})).status).toBe(200);
	// n8n's API lists running executions only when asked for them.
	const fresh = await waitFor(
		'the slow execution to run',
		async () => (await client.executions({ workflowId: workflows.slow.id, status: 'running' }))[0],
		10_000,
		200,
	);
	const refused = await run({
		resource: 'job',
		operation: 'retryJob',
		executionId: fresh.id,
		retryMode: 'once',
	});
	expect(refused).toMatchObject({
		code: 'NOT_RETRYABLE',
		error: expect.stringMatching(/still "running": wait for it to finish/),
	});
	await client.waitForExecutions(workflows.slow.id, before + 1, 60_000);
}, 120_000);

// Before the machine failure below: across a main crash a poll's state can be lost and a failure reported again.
it('the Trigger fired once per failed execution and never for successful ones', async () => {
	const failed = (await client.executions({ workflowId: workflows.fail.id, limit: 100 }))
		.map((e) => e.id)
		.sort();
	const fired = async () => {
		const runs = await client.executions({
			workflowId: workflows.trigger.id,
			limit: 100,
			includeData: true,
		});
		return runs.flatMap((run) =>
			nodeOutput(run, 'Job Monitor Trigger').map((item) => String(item.id)),
		);
	};
	const ids = await waitFor(
		'the trigger to report both failures',
		async () => {
			const seen = await fired();
			return seen.length >= failed.length ? seen : undefined;
		},
		150_000,
		3000,
	);
	expect(ids.sort()).toEqual(failed);
	// One more poll (every minute) must not report them again.
	await sleep(65_000);
	expect((await fired()).sort()).toEqual(failed);
}, 300_000);

it('a machine failure mid-execution (worker and main killed) leaves a crashed job n8n never re-runs; Retry brings it to success on the other worker', async () => {
	expect((await client.webhook(workflows.slow.path, {})).status).toBe(200);
	const running = await waitFor(
		'the slow execution to start on a worker',
		async () => {
			const [fresh] = await client.executions({ workflowId: workflows.slow.id, status: 'running' });
			if (!fresh) return undefined;
			const worker = cluster.workers.find((w) =>
				readFileSync(join(cluster.userFolder, 'logs', `${w.name}.log`), 'utf8').includes(
					`Worker started execution ${fresh.id} `,
				),
			);
			return worker ? { id: fresh.id, worker } : undefined;
		},
		20_000,
		200,
	);
	process.kill(running.worker.process.pid, 'SIGKILL');
	const survivor = cluster.workers.find((w) => w !== running.worker)!;
	await cluster.restartMain();

	const crashed = await waitFor(
		'n8n to mark the execution crashed',
		async () => {
			const execution = await client.execution(running.id, false);
			return execution.status === 'crashed' || execution.status === 'error' ? execution : undefined;
		},
		150_000,
		1000,
	).catch((error: Error) => {
		// What n8n did about it, for the failure message: stalled-job checks and queue recovery runs.
		const lines = ['main', survivor.name].flatMap((name) =>
			readFileSync(join(cluster.userFolder, 'logs', `${name}.log`), 'utf8')
				.split('\n')
				.filter((l) => /stalled|recover|dangling|crash/i.test(l))
				.map((l) => `${name}: ${l}`),
		);
		throw new Error(`${error.message}\n${lines.slice(-20).join('\n')}`);
	});
	expect(crashed.status).toBe('crashed');

	const [retry] = await monitor(
		{
			resource: 'job',
			operation: 'retryJob',
			executionId: '={{ $json.body.executionId }}',
			retryMode: 'policy',
			retryPolicy: { type: 'fixed', maxRetries: 2, delay: 1000 },
		},
		{ executionId: running.id },
	);
	expect({ retry }).toMatchObject({
		retry: { originalExecutionId: running.id, succeeded: true, finalStatus: 'success' },
	});
	expect(retry.attempts).toHaveLength(1);
	const retried = await client.execution(retry.finalExecutionId);
	expect(nodeOutput(retried, 'Where')[0].processName).toBe(survivor.name);

	const [again] = await monitor(
		{
			resource: 'job',
			operation: 'retryJob',
			executionId: '={{ $json.body.executionId }}',
			retryMode: 'once',
		},
		{ executionId: running.id },
		true,
	);
	expect(again).toMatchObject({
		code: 'NOT_RETRYABLE',
		error: `Item 0: Execution ${running.id} was already retried successfully as execution ${retry.finalExecutionId}`,
	});
}, 240_000);
