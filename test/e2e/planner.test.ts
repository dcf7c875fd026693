/**
 * The Planner survives a worker crash in real queue-mode n8n, on a cluster of its own (main + 2 workers) because it
 * kills a worker: a 6-task plan runs on a worker, the worker is killed mid-plan, the same input is triggered again
 * (same plan run ID), and the offline model's request log shows that the tasks completed before the crash were not
 * executed again, the plan was not made again, and the final result is complete. The same after a re-plan: a worker
 * killed while the revised plan runs. And a role's sub-workflow, from a plan and from Manager mode.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
	lastUserText,
	OfflineModelServer,
	systemText,
	type ChatRequest,
	type ModelReply,
} from '../../stack/model-server';
import { nodeOutput } from '../../stack/n8n/client';
import { N8nCluster } from '../../stack/n8n/cluster';
import {
	plannerNode,
	roleSubWorkflow,
	webhookAnsweringAtOnce,
	webhookNode,
	whereNode,
} from '../../stack/n8n/workflow-nodes';
import { offlineLlmCredential, redisStoreCredential } from '../support/credentials';
import { sleep, waitFor } from '../../stack/process';
import { deleteKeys, redisFromEnv } from '../../stack/services';
import { planTask } from '../support/plans';

const model = new OfflineModelServer();
let cluster: N8nCluster;
/** Checkpoint keys of this file's runs live under this Redis prefix; removed at the end. */
const REDIS_PREFIX = `openagents-e2e-planner-${randomUUID()}`;

const TASK_MS = 2_000;
const task = (id: string, dependsOn: string[] = []) =>
	planTask(id, dependsOn, { description: `Produce ${id}` });
const PLAN = {
	goal: 'Survive a crash',
	tasks: [
		task('t1'),
		task('t2'),
		task('t3', ['t1']),
		task('t4', ['t2']),
		task('t5', ['t3', 't4']),
		task('t6', ['t5']),
	],
};

const userText = (request: ChatRequest) => lastUserText(request.messages);
const taskOf = (request: ChatRequest) => /Your task \(([^)]+)\)/.exec(userText(request))?.[1];
const chat = () => model.requestsTo('chat').map((r) => r.body as ChatRequest);
const taskRequests = (id: string) => chat().filter((r) => taskOf(r) === id).length;

/** Plans PLAN, answers each task after TASK_MS, and synthesises. */
async function scriptedModel(request: ChatRequest): Promise<ModelReply> {
	if (/You are a planner/.test(systemText(request.messages)))
		return { content: JSON.stringify(PLAN) };
	const id = taskOf(request);
	if (id) {
		await sleep(TASK_MS);
		return { content: `${id} done` };
	}
	return { content: 'All six tasks are done.' };
}

beforeAll(async () => {
	await model.start();
	model.setHandler(scriptedModel);
	cluster = await N8nCluster.start({
		mode: 'queue',
		workers: 2,
		workerConcurrency: 2,
		name: 'planner',
		log: (line) => process.stdout.write(`[e2e planner] ${line}\n`),
	});
}, 300_000);
afterAll(async () => {
	await cluster?.stop();
	await Promise.all([model.stop(), deleteKeys(redisFromEnv(), `${REDIS_PREFIX}*`)]);
}, 60_000);

/**
 * Webhook (answers at once) → Planner (Plan and Execute; goal and plan run ID from the body; `options`) → Where, with
 * its own model and checkpoint credentials; active. Returns its ID and webhook path.
 */
async function crashWorkflow(name: string, options: Record<string, unknown>) {
	const { client } = cluster;
	const [llm, store] = await Promise.all([
		client.createCredential(
			`${name} model`,
			'openAgentsLlmApi',
			offlineLlmCredential(model.baseUrl),
		),
		client.createCredential(
			`${name} checkpoints`,
			'openAgentsMemoryStore',
			redisStoreCredential(`${REDIS_PREFIX}-${randomUUID()}`),
		),
	]);
	const path = `e2e-planner-${randomUUID()}`;
	const { id } = await client.createWorkflow({
		name,
		nodes: [
			webhookAnsweringAtOnce(path),
			plannerNode(
				{
					operation: 'planAndExecute',
					goal: '={{ $json.body.goal }}',
					store: 'credential',
					planRunId: '={{ $json.body.runId }}',
					options,
					retryPolicy: { type: 'none' },
				},
				{ openAgentsLlmApi: llm, openAgentsMemoryStore: store },
			),
			whereNode([440, 0], true),
		],
		connections: {
			Webhook: { main: [[{ node: 'Planner', type: 'main', index: 0 }]] },
			Planner: { main: [[{ node: 'Where', type: 'main', index: 0 }]] },
		},
	});
	await client.activateWorkflow(id, [path]);
	return { workflowId: id, path };
}

