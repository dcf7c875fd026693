/**
 * The Planner node in workflows run in-process: the offline model server (its default planner reply, or scripted
 * replies), checkpoints in real Redis.
 */
import { randomBytes } from 'node:crypto';

import type { INodeParameters } from 'n8n-workflow';

import {
	lastUserText,
	OfflineModelServer,
	offlineModel,
	systemText,
	type ChatRequest,
	type ModelReply,
	offlineModelConfig,
} from '../../stack/model-server';
import { deleteKeys, redisFromEnv } from '../../stack/services';
import { testNodeTypes } from '../support/test-nodes';
import { itemsInto, runWorkflow } from '../support/workflow-runner';
import { planTask } from '../support/plans';

const run = randomBytes(4).toString('hex');
const model = new OfflineModelServer();
const memoryPrefix = `openagents-planner-nodes-${run}`;
let llmUrl: string;

beforeAll(async () => {
	llmUrl = await model.start();
});
afterAll(async () => {
	await Promise.all([model.stop(), deleteKeys(redisFromEnv(), `${memoryPrefix}:*`)]);
});
beforeEach(() => {
	model.reset();
	model.setHandler(undefined);
	model.latencyMs = 0;
});

const credentials = {
	openAgentsLlmApi: { id: '1', name: 'llm' },
	openAgentsMemoryStore: { id: '2', name: 'memory' },
};
const exec = (
	items: object[],
	parameters: INodeParameters,
	continueOnFail = false,
	workflowId?: string,
) =>
	runWorkflow(
		itemsInto(items, {
			name: 'Planner',
			type: 'openAgentsPlanner',
			parameters: { retryPolicy: { type: 'none' }, store: 'credential', ...parameters },
			credentials,
			continueOnFail,
		}),
		{
			nodeTypes: testNodeTypes,
			workflowId,
			credentials: {
				openAgentsLlmApi: offlineModelConfig(llmUrl),
				openAgentsMemoryStore: {
					backend: 'redis',
					host: '127.0.0.1',
					redisPort: 6379,
					redisDatabase: 0,
					prefix: memoryPrefix,
				},
			},
		},
	);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- output shapes are asserted field by field below
type Json = Record<string, any>;
const outputs = (result: Awaited<ReturnType<typeof exec>>) => ({
	result: (result.outputs.Planner?.[0] ?? []).map((i) => i.json as Json),
	clarification: (result.outputs.Planner?.[1] ?? []).map((i) => i.json as Json),
});
const userText = (request: ChatRequest) => lastUserText(request.messages);
const isPlanning = (request: ChatRequest) => /You are a planner/.test(systemText(request.messages));
/** Chat requests that ran task `id` (the task prompt names it). */
const taskRequests = (id: string) =>
	model
		.requestsTo('chat')
		.filter((r) => userText(r.body as ChatRequest).includes(`Your task (${id})`));

/**
 * The plan these tests script for planning requests (the offline model derives its own from the goal, so a test
 * that needs a known shape says which): two independent tasks, then an analysis of both, then the answer.
 */
const scriptedPlan = (goal: string) => ({
	goal,
	clarifyingQuestions: [],
	tasks: [
		planTask('research'),
		planTask('examples'),
		planTask('analyse', ['research', 'examples']),
		planTask('answer', ['analyse']),
	],
});
const goalOf = (request: ChatRequest) => /^Goal: (.*)$/m.exec(userText(request))?.[1] ?? '';

/**
 * Answers planning requests with scriptedPlan, task prompts with "<id> done" (task `slow` takes 1.5 s), the
 * synthesis with a summary, other prompts as the offline model.
 */
const taskModel =
	(slow = 'none') =>
	async (request: ChatRequest): Promise<ModelReply> => {
		if (isPlanning(request)) return { content: JSON.stringify(scriptedPlan(goalOf(request))) };
		const id = /Your task \(([^)]+)\)/.exec(userText(request))?.[1];
		if (id) {
			if (id === slow) await new Promise((r) => setTimeout(r, 1_500));
			return { content: `${id} done` };
		}
		if (/Combine the results/.test(systemText(request.messages)))
			return { content: 'Final answer from the task results.' };
		return offlineModel(request);
	};

