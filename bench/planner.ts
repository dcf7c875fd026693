/**
 * Planner parallelism, 8 independent tasks, each one model call with 500 ms latency (offline model):
 * (1) in-process: a goal planned into the 8 tasks, executed with concurrency 8 and with concurrency 1;
 *     planning time, wall time of both runs, sum of task durations, speed-up;
 * (2) in real queue-mode n8n: webhook → Planner (Execute Plan, the 8 tasks, concurrency 8) → respond, against three
 *     n8n ways to run the same 8 tasks with the same chat model sub-node: (a) 8 branches of Basic LLM Chain (n8n runs
 *     branches one after another), (b) the 8 tasks as 8 items into one Basic LLM Chain 1.7 with Batch Processing,
 *     batch size 8 (items in parallel) — how an n8n user would run independent prompts at once, (c) n8n's
 *     sub-workflow fan-out (Execute Workflow per task without waiting, answers gathered through Redis). Requests
 *     alternate; wall time per request; the fastest n8n way is the baseline.
 */
import { randomUUID } from 'node:crypto';

import { HumanMessage, SystemMessage } from '@langchain/core/messages';

import { createChatModel, runAgent, UsageTracker } from '../lib/llm';
import { createPlan, executePlan } from '../lib/planning';
import { NoRetryPolicy } from '../lib/retry';
import {
	OfflineModelServer,
	systemText,
	type ChatRequest,
	offlineModelConfig,
} from '../stack/model-server';
import { ifNode, openAiChatModelNode, plannerNode, webhookNode } from '../stack/n8n/workflow-nodes';
import {
	activeWorkflow,
	benchCluster,
	chain,
	WORKER_CONCURRENCY,
	WORKERS,
	type BenchCluster,
} from './cluster';
import { alternating, postJson, ratio } from './load';

const TASKS = 8;

const taskTitle = (i: number) => `Independent task ${i + 1}`;

/** The plan both parts run: TASKS independent tasks. */
const PLAN = {
	goal: 'bench goal',
	tasks: Array.from({ length: TASKS }, (_, i) => ({
		id: `t${i + 1}`,
		title: taskTitle(i),
		description: '',
		agent: 'worker',
		dependsOn: [] as string[],
	})),
};

