/**
 * The Job Monitor in real queue-mode n8n, on a cluster of its own (main + 2 workers, 2 jobs each) because it kills
 * a worker. Every test creates the workflows and executions it reads and runs the node inside n8n: Stats reports
 * exactly what n8n's API holds; Queue Depth, run by a job among the others, shows jobs waiting while the workers are
 * busy; bad credentials and a Redis that is down give per-item codes; the Trigger fires once per failed execution;
 * a machine failure mid-Agent-execution leaves a crashed execution that Retry brings to success on the surviving
 * worker.
 *
 * Crash handling is n8n's own. When only a worker dies, Bull's stalled-job check hands the execution to main, which
 * after 30 s saves it as "error" with its data discarded — nothing can replay it (the unit tests cover how Retry
 * explains that). When main goes down too, main's queue recovery on restart marks it "crashed" with its data kept. */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { OfflineModelServer, offlineModelConfig } from '../../stack/model-server';
import { N8nCluster } from '../../stack/n8n/cluster';
import { nodeOutput, type Execution, type N8nClient } from '../../stack/n8n/client';
import { webhookNode, whereNode } from '../../stack/n8n/workflow-nodes';
import { sleep, waitFor } from '../../stack/process';
import { FaultTable } from '../support/fault-table';

type Credential = { id: string; name: string };
let cluster: N8nCluster;
let client: N8nClient;
let credentials: Record<
	'api' | 'wrongKey' | 'wrongUrl' | 'redis' | 'redisDown' | 'llm',
	Credential
>;
const WRONG_KEY = 'n8n_wrong_key_e2e_0123456789';
const model = new OfflineModelServer();
const table = new FaultTable('e2e');

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
const jobMonitor = (
	parameters: Record<string, unknown>,
	continueOnFail = false,
	api: Credential = credentials.api,
	redis: Credential = credentials.redis,
) =>
	node('Job Monitor', 'n8n-nodes-openagents.openAgentsJobMonitor', parameters, [440, 0], {
		credentials: { openAgentsN8nApi: api, openAgentsMemoryStore: redis },
		...(continueOnFail ? { onError: 'continueRegularOutput' } : {}),
	});
const waitNode = (seconds: number) =>
	node(
		'Wait',
		'n8n-nodes-base.wait',
		{ resume: 'timeInterval', amount: seconds, unit: 'seconds' },
		[220, 0],
		{
			typeVersion: 1.1,
			webhookId: randomUUID(),
		},
	);

type AnyNode = { name: string } & Record<string, unknown>;