/** SIGKILLs the worker running the workflow's running execution; returns that execution and the other worker. */
async function killWorkerRunning(workflowId: string) {
	const [first] = await cluster.client.executions({ workflowId, status: 'running' });
	const worker = cluster.workers.find((w) =>
		readFileSync(join(cluster.userFolder, 'logs', `${w.name}.log`), 'utf8').includes(
			`Worker started execution ${first.id} `,
		),
	);
	expect(worker).toBeDefined();
	process.kill(worker!.process.pid, 'SIGKILL');
	return { first, survivor: cluster.workers.find((w) => w !== worker)! };
}

/** The re-triggered run (another execution than `firstId`), once it has finished. */
async function finishedRerun(workflowId: string, firstId: string) {
	const finished = await waitFor(
		'the re-run to finish',
		async () =>
			(await cluster.client.executions({ workflowId, limit: 5 })).find(
				(e) => e.id !== firstId && e.status !== 'running' && e.status !== 'new',
			),
		120_000,
		1000,
	);
	return cluster.client.execution(finished.id);
}

it('a plan interrupted by a worker crash resumes on the other worker without re-running completed tasks', async () => {
	const { client } = cluster;
	const runId = `crash-${randomUUID()}`;
	const { workflowId, path } = await crashWorkflow('e2e: Planner crash and resume', {
		concurrency: 2,
	});

	// Run 1: wait until the first wave is done and the second has started, then kill the worker running it.
	expect((await client.webhook(path, { goal: PLAN.goal, runId })).status).toBe(200);
	await waitFor(
		'tasks t3 and t4 to start',
		() => (taskRequests('t3') && taskRequests('t4') ? true : undefined),
		60_000,
		100,
	);
	const { first, survivor } = await killWorkerRunning(workflowId);
	expect(['t1', 't2', 't3', 't4', 't5', 't6'].map(taskRequests)).toEqual([1, 1, 1, 1, 0, 0]);

	// Run 2: the same input again; it runs on the surviving worker and resumes.
	expect((await client.webhook(path, { goal: PLAN.goal, runId })).status).toBe(200);
	const execution = await finishedRerun(workflowId, first.id);
	const nodeErrors = Object.entries(execution.data?.resultData.runData ?? {}).flatMap(
		([node, runs]) => runs.filter((r) => r.error).map((r) => `${node}: ${r.error!.message}`),
	);
	expect({
		status: execution.status,
		error: execution.data?.resultData.error?.message,
		nodeErrors,
	}).toEqual({ status: 'success', error: undefined, nodeErrors: [] });
	const [result] = nodeOutput(execution, 'Where') as Array<{
		processName: string;
		status: string;
		resumed: number;
		output: string;
		tasks: Array<{ id: string; status: string; resumed?: boolean; output: string }>;
	}>;
	expect(result.processName).toBe(survivor.name);
	expect(result).toMatchObject({
		status: 'completed',
		resumed: 2,
		output: 'All six tasks are done.',
	});
	expect(result.tasks.map((t) => [t.id, t.status, t.resumed ?? false, t.output])).toEqual([
		['t1', 'completed', true, 't1 done'],
		['t2', 'completed', true, 't2 done'],
		['t3', 'completed', false, 't3 done'],
		['t4', 'completed', false, 't4 done'],
		['t5', 'completed', false, 't5 done'],
		['t6', 'completed', false, 't6 done'],
	]);
	// The model's own log: t1 and t2 ran once (before the crash), t3 and t4 twice (interrupted, then re-run), the rest
	// once; the plan was made once (reused from the checkpoint).
	expect(['t1', 't2', 't3', 't4', 't5', 't6'].map(taskRequests)).toEqual([1, 1, 2, 2, 1, 1]);
	expect(chat().filter((r) => /You are a planner/.test(systemText(r.messages)))).toHaveLength(1);
}, 240_000);

/** The role's sub-workflow as node version 1 typed it (an ID) and as version 1.1's workflow selector stores it. */
const SUB_WORKFLOW_VALUES = [
	[1, (id: string) => id],
	[1.1, (id: string) => ({ __rl: true, mode: 'list', value: id, cachedResultName: 'role' })],
] as const;