async function n8nComparison(latencyMs: number, requests: number) {
	const bench = await benchCluster();
	bench.model.reset();
	const chatModel = openAiChatModelNode(bench.credentials.openAiApi);

	const ourPath = `bench-planner-ours-${randomUUID()}`;
	const planner = plannerNode(
		{
			operation: 'executePlan',
			plan: '={{ $json.body.plan }}',
			options: { concurrency: TASKS, synthesize: false },
		},
		{ openAgentsMemoryStore: bench.credentials.openAgentsMemoryStore },
	);
	await activeWorkflow(
		bench.client,
		'planner (ours)',
		ourPath,
		[webhookNode(ourPath), planner, chatModel],
		{
			...chain('Webhook', 'Planner'),
			'Chat Model': {
				ai_languageModel: [[{ node: 'Planner', type: 'ai_languageModel', index: 0 }]],
			},
		},
	);

	const theirPath = `bench-planner-n8n-${randomUUID()}`;
	const branches = Array.from({ length: TASKS }, (_, i) => ({
		id: randomUUID(),
		name: `Task ${i + 1}`,
		type: '@n8n/n8n-nodes-langchain.chainLlm',
		typeVersion: 1.7,
		position: [220, i * 120],
		parameters: { promptType: 'define', text: taskTitle(i) },
	}));
	await activeWorkflow(
		bench.client,
		'planner tasks as n8n branches',
		theirPath,
		[webhookNode(theirPath), ...branches, chatModel],
		{
			Webhook: { main: [branches.map((b) => ({ node: b.name, type: 'main', index: 0 }))] },
			'Chat Model': {
				ai_languageModel: [
					branches.map((b) => ({ node: b.name, type: 'ai_languageModel', index: 0 })),
				],
			},
		},
	);

	const batchedPath = `bench-planner-n8n-batched-${randomUUID()}`;
	await activeWorkflow(
		bench.client,
		'planner tasks as items of one batched LLM chain',
		batchedPath,
		[
			webhookNode(batchedPath, [0, 0], { responseData: 'allEntries' }),
			{
				id: randomUUID(),
				name: 'Tasks',
				type: 'n8n-nodes-base.splitOut',
				typeVersion: 1,
				position: [220, 0],
				parameters: { fieldToSplitOut: 'body.tasks', options: {} },
			},
			{
				id: randomUUID(),
				name: 'Chain',
				type: '@n8n/n8n-nodes-langchain.chainLlm',
				typeVersion: 1.7,
				position: [440, 0],
				parameters: {
					promptType: 'define',
					text: '={{ $json.title }}',
					batching: { batchSize: TASKS, delayBetweenBatches: 0 },
				},
			},
			chatModel,
		],
		{
			...chain('Webhook', 'Tasks', 'Chain'),
			'Chat Model': { ai_languageModel: [[{ node: 'Chain', type: 'ai_languageModel', index: 0 }]] },
		},
	);
	const fanOutPath = await fanOutWorkflows(bench, chatModel);
	const tasks = PLAN.tasks.map((t) => ({ title: t.title }));

	bench.model.latencyMs = latencyMs;
	try {
		// The run number in the body makes each request a new plan run (the default plan run ID hashes the input).
		const figures = await alternating(
			{
				openAgentsPlanner: (run) =>
					postJson<{ status?: string; tasks?: unknown[] }>(
						bench.client,
						ourPath,
						{ plan: PLAN, run },
						(r) => r.status === 'completed' && r.tasks?.length === TASKS,
					),
				n8nBranches: () => postJson(bench.client, theirPath, {}),
				n8nBatchedChain: () =>
					postJson<unknown[]>(bench.client, batchedPath, { tasks }, (r) => r.length === TASKS),
				n8nSubWorkflowFanOut: (run) =>
					whyFailed(
						bench,
						postJson<Record<string, unknown>>(
							bench.client,
							fanOutPath,
							{
								tasks: tasks.map((t, i) => ({
									...t,
									key: `${bench.redisPrefix}-fanout:${run}:${i}`,
								})),
								pattern: `${bench.redisPrefix}-fanout:${run}:*`,
							},
							(r) => Object.keys(r).length === TASKS,
						),
					),
			},
			{ rounds: requests, concurrency: 1, warmUpRounds: 1 },
		);
		const taskCalls = bench.model.requestsTo('chat').length;
		if (taskCalls !== (requests + 1) * 4 * TASKS)
			throw new Error(`expected ${(requests + 1) * 4 * TASKS} task model calls, saw ${taskCalls}`);
		// The baseline is the fastest n8n way measured.
		const n8nWays = ['n8nBatchedChain', 'n8nSubWorkflowFanOut', 'n8nBranches'] as const;
		const baseline = [...n8nWays].sort(
			(a, b) => figures[a].latencyMs.p50 - figures[b].latencyMs.p50,
		)[0];
		return {
			setup: `queue mode, main + ${WORKERS} workers (concurrency ${WORKER_CONCURRENCY}); ${TASKS} independent tasks, one model call each, ${latencyMs} ms model latency; ${requests} requests each, one at a time, alternating`,
			...figures,
			baseline,
			wallTimeP50Ratio: ratio(
				figures.openAgentsPlanner.latencyMs.p50,
				figures[baseline].latencyMs.p50,
			),
			speedUp: ratio(figures[baseline].latencyMs.p50, figures.openAgentsPlanner.latencyMs.p50),
			speedUpOverBranches: ratio(
				figures.n8nBranches.latencyMs.p50,
				figures.openAgentsPlanner.latencyMs.p50,
			),
		};
	} finally {
		bench.model.latencyMs = 0;
	}
}