describe('Planner', () => {
	it('plans and executes a goal: parallel first wave, dependencies respected, synthesis, usage; nothing on Needs Clarification', async () => {
		model.setHandler(taskModel());
		const result = await exec([{ question: 'Compare Redis and Postgres' }], {
			operation: 'planAndExecute',
			goal: '={{ $json.question }}',
			options: { concurrency: 4 },
		});
		expect(result.status).toBe('success');
		const {
			result: [item],
			clarification,
		} = outputs(result);
		expect(clarification).toEqual([]);
		expect(item).toMatchObject({
			goal: 'Compare Redis and Postgres',
			status: 'completed',
			output: 'Final answer from the task results.',
			resumed: 0,
		});
		expect(item.waves).toEqual([['research', 'examples'], ['analyse'], ['answer']]);
		expect(item.tasks.map((t: Json) => [t.id, t.wave, t.status, t.output])).toEqual([
			['research', 0, 'completed', 'research done'],
			['examples', 0, 'completed', 'examples done'],
			['analyse', 1, 'completed', 'analyse done'],
			['answer', 2, 'completed', 'answer done'],
		]);
		// analyse saw both results of the first wave.
		expect(userText(taskRequests('analyse')[0].body as ChatRequest)).toMatch(
			/### research\nresearch done[\s\S]*### examples\nexamples done/,
		);
		expect(item.usage.modelCalls).toBe(6); // plan + 4 tasks + synthesis
		expect(item.planRunId).toMatch(/^[0-9a-f]{32}$/);
		expect(result.outputs.Planner[0][0].pairedItem).toEqual({ item: 0 });
	});

	it('creates a plan as one item per task with its wave, or as the whole plan', async () => {
		model.setHandler(taskModel());
		const perTask = outputs(
			await exec([{}], { operation: 'createPlan', goal: 'Write a report', planOutput: 'perTask' }),
		).result;
		expect(perTask.map((t) => [t.id, t.wave, t.dependsOn])).toEqual([
			['research', 0, []],
			['examples', 0, []],
			['analyse', 1, ['research', 'examples']],
			['answer', 2, ['analyse']],
		]);
		const [whole] = outputs(
			await exec([{}], { operation: 'createPlan', goal: 'Write a report', planOutput: 'whole' }),
		).result;
		expect(whole.plan.tasks).toHaveLength(4);
		expect(whole.waves).toHaveLength(3);
	});

	it('sends the clarifying questions to the Needs Clarification output', async () => {
		model.reply({
			content: JSON.stringify({
				goal: 'make it better',
				tasks: [],
				clarifyingQuestions: ['Better in what way?', 'For whom?'],
			}),
		});
		const { result, clarification } = outputs(
			await exec([{}], { operation: 'planAndExecute', goal: 'make it better' }),
		);
		expect(result).toEqual([]);
		expect(clarification).toEqual([
			expect.objectContaining({
				goal: 'make it better',
				questions: ['Better in what way?', 'For whom?'],
			}),
		]);
	});

	it('isolates a failing task: exactly its dependents are skipped, the independent branch completes', async () => {
		model.setHandler(taskModel('b'));
		const plan = {
			goal: 'g',
			tasks: [
				planTask('a'),
				planTask('b'),
				planTask('c', ['b']),
				planTask('d', ['c']),
				planTask('e', ['a']),
			],
		};
		const [item] = outputs(
			await exec([{}], {
				operation: 'executePlan',
				plan: JSON.stringify(plan),
				planRunId: `isolation-${run}`,
				options: { taskTimeoutSeconds: 1 },
			}),
		).result;
		expect(item.status).toBe('partial');
		expect(item.tasks.map((t: Json) => [t.id, t.status])).toEqual([
			['a', 'completed'],
			['b', 'failed'],
			['c', 'skipped'],
			['d', 'skipped'],
			['e', 'completed'],
		]);
		expect(item.tasks[1].error).toBe('timed out after 1 s');
		expect(item.tasks[2].error).toBe('skipped: dependency "b" failed');
	});

	it('resumes a run with the same plan run ID: completed tasks are not executed again', async () => {
		const plan = {
			goal: 'g',
			tasks: [planTask('a'), planTask('b', ['a']), planTask('c', ['b']), planTask('d')],
		};
		const params = {
			operation: 'executePlan',
			plan: JSON.stringify(plan),
			planRunId: `resume-${run}`,
			options: { taskTimeoutSeconds: 1, concurrency: 1 },
		};
		model.setHandler(taskModel('c'));
		const [first] = outputs(await exec([{}], params)).result;
		expect(first.tasks.map((t: Json) => t.status)).toEqual([
			'completed',
			'completed',
			'failed',
			'completed',
		]);

		model.reset();
		model.setHandler(taskModel());
		const [second] = outputs(await exec([{}], params)).result;
		expect(second).toMatchObject({ status: 'completed', resumed: 3 });
		expect(['a', 'b', 'c', 'd'].map((id) => taskRequests(id).length)).toEqual([0, 0, 1, 0]);
		expect(second.tasks.map((t: Json) => t.resumed ?? false)).toEqual([true, true, false, true]);
		expect(userText(taskRequests('c')[0].body as ChatRequest)).toContain('### b\nb done');

		// The same plan run ID in another workflow is another run: nothing of this one is visible there.
		model.reset();
		model.setHandler(taskModel());
		const [elsewhere] = outputs(await exec([{}], params, false, 'another-workflow')).result;
		expect(elsewhere).toMatchObject({ status: 'completed', resumed: 0 });
		expect(['a', 'b', 'c', 'd'].map((id) => taskRequests(id).length)).toEqual([1, 1, 1, 1]);
	});

	it('Plan and Execute reuses the saved plan on a re-run of the same input (the model is not asked to plan again)', async () => {
		model.setHandler(taskModel('answer'));
		const params = {
			operation: 'planAndExecute',
			goal: 'Explain queue mode',
			options: { taskTimeoutSeconds: 1 },
		};
		const [first] = outputs(await exec([{ id: 1 }], params)).result;
		expect(first.tasks.at(-1).status).toBe('failed');
		expect(model.requestsTo('chat').filter((r) => isPlanning(r.body as ChatRequest))).toHaveLength(
			1,
		);
		model.reset();
		model.setHandler(taskModel());
		const [second] = outputs(await exec([{ id: 1 }], params)).result;
		expect(second).toMatchObject({ status: 'completed', resumed: 3, planRunId: first.planRunId });
		expect(model.requestsTo('chat').filter((r) => isPlanning(r.body as ChatRequest))).toHaveLength(
			0,
		);
		// Another input item is another run.
		const [other] = outputs(await exec([{ id: 2 }], params)).result;
		expect(other.planRunId).not.toBe(first.planRunId);
		expect(other.resumed).toBe(0);
	});

	it('runs independent tasks in parallel: 8 tasks with 300 ms model latency overlap in time', async () => {
		model.setHandler(taskModel());
		model.latencyMs = 300;
		const plan = { goal: 'g', tasks: Array.from({ length: 8 }, (_, i) => planTask(`t${i}`)) };
		const [item] = outputs(
			await exec([{}], {
				operation: 'executePlan',
				plan: JSON.stringify(plan),
				planRunId: `parallel-${run}`,
				options: { concurrency: 8, synthesize: false },
			}),
		).result;
		const spans = item.tasks.map((t: Json) => [Date.parse(t.startedAt), Date.parse(t.finishedAt)]);
		expect(Math.max(...spans.map((s: number[]) => s[0]))).toBeLessThan(
			Math.min(...spans.map((s: number[]) => s[1])),
		);
	});

	it('stops starting tasks when the run budget is spent and says which tasks did not run', async () => {
		model.setHandler(taskModel());
		const [item] = outputs(
			await exec([{}], {
				operation: 'planAndExecute',
				goal: 'Budgeted goal',
				options: { maxModelCalls: 3, concurrency: 1, synthesize: false },
			}),
		).result;
		expect(item.status).toBe('partial');
		expect(item.tasks.map((t: Json) => t.status)).toEqual([
			'completed',
			'completed',
			'not_run',
			'not_run',
		]);
		expect(item.tasks[2].error).toBe('not run: the budget of 3 model calls is used up');
		expect(item.usage.modelCalls).toBe(3);
	});

	it('rejects an invalid plan with every problem, per item', async () => {
		const cyclic = {
			goal: 'g',
			tasks: [planTask('a', ['b']), planTask('b', ['a']), planTask('c', ['ghost'])],
		};
		const result = await exec(
			[{}, {}],
			{
				operation: 'executePlan',
				plan:
					'={{ $itemIndex === 0 ? ' + JSON.stringify(JSON.stringify(cyclic)) + ' : "not json" }}',
			},
			true,
		);
		const [first, second] = outputs(result).result;
		expect(first).toMatchObject({ code: 'invalid_plan' });
		expect(first.problems.map((p: Json) => p.message)).toEqual([
			'Task "c" depends on "ghost", which is not in the plan',
			'Dependency cycle: a → b → a',
			'No task can start: every task depends on another',
		]);
		expect(second.error).toMatch(/The plan is not valid JSON/);
		expect(result.outputs.Planner[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
	});
});