/** Webhook → nodes in a chain, activated; the webhook answers with every item of the last node (or at once). */
async function webhookWorkflow(
	name: string,
	nodes: AnyNode[],
	respond: 'lastNode' | 'onReceived' = 'lastNode',
) {
	const path = `e2e-jobs-${randomUUID()}`;
	const webhook = webhookNode(path, [0, 0], {
		responseMode: respond,
		...(respond === 'lastNode' ? { responseData: 'allEntries' } : {}),
	});
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

/** Workflows a test owns: one that succeeds, one that fails on purpose, one that waits `seconds` (answers at once). */
const succeeding = (label: string) =>
	webhookWorkflow(`e2e ${label}: succeeds`, [whereNode([220, 0])]);
const failing = (label: string) =>
	webhookWorkflow(`e2e ${label}: fails on purpose`, [
		node(
			'Stop and Error',
			'n8n-nodes-base.stopAndError',
			{ errorMessage: 'Planned failure' },
			[220, 0],
		),
	]);
const slow = (label: string, seconds = 8) =>
	webhookWorkflow(`e2e ${label}: slow`, [waitNode(seconds), whereNode([440, 0])], 'onReceived');

/** Calls a workflow `times` times, expecting `status`, and waits for its executions to finish. */
async function runs(workflow: { id: string; path: string }, times: number, status: number) {
	for (let i = 0; i < times; i++)
		expect((await client.webhook(workflow.path, {})).status).toBe(status);
	return client.waitForExecutions(workflow.id, times);
}

/** A workflow Webhook → Job Monitor (`parameters`) in n8n, called once with `body`; the node's output items. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- outputs are asserted field by field
async function monitor<T = Record<string, any>>(
	parameters: Record<string, unknown>,
	body: object = {},
	{ continueOnFail = false, api = credentials.api, redis = credentials.redis } = {},
): Promise<T[]> {
	const { path } = await webhookWorkflow(`e2e: job monitor ${String(parameters.operation)}`, [
		jobMonitor(parameters, continueOnFail, api, redis),
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
	const llmUrl = await model.start();
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
	const apiData = { baseUrl: `${cluster.url}/api/v1`, apiKey: client.connection.apiKey };
	const redisData = {
		backend: 'redis',
		host: '127.0.0.1',
		redisPort: 6379,
		redisDatabase: 0,
		prefix: 'unused',
	};
	const [api, wrongKey, wrongUrl, redis, redisDown, llm] = await Promise.all([
		client.createCredential('e2e n8n API', 'openAgentsN8nApi', apiData),
		client.createCredential('e2e n8n API, wrong key', 'openAgentsN8nApi', {
			...apiData,
			apiKey: WRONG_KEY,
		}),
		client.createCredential('e2e n8n API, wrong URL', 'openAgentsN8nApi', {
			...apiData,
			baseUrl: 'http://127.0.0.1:1/api/v1',
		}),
		client.createCredential('e2e queue redis', 'openAgentsMemoryStore', redisData),
		client.createCredential('e2e redis down', 'openAgentsMemoryStore', {
			...redisData,
			redisPort: 1,
		}),
		client.createCredential('e2e offline model', 'openAgentsLlmApi', offlineModelConfig(llmUrl)),
	]);
	credentials = { api, wrongKey, wrongUrl, redis, redisDown, llm };
}, 300_000);

afterAll(async () => {
	table.writeIfAsked();
	await Promise.all([cluster?.stop(), model.stop()]);
}, 60_000);

const statusesOf = (executions: Execution[]) => executions.map((e) => e.status).sort();

it('Stats reports the counts and success rate n8n holds, and groups failures by node and message', async () => {
	const [ok, fail] = await Promise.all([succeeding('stats'), failing('stats')]);
	const okRuns = await runs(ok, 3, 200);
	const failRuns = await runs(fail, 2, 500);
	expect(statusesOf(okRuns)).toEqual(['success', 'success', 'success']);
	expect(statusesOf(failRuns)).toEqual(['error', 'error']);

	const stats = (workflowId: string) =>
		monitor(
			{
				resource: 'metric',
				operation: 'stats',
				workflowId: '={{ $json.body.workflowId }}',
				windowMinutes: 60,
			},
			{ workflowId },
		);
	const [failStats] = await stats(fail.id);
	expect(failStats).toMatchObject({
		workflowId: fail.id,
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

	const [okStats] = await stats(ok.id);
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
		{ workflowId: fail.id },
	);
	expect(listed.map((j) => j.id).sort()).toEqual(failRuns.map((e) => e.id).sort());
}, 120_000);

it('Queue Depth, run by a job among the others, shows jobs waiting while every worker is busy', async () => {
	// 2 workers × 2 jobs: the probe (waiting 4 s in its Wait node) and five 8-second jobs leave two waiting when
	// the probe's Job Monitor runs.
	const busy = await slow('queue depth');
	const probe = await webhookWorkflow(
		'e2e queue depth: probe',
		[
			waitNode(4),
			jobMonitor({
				resource: 'metric',
				operation: 'queue',
				queueSource: 'redis',
				bullPrefix: cluster.queuePrefix!,
			}),
		],
		'onReceived',
	);
	expect((await client.webhook(probe.path, {})).status).toBe(200);
	await waitFor(
		'the probe to run',
		async () => (await client.executions({ workflowId: probe.id, status: 'running' }))[0],
		10_000,
		100,
	);
	for (let i = 0; i < 5; i++) expect((await client.webhook(busy.path, {})).status).toBe(200);

	const [probed] = await client.waitForExecutions(probe.id, 1, 30_000);
	const [depth] = nodeOutput(probed, 'Job Monitor') as Array<{
		waiting: number;
		active: number;
		activeJobs: Array<{ workflowId: string }>;
	}>;
	expect(depth).toMatchObject({ waiting: 2, active: 4 });
	expect(depth.activeJobs.map((j) => j.workflowId).sort()).toEqual(
		[probe.id, busy.id, busy.id, busy.id].sort(),
	);
	await client.waitForExecutions(busy.id, 5, 90_000);
	const [after] = await monitor({
		resource: 'metric',
		operation: 'queue',
		queueSource: 'redis',
		bullPrefix: cluster.queuePrefix!,
	});
	// Only the job that asks is active now.
	expect(after).toMatchObject({ waiting: 0, active: 1 });
}, 150_000);

it('bad input gives clear per-item errors: wrong key (never shown), wrong URL, unknown id, Redis down, retry while running', async () => {
	const noRetry = { retryPolicy: { type: 'none' } };
	const getJob = { ...noRetry, resource: 'job', operation: 'getJob', executionId: '1' };
	const [unauthorized] = await monitor(
		getJob,
		{},
		{ continueOnFail: true, api: credentials.wrongKey },
	);
	expect(unauthorized).toMatchObject({
		code: 'UNAUTHORIZED',
		error: expect.stringMatching(/rejected the API key \(401\)/),
	});
	expect(JSON.stringify(unauthorized)).not.toContain(WRONG_KEY);
	expect(
		(await monitor(getJob, {}, { continueOnFail: true, api: credentials.wrongUrl }))[0],
	).toMatchObject({
		code: 'API_UNAVAILABLE',
		error: expect.stringContaining('Cannot reach the n8n API at http://127.0.0.1:1/api/v1'),
	});
	expect(
		(await monitor({ ...getJob, executionId: '999999' }, {}, { continueOnFail: true }))[0],
	).toMatchObject({ code: 'NOT_FOUND' });

	// Redis down: Queue Depth (which reads Bull's Redis) fails; Stats (n8n's API only) still works.
	const queueDown = await monitor(
		{
			...noRetry,
			resource: 'metric',
			operation: 'queue',
			queueSource: 'redis',
			bullPrefix: cluster.queuePrefix!,
		},
		{},
		{ continueOnFail: true, redis: credentials.redisDown },
	);
	expect(queueDown[0]).toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
	const ok = await succeeding('bad input');
	await runs(ok, 2, 200);
	const [stats] = await monitor(
		{ ...noRetry, resource: 'metric', operation: 'stats', workflowId: ok.id },
		{},
		{ redis: credentials.redisDown },
	);
	expect(stats).toMatchObject({ total: 2 });

	const waiting = await slow('bad input');
	expect((await client.webhook(waiting.path, {})).status).toBe(200);
	// n8n's API lists running executions only when asked for them.
	const running = await waitFor(
		'the slow execution to run',
		async () => (await client.executions({ workflowId: waiting.id, status: 'running' }))[0],
		10_000,
		200,
	);
	const [refused] = await monitor(
		{
			...noRetry,
			resource: 'job',
			operation: 'retryJob',
			executionId: running.id,
			retryMode: 'once',
		},
		{},
		{ continueOnFail: true },
	);
	expect(refused).toMatchObject({
		code: 'NOT_RETRYABLE',
		error: expect.stringMatching(/still "running": wait for it to finish/),
	});
	await client.waitForExecutions(waiting.id, 1, 60_000);
}, 120_000);

it('the Trigger fires once per failed execution and never for successful ones', async () => {
	const [ok, fail] = await Promise.all([succeeding('trigger'), failing('trigger')]);
	const trigger = node(
		'Job Monitor Trigger',
		'n8n-nodes-openagents.openAgentsJobMonitorTrigger',
		{
			pollTimes: { item: [{ mode: 'everyMinute' }] },
			workflowIds: `${ok.id},${fail.id}`,
			statuses: ['error', 'crashed'],
			lookBackMinutes: 60,
		},
		[0, 0],
		{ credentials: { openAgentsN8nApi: credentials.api } },
	);
	// The failures happen first: the trigger's first poll reports those within its look-back window.
	await runs(ok, 2, 200);
	const failed = (await runs(fail, 2, 500)).map((e) => e.id).sort();
	const { id: triggerId } = await client.createWorkflow({
		name: 'e2e trigger: on failure',
		nodes: [trigger, whereNode([220, 0], true)],
		connections: { 'Job Monitor Trigger': { main: [[{ node: 'Where', type: 'main', index: 0 }]] } },
	});
	await client.activateWorkflow(triggerId);
	const fired = async () => {
		const polls = await client.executions({ workflowId: triggerId, limit: 100, includeData: true });
		return polls.flatMap((poll) =>
			nodeOutput(poll, 'Job Monitor Trigger').map((item) => String(item.id)),
		);
	};
	const ids = await waitFor(
		'the trigger to report both failures',
		async () => {
			const seen = await fired();
			return seen.length >= failed.length ? seen : undefined;
		},
		200_000,
		3000,
	);
	expect(ids.sort()).toEqual(failed);
	// One more poll (every minute) must not report them again.
	await sleep(65_000);
	expect((await fired()).sort()).toEqual(failed);
}, 400_000);

it('a machine failure mid-Agent-execution (worker and main killed) leaves a crashed job n8n never re-runs; Retry brings it to success on the other worker', async () => {
	const agent = node(
		'Agent',
		'n8n-nodes-openagents.openAgentsAgent',
		{ template: 'conversation', prompt: '={{ $json.body.chatInput }}' },
		[220, 0],
		{ credentials: { openAgentsLlmApi: credentials.llm } },
	);
	const agentFlow = await webhookWorkflow(
		'e2e machine failure: agent',
		[agent, whereNode([440, 0], true)],
		'onReceived',
	);
	// The model holds its first answer long enough for the crash to happen mid-call.
	model.latencyMs = 60_000;
	expect(
		(await client.webhook(agentFlow.path, { chatInput: 'Summarise the incident.' })).status,
	).toBe(200);
	const running = await waitFor(
		'the Agent to call the model on a worker',
		async () => {
			if (!model.requestsTo('chat').length) return undefined;
			const [fresh] = await client.executions({ workflowId: agentFlow.id, status: 'running' });
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

	model.latencyMs = 0;
	model.setHandler(() => ({ content: 'Incident summarised after the retry.' }));
	const {
		value: [retry],
		ms,
	} = await FaultTable.timed(() =>
		monitor(
			{
				resource: 'job',
				operation: 'retryJob',
				executionId: '={{ $json.body.executionId }}',
				retryMode: 'policy',
				retryPolicy: { type: 'fixed', maxRetries: 2, delay: 1000 },
			},
			{ executionId: running.id },
		),
	);
	expect({ retry }).toMatchObject({
		retry: { originalExecutionId: running.id, succeeded: true, finalStatus: 'success' },
	});
	expect(retry.attempts).toHaveLength(1);
	const retried = await client.execution(retry.finalExecutionId);
	expect(nodeOutput(retried, 'Where')[0]).toMatchObject({
		processName: survivor.name,
		output: 'Incident summarised after the retry.',
	});

	const [again] = await monitor(
		{
			resource: 'job',
			operation: 'retryJob',
			executionId: '={{ $json.body.executionId }}',
			retryMode: 'once',
		},
		{ executionId: running.id },
		{ continueOnFail: true },
	);
	expect(again).toMatchObject({
		code: 'NOT_RETRYABLE',
		error: `Item 0: Execution ${running.id} was already retried successfully as execution ${retry.finalExecutionId}`,
	});
	table.record({
		fault: `n8n worker (${running.worker.name}) and main killed (SIGKILL) while the Agent waited for the model`,
		node: 'Job Monitor Retry (Fixed, 2 retries)',
		outcome: `n8n marks it \`crashed\`; Retry succeeds on ${survivor.name} in 1 attempt`,
		ms,
		dataCheck:
			"the retried execution holds the Agent's answer; a second Retry is refused (`NOT_RETRYABLE`)",
	});
}, 240_000);