it.each(SUB_WORKFLOW_VALUES)(
	"runs a role's tasks in its sub-workflow (node version %s), with the other tasks by the chat model",
	async (typeVersion, workflowValue) => {
		const { client } = cluster;
		const [llm, store] = await Promise.all([
			client.createCredential(
				'e2e planner roles model',
				'openAgentsLlmApi',
				offlineLlmCredential(model.baseUrl),
			),
			client.createCredential(
				'e2e planner roles checkpoints',
				'openAgentsMemoryStore',
				redisStoreCredential(`${REDIS_PREFIX}-roles`),
			),
		]);
		// The sub-workflow answers with the task id and how many dependency results it received.
		const { id: subWorkflowId } = await client.createWorkflow({
			name: 'e2e: Planner role sub-workflow',
			...roleSubWorkflow(
				'={{ "sub-workflow did " + $json.task.id + " with " + Object.keys($json.dependencies).length + " input(s)" }}',
			),
		});
		await client.activateWorkflow(subWorkflowId);
		const path = `e2e-planner-roles-${randomUUID()}`;
		const plan = {
			goal: 'Mixed roles',
			tasks: [task('t1'), { ...task('calc', ['t1']), agent: 'calculator' }],
		};
		const { id } = await client.createWorkflow({
			name: 'e2e: Planner with a sub-workflow role',
			nodes: [
				webhookNode(path),
				plannerNode(
					{
						operation: 'executePlan',
						plan: '={{ $json.body.plan }}',
						roles: {
							role: [
								{ name: 'calculator', instructions: '', workflowId: workflowValue(subWorkflowId) },
							],
						},
						store: 'credential',
						options: { synthesize: false },
						retryPolicy: { type: 'none' },
					},
					{ openAgentsLlmApi: llm, openAgentsMemoryStore: store },
					typeVersion,
				),
			],
			connections: { Webhook: { main: [[{ node: 'Planner', type: 'main', index: 0 }]] } },
		});
		await client.activateWorkflow(id, [path]);
		const res = await client.webhook(path, { plan });
		const text = await res.text();
		expect({ status: res.status, text }).toMatchObject({ status: 200 });
		const result = JSON.parse(text) as {
			status: string;
			tasks: Array<{ id: string; status: string; output: string }>;
		};
		expect(result.tasks.map((t) => [t.id, t.status, t.output])).toEqual([
			['t1', 'completed', 't1 done'],
			['calc', 'completed', 'sub-workflow did calc with 1 input(s)'],
		]);
	},
	120_000,
);

/** Starts again any worker of the cluster that an earlier test killed. */
async function bothWorkersUp() {
	for (const [index, worker] of cluster.workers.entries()) {
		try {
			process.kill(worker.process.pid, 0);
		} catch {
			await cluster.startWorker(Number(worker.name.split('-')[1] ?? index + 1));
		}
	}
}

it('a worker killed right after a re-plan was checkpointed: the re-run resumes the revised plan and re-runs nothing completed', async () => {
	await bothWorkersUp();
	const { client } = cluster;
	const runId = `replan-${randomUUID()}`;
	const REVISED_MS = 3_000;
	const plan = { goal: 'Adapt to a failure', tasks: [task('t1'), task('t2', ['t1'])] };
	const isReplan = (r: ChatRequest) => /revising a plan/.test(systemText(r.messages));
	model.reset();
	model.setHandler(async (request: ChatRequest): Promise<ModelReply> => {
		if (isReplan(request)) return { content: JSON.stringify({ tasks: [task('t2b', ['t1'])] }) };
		if (/You are a planner/.test(systemText(request.messages)))
			return { content: JSON.stringify(plan) };
		const id = taskOf(request);
		if (id === 't2') throw new Error('t2 backend down');
		if (id === 't2b') await sleep(REVISED_MS);
		return { content: id ? `${id} done` : 'Adapted.' };
	});
	try {
		const { workflowId, path } = await crashWorkflow('e2e: Planner re-plan and crash', {
			onTaskFailure: 'replan',
		});

		// Run 1: t2 fails, the plan is revised (t2b) and checkpointed; t2b starts; the worker is killed.
		expect((await client.webhook(path, { goal: plan.goal, runId })).status).toBe(200);
		await waitFor(
			'the revised task t2b to start',
			() => (taskRequests('t2b') ? true : undefined),
			60_000,
			100,
		);
		const { first } = await killWorkerRunning(workflowId);
		expect(chat().filter(isReplan)).toHaveLength(1);

		// Run 2: the same input; it resumes from the revised plan on the other worker.
		expect((await client.webhook(path, { goal: plan.goal, runId })).status).toBe(200);
		const execution = await finishedRerun(workflowId, first.id);
		expect(execution.status).toBe('success');
		const [result] = nodeOutput(execution, 'Where') as Array<{
			status: string;
			resumed: number;
			tasks: Array<{ id: string; status: string; resumed?: boolean }>;
			revisions: Array<{ kind: string; added: string[]; replaced: Array<{ id: string }> }>;
		}>;
		expect(result).toMatchObject({ status: 'completed', resumed: 1 });
		expect(result.tasks.map((t) => [t.id, t.status, t.resumed ?? false])).toEqual([
			['t1', 'completed', true],
			['t2b', 'completed', false],
		]);
		expect(result.revisions).toMatchObject([
			{ kind: 'replan', added: ['t2b'], replaced: [{ id: 't2' }] },
		]);
		// The model's log: planned once, re-planned once, t1 and t2 once; t2b twice (interrupted, then re-run).
		expect(
			chat().filter((r) => /You are a planner\. Break/.test(systemText(r.messages))),
		).toHaveLength(1);
		expect(chat().filter(isReplan)).toHaveLength(1);
		expect(['t1', 't2', 't2b'].map(taskRequests)).toEqual([1, 1, 2]);
	} finally {
		model.setHandler(scriptedModel);
	}
}, 240_000);