/** `call`, or on failure its error with the error of the newest failed execution (what n8n's 500 does not say). */
async function whyFailed<T>(bench: BenchCluster, call: Promise<T>): Promise<T> {
	try {
		return await call;
	} catch (error) {
		const [failed] = await bench.client.executions({ status: 'error', limit: 1 });
		const execution = failed ? await bench.client.execution(failed.id) : undefined;
		const nodes = Object.entries(execution?.data?.resultData.runData ?? {}).flatMap(
			([node, runs]) => runs.filter((r) => r.error).map((r) => `${node}: ${r.error!.message}`),
		);
		throw new Error(
			`${(error as Error).message}; execution ${failed?.id}: ${execution?.data?.resultData.error?.message} ${nodes.join('; ')}`,
		);
	}
}

/**
 * n8n's sub-workflow fan-out: Split Out → Execute Workflow (once per item, Wait For Sub-Workflow Completion off: the
 * sub-workflows run at once) — each sub-workflow runs a Basic LLM Chain on its task and stores the answer in Redis
 * under the task's key — then a Wait (100 ms) → Redis Keys → If loop until every answer is there, and the webhook
 * answers with them (the gathering glue an n8n user builds, as n8n returns nothing from sub-workflows not waited for).
 */
export async function fanOutWorkflows(bench: BenchCluster, chatModel: Record<string, unknown>) {
	const node = (
		name: string,
		type: string,
		typeVersion: number,
		parameters: object,
		extra = {},
	) => ({
		id: randomUUID(),
		name,
		type,
		typeVersion,
		position: [0, 0],
		parameters,
		...extra,
	});
	const redis = { redis: bench.credentials.redis };
	const { id: subId } = await bench.client.createWorkflow({
		name: 'planner task as a sub-workflow',
		nodes: [
			node('Start', 'n8n-nodes-base.executeWorkflowTrigger', 1.1, { inputSource: 'passthrough' }),
			node('Chain', '@n8n/n8n-nodes-langchain.chainLlm', 1.7, {
				promptType: 'define',
				text: '={{ $json.title }}',
			}),
			chatModel,
			node(
				'Store Answer',
				'n8n-nodes-base.redis',
				1,
				{
					operation: 'set',
					key: "={{ $('Start').item.json.key }}",
					value: '={{ $json.text }}',
					expire: true,
					ttl: 300,
				},
				{ credentials: redis },
			),
		],
		connections: {
			...chain('Start', 'Chain', 'Store Answer'),
			'Chat Model': { ai_languageModel: [[{ node: 'Chain', type: 'ai_languageModel', index: 0 }]] },
		},
	});
	await bench.client.activateWorkflow(subId);
	const path = `bench-planner-n8n-fanout-${randomUUID()}`;
	await activeWorkflow(
		bench.client,
		'planner tasks as sub-workflows, fanned out',
		path,
		[
			webhookNode(path, [0, 0], { responseData: 'firstEntryJson' }),
			node('Tasks', 'n8n-nodes-base.splitOut', 1, { fieldToSplitOut: 'body.tasks', options: {} }),
			node('Fan Out', 'n8n-nodes-base.executeWorkflow', 1.1, {
				source: 'database',
				workflowId: { __rl: true, mode: 'id', value: subId },
				mode: 'each',
				options: { waitForSubWorkflow: false },
			}),
			node(
				'Wait',
				'n8n-nodes-base.wait',
				1.1,
				{ resume: 'timeInterval', amount: 0.1, unit: 'seconds' },
				{ executeOnce: true },
			),
			node(
				'Answers',
				'n8n-nodes-base.redis',
				1,
				{
					operation: 'keys',
					keyPattern: "={{ $('Webhook').first().json.body.pattern }}",
					getValues: true,
				},
				{ credentials: redis, alwaysOutputData: true },
			),
			ifNode('All There?', [0, 0], {
				leftValue: '={{ Object.keys($json).length }}',
				rightValue: TASKS,
				operator: { type: 'number', operation: 'gte' },
			}),
			node('Gathered', 'n8n-nodes-base.noOp', 1, {}),
		],
		{
			...chain('Webhook', 'Tasks', 'Fan Out', 'Wait', 'Answers', 'All There?'),
			'All There?': {
				main: [
					[{ node: 'Gathered', type: 'main', index: 0 }],
					[{ node: 'Wait', type: 'main', index: 0 }],
				],
			},
		},
	);
	return path;
}