it('Process Manager delegates to a chat-model role and to a sub-workflow role, in order', async () => {
	await bothWorkersUp();
	const { client } = cluster;
	model.reset();
	const turns: ModelReply[] = [
		{ toolCalls: [{ name: 'delegate_to_researcher', arguments: { task: 'Find the numbers' } }] },
		{ toolCalls: [{ name: 'delegate_to_calculator', arguments: { task: 'Add them up' } }] },
		{ content: 'The total is ready.' },
	];
	model.setHandler((request: ChatRequest): ModelReply => {
		if (request.tools?.some((t) => t.function.name.startsWith('delegate_to_')))
			return turns.shift() ?? { content: 'Done.' };
		return { content: 'numbers: 2 and 3' };
	});
	try {
		const [llm, store] = await Promise.all([
			client.createCredential(
				'e2e manager model',
				'openAgentsLlmApi',
				offlineLlmCredential(model.baseUrl),
			),
			client.createCredential(
				'e2e manager checkpoints',
				'openAgentsMemoryStore',
				redisStoreCredential(`${REDIS_PREFIX}-manager`),
			),
		]);
		const { id: subWorkflowId } = await client.createWorkflow({
			name: 'e2e: Manager calculator role',
			...roleSubWorkflow('={{ "calculator did: " + $json.task.title }}'),
		});
		await client.activateWorkflow(subWorkflowId);
		const path = `e2e-planner-manager-${randomUUID()}`;
		const { id } = await client.createWorkflow({
			name: 'e2e: Planner Manager mode',
			nodes: [
				webhookNode(path),
				plannerNode(
					{
						operation: 'planAndExecute',
						process: 'manager',
						goal: '={{ $json.body.goal }}',
						roles: {
							role: [
								{ name: 'researcher', instructions: 'Find facts.' },
								{
									name: 'calculator',
									instructions: '',
									workflowId: {
										__rl: true,
										mode: 'list',
										value: subWorkflowId,
										cachedResultName: 'calc',
									},
								},
							],
						},
						store: 'credential',
						retryPolicy: { type: 'none' },
					},
					{ openAgentsLlmApi: llm, openAgentsMemoryStore: store },
					1.1,
				),
			],
			connections: { Webhook: { main: [[{ node: 'Planner', type: 'main', index: 0 }]] } },
		});
		await client.activateWorkflow(id, [path]);
		const res = await client.webhook(path, { goal: 'Add the numbers' });
		const text = await res.text();
		expect({ status: res.status, text }).toMatchObject({ status: 200 });
		const result = JSON.parse(text) as {
			status: string;
			output: string;
			delegations: Array<{ role: string; status: string; output: string }>;
		};
		expect(result).toMatchObject({ status: 'completed', output: 'The total is ready.' });
		expect(result.delegations.map((d) => [d.role, d.status, d.output])).toEqual([
			['researcher', 'completed', 'numbers: 2 and 3'],
			['calculator', 'completed', 'calculator did: Add them up'],
		]);
	} finally {
		model.setHandler(scriptedModel);
	}
}, 120_000);