const WAVES = 10;
const PER_WAVE = 5;

/**
 * 50 tasks in 10 waves of 5, each task depending on every task of the wave before: the critical path is 10 model
 * calls, so the ideal wall time is 10 × the model latency; what is over it is the Planner's own time.
 */
async function deepPlan(
	run: (args: { task: { title: string }; signal: AbortSignal }) => Promise<string>,
) {
	const id = (wave: number, i: number) => `w${wave}t${i}`;
	const plan = {
		goal: 'bench goal in waves',
		tasks: Array.from({ length: WAVES * PER_WAVE }, (_, n) => {
			const wave = Math.floor(n / PER_WAVE);
			return {
				id: id(wave, n % PER_WAVE),
				title: `Task ${n + 1}`,
				description: '',
				agent: 'worker',
				dependsOn: wave ? Array.from({ length: PER_WAVE }, (_, i) => id(wave - 1, i)) : [],
			};
		}),
	};
	const start = performance.now();
	const result = await executePlan(plan, run, { concurrency: PER_WAVE });
	if (result.status !== 'completed') throw new Error('a bench task failed');
	return {
		tasks: plan.tasks.length,
		waves: WAVES,
		concurrency: PER_WAVE,
		wallMs: Math.round(performance.now() - start),
	};
}

export async function planner(
	latencyMs = Number(process.env.BENCH_PLANNER_LATENCY_MS ?? 500),
	requests = Number(process.env.BENCH_PLANNER_REQUESTS ?? 10),
) {
	const server = new OfflineModelServer({ latencyMs });
	await server.start();
	server.setHandler((request: ChatRequest) => {
		if (/You are a planner/.test(systemText(request.messages))) {
			return { content: JSON.stringify(PLAN) };
		}
		return { content: 'done' };
	});
	try {
		const model = createChatModel(offlineModelConfig(server));
		const options = { policy: new NoRetryPolicy(), usage: new UsageTracker() };
		let t = performance.now();
		const planned = await createPlan(model, 'bench goal', { ...options, maxTasks: TASKS });
		const planningMs = performance.now() - t;
		if (planned.kind !== 'plan') throw new Error('the bench plan was not made');
		const run = ({ task, signal }: { task: { title: string }; signal: AbortSignal }) =>
			runAgent(model, [new SystemMessage('You are a worker.'), new HumanMessage(task.title)], [], {
				...options,
				signal,
			}).then((r) => r.output);
		const timed = async (concurrency: number) => {
			const start = performance.now();
			const result = await executePlan(planned.plan, run, { concurrency });
			if (result.status !== 'completed') throw new Error('a bench task failed');
			return {
				wallMs: Math.round(performance.now() - start),
				sumOfTaskMs: result.tasks.reduce((n, task) => n + task.durationMs, 0),
			};
		};
		const parallel = await timed(TASKS);
		const sequential = await timed(1);
		const waves = await deepPlan(run);
		t = Math.round(planningMs);
		return {
			n8n: await n8nComparison(latencyMs, requests),
			setup: `${TASKS} independent tasks, one model call each, ${latencyMs} ms model latency; planning is one model call`,
			planningMs: t,
			parallel: { concurrency: TASKS, ...parallel, withPlanningMs: parallel.wallMs + t },
			sequential: { concurrency: 1, ...sequential },
			speedUp: Math.round((sequential.wallMs / parallel.wallMs) * 100) / 100,
			parallelOverOneTask: Math.round((parallel.wallMs / latencyMs) * 100) / 100,
			fiftyTasksTenWaves: {
				...waves,
				idealMs: WAVES * latencyMs,
				overheadMs: waves.wallMs - WAVES * latencyMs,
			},
		};
	} finally {
		await server.stop();
	}
}
