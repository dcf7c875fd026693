/**
 * The adaptive Planner in-process, with the offline model scripted per request (never its default planner): re-plan
 * after a failed task (and a re-plan reply with a cycle repaired), review-and-refine rounds, and Manager mode, each
 * with its limits and budget; checkpoints in real Redis.
 */
import { randomBytes } from 'node:crypto';

import type { IDataObject, INodeParameters } from 'n8n-workflow';

import {
	lastUserText,
	OfflineModelServer,
	systemText,
	type ChatRequest,
	type ModelReply,
} from '../../stack/model-server';
import { deleteKeys, redisFromEnv } from '../../stack/services';
import { offlineLlmCredential, redisStoreCredential } from '../support/credentials';
import { planTask } from '../support/plans';
import { testNodeTypes } from '../support/test-nodes';
import { itemsInto, runWorkflow } from '../support/workflow-runner';

const model = new OfflineModelServer();
const memoryPrefix = `openagents-planner-adaptive-${randomBytes(4).toString('hex')}`;
let llmUrl: string;
beforeAll(async () => (llmUrl = await model.start()));
afterAll(() => Promise.all([model.stop(), deleteKeys(redisFromEnv(), `${memoryPrefix}:*`)]));
beforeEach(() => model.reset());

const GOAL = 'Write a launch note';
const chat = () => model.requestsTo('chat').map((r) => r.body as ChatRequest);
const system = (r: ChatRequest) => systemText(r.messages);
const taskOf = (r: ChatRequest) => /Your task \(([^)]+)\)/.exec(lastUserText(r.messages))?.[1];
const isPlanning = (r: ChatRequest) => /You are a planner\. Break/.test(system(r));
const isReplan = (r: ChatRequest) =>
	/revising a plan after some of its tasks failed/.test(system(r));
const isReview = (r: ChatRequest) => /You review answers/.test(system(r));
const isSynthesis = (r: ChatRequest) => /Combine the results of the tasks/.test(system(r));
const tasksRun = () => chat().map(taskOf).filter(Boolean);

type Script = {
	plan: object;
	task?: (id: string, request: ChatRequest) => ModelReply;
	replan?: ModelReply[];
	review?: ModelReply[];
	manager?: ModelReply[];
};
/**
 * Answers each kind of request from `script` (a task reply may throw: the request fails with HTTP 500); returns the
 * handler it installed.
 */
function script(s: Script): (request: ChatRequest) => ModelReply {
	const replans = [...(s.replan ?? [])];
	const reviews = [...(s.review ?? [])];
	const manager = [...(s.manager ?? [])];
	const handler = (request: ChatRequest): ModelReply => {
		if (isReplan(request)) return replans.shift() ?? { content: '{}' };
		if (isPlanning(request)) return { content: JSON.stringify(s.plan) };
		if (isReview(request)) return reviews.shift() ?? { content: '{}' };
		if (isSynthesis(request)) return { content: `Answer from ${tasksRun().length} task runs.` };
		if (request.tools?.some((t) => t.function.name.startsWith('delegate_to_')))
			return manager.shift() ?? { content: 'Manager is done.' };
		const id = taskOf(request)!;
		return s.task ? s.task(id, request) : { content: `${id} done` };
	};
	model.setHandler(handler);
	return handler;
}

const run = (parameters: INodeParameters, planRunId = `run-${randomBytes(4).toString('hex')}`) =>
	runWorkflow(
		itemsInto([{ goal: GOAL }], {
			name: 'Planner',
			type: 'openAgentsPlanner',
			parameters: {
				operation: 'planAndExecute',
				goal: '={{ $json.goal }}',
				store: 'credential',
				planRunId,
				retryPolicy: { type: 'none' },
				...parameters,
			},
			credentials: {
				openAgentsLlmApi: { id: '1', name: 'llm' },
				openAgentsMemoryStore: { id: '2', name: 'memory' },
			},
		}),
		{
			nodeTypes: testNodeTypes,
			credentials: {
				openAgentsLlmApi: offlineLlmCredential(llmUrl),
				openAgentsMemoryStore: redisStoreCredential(memoryPrefix),
			},
		},
	);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- asserted field by field
const output = (result: Awaited<ReturnType<typeof run>>): Record<string, any> =>
	result.outputs.Planner[0][0].json;

const PLAN = {
	goal: GOAL,
	tasks: [planTask('facts'), planTask('draft', ['facts']), planTask('polish', ['draft'])],
};
const failing =
	(...ids: string[]) =>
	(id: string) => {
		if (ids.includes(id)) throw new Error(`${id} backend down`);
		return { content: `${id} done` };
	};
const replanReply = (tasks: object[]) => ({ content: JSON.stringify({ tasks }) });

describe('On Task Failure: Re-Plan', () => {
	it('replaces the failed branch; the new tasks run; completed tasks are not run again', async () => {
		script({
			plan: PLAN,
			task: failing('draft'),
			replan: [replanReply([planTask('outline', ['facts']), planTask('draft2', ['outline'])])],
		});
		const result = await run({ options: { onTaskFailure: 'replan' } });
		const out = output(result);
		expect(out.status).toBe('completed');
		expect(out.tasks.map((t: IDataObject) => [t.id, t.status])).toEqual([
			['facts', 'completed'],
			['outline', 'completed'],
			['draft2', 'completed'],
		]);
		expect(out.revisions).toEqual([
			{
				revision: 1,
				kind: 'replan',
				reason: expect.stringMatching(/^task "draft" failed: /),
				replaced: [
					{ id: 'draft', status: 'failed', error: expect.any(String) },
					{ id: 'polish', status: 'skipped', error: expect.any(String) },
				],
				added: ['outline', 'draft2'],
				at: expect.any(String),
			},
		]);
		expect(tasksRun()).toEqual(['facts', 'draft', 'outline', 'draft2']);
		// The re-planner saw the completed result and the failure.
		const replan = chat().find(isReplan)!;
		expect(lastUserText(replan.messages)).toContain('facts done');
		expect(lastUserText(replan.messages)).toMatch(/draft \(failed\)/);
	});

	it('sends a reply with a cycle back with the problem, and runs the repaired revision', async () => {
		script({
			plan: PLAN,
			task: failing('draft'),
			replan: [
				replanReply([planTask('x', ['y']), planTask('y', ['x'])]),
				replanReply([planTask('x', ['facts']), planTask('y', ['x'])]),
			],
		});
		const out = output(await run({ options: { onTaskFailure: 'replan' } }));
		expect(out.status).toBe('completed');
		const replans = chat().filter(isReplan);
		expect(replans).toHaveLength(2);
		expect(lastUserText(replans[1].messages)).toMatch(/cycle/i);
		expect(tasksRun()).toEqual(['facts', 'draft', 'x', 'y']);
	});

	it('refuses a revision that redoes a completed task under its id', async () => {
		script({
			plan: PLAN,
			task: failing('draft'),
			replan: [
				replanReply([planTask('facts'), planTask('draft2', ['facts'])]),
				replanReply([planTask('draft2', ['facts'])]),
			],
		});
		const out = output(await run({ options: { onTaskFailure: 'replan' } }));
		expect(lastUserText(chat().filter(isReplan)[1].messages)).toMatch(
			/"facts" is already completed/,
		);
		expect(tasksRun().filter((id) => id === 'facts')).toHaveLength(1);
		expect(out.status).toBe('completed');
	});

	it('stops at Max Re-Plans, and Skip Dependents does not re-plan', async () => {
		script({
			plan: PLAN,
			task: failing('draft', 'draft2'),
			replan: [replanReply([planTask('draft2', ['facts'])])],
		});
		const limited = output(await run({ options: { onTaskFailure: 'replan', maxReplans: 1 } }));
		expect(limited.status).toBe('partial');
		expect(limited.revisions).toHaveLength(1);
		expect(chat().filter(isReplan)).toHaveLength(1);

		model.reset();
		script({ plan: PLAN, task: failing('draft') });
		const skipping = output(await run({ options: {} }));
		expect(skipping.status).toBe('partial');
		expect(skipping.revisions).toBeUndefined();
		expect(chat().filter(isReplan)).toHaveLength(0);
	});

	it('does not re-plan once the run budget is spent', async () => {
		// facts and draft start together; planning + facts are the 2 model calls of the budget (draft's failed call
		// is not counted), so the budget is spent when draft has failed.
		const parallel = {
			goal: GOAL,
			tasks: [planTask('facts'), planTask('draft'), planTask('polish', ['draft'])],
		};
		script({ plan: parallel, task: failing('draft'), replan: [replanReply([planTask('draft2')])] });
		const out = output(await run({ options: { onTaskFailure: 'replan', maxModelCalls: 2 } }));
		expect(out.status).toBe('partial');
		expect(tasksRun().sort()).toEqual(['draft', 'facts']);
		expect(chat().filter(isReplan)).toHaveLength(0);
	});
});

describe('Review Rounds', () => {
	const review = (score: number, gaps: string[]) => ({
		content: JSON.stringify({ score, verdict: score >= 0.8 ? 'pass' : 'revise', gaps }),
	});

	it('turns the gaps of a low score into tasks, answers again, and stops when the review passes', async () => {
		script({
			plan: { goal: GOAL, tasks: [planTask('facts')] },
			review: [review(0.4, ['Give the launch date']), review(0.9, [])],
		});
		const out = output(
			await run({
				options: { reviewRounds: 2, minimumScore: 0.8, rubric: 'States the launch date' },
			}),
		);
		expect(out.reviews).toEqual([
			{ round: 1, score: 0.4, verdict: 'revise', gaps: ['Give the launch date'] },
			{ round: 2, score: 0.9, verdict: 'pass', gaps: [] },
		]);
		expect(out.finalScore).toBe(0.9);
		expect(out.tasks.map((t: IDataObject) => [t.id, t.status])).toEqual([
			['facts', 'completed'],
			['review1-1', 'completed'],
		]);
		expect(out.revisions).toMatchObject([{ kind: 'review', added: ['review1-1'] }]);
		expect(tasksRun()).toEqual(['facts', 'review1-1']);
		// The gap task builds on the completed task; the reviewer saw the rubric; two answers were made.
		const gapTask = chat().find((r) => taskOf(r) === 'review1-1')!;
		expect(lastUserText(gapTask.messages)).toContain('facts done');
		expect(lastUserText(chat().find(isReview)!.messages)).toContain('States the launch date');
		expect(chat().filter(isSynthesis)).toHaveLength(2);
	});

	it('stops after Review Rounds refinements even when the score stays low', async () => {
		script({
			plan: { goal: GOAL, tasks: [planTask('facts')] },
			review: [review(0.2, ['More detail']), review(0.3, ['Even more detail'])],
		});
		const out = output(await run({ options: { reviewRounds: 1, minimumScore: 0.8 } }));
		expect(out.reviews.map((r: IDataObject) => r.score)).toEqual([0.2, 0.3]);
		expect(out.finalScore).toBe(0.3);
		expect(tasksRun()).toEqual(['facts', 'review1-1']);
	});

	it('uses the Reviewer Model and Reviewer Instructions when given', async () => {
		const reviews: ChatRequest[] = [];
		const scripted = script({ plan: { goal: GOAL, tasks: [planTask('facts')] } });
		model.setHandler((request) => {
			if (/Be strict about dates/.test(system(request))) {
				reviews.push(request);
				return review(0.95, []);
			}
			return scripted(request);
		});
		const out = output(
			await run({
				options: {
					reviewRounds: 1,
					reviewerModel: 'offline-reviewer',
					reviewerInstructions: 'Be strict about dates.',
				},
			}),
		);
		expect(out.finalScore).toBe(0.95);
		expect(reviews).toHaveLength(1);
		expect(reviews[0].model).toBe('offline-reviewer');
		expect(system(reviews[0])).not.toMatch(/You review answers/);
	});

	it.each([
		[{ reviewRounds: 1, rubric: '  ' }, /Rubric is empty/],
		[{ reviewRounds: 1, rubric: '={{ 5 }}' }, /Rubric must be text, got number/],
		[{ reviewRounds: 1, minimumScore: 1.5 }, /Minimum Score must be between 0 and 1, got 1.5/],
		[{ reviewRounds: 1, synthesize: false }, /Review Rounds need Synthesize Final Answer/],
	])('refuses bad settings %j with a clear item error', async (options, message) => {
		script({ plan: { goal: GOAL, tasks: [planTask('facts')] } });
		const result = await run({ options });
		expect(result.error?.message).toMatch(message);
		expect(tasksRun()).toEqual([]);
	});
});

describe('Process: Manager', () => {
	const roles = {
		role: [
			{ name: 'researcher', instructions: 'Find facts.' },
			{ name: 'writer', instructions: 'Write clearly.' },
		],
	};
	const delegate = (role: string, task: string) => ({
		toolCalls: [{ name: `delegate_to_${role}`, arguments: { task } }],
	});
	const roleRequests = () =>
		chat()
			.filter((r) => taskOf(r) === 'delegation')
			.map((r) => /You are|Find facts|Write clearly/.exec(system(r))?.[0]);

	it('delegates to two roles in order, sees their results, answers; a re-run reuses the delegations', async () => {
		const managerTurns = () => [
			delegate('researcher', 'Collect the launch facts'),
			delegate('writer', 'Write the note from the facts'),
			{ content: 'The launch note.' },
		];
		script({
			plan: PLAN,
			manager: managerTurns(),
			task: (_id, request) => ({
				content: /Find facts/.test(system(request)) ? 'facts: Monday' : 'note: launching Monday',
			}),
		});
		const planRunId = `manager-${randomBytes(4).toString('hex')}`;
		const out = output(await run({ process: 'manager', roles }, planRunId));
		expect(out).toMatchObject({
			process: 'manager',
			status: 'completed',
			output: 'The launch note.',
			resumed: 0,
		});
		expect(
			out.delegations.map((d: IDataObject) => [d.n, d.role, d.task, d.status, d.output]),
		).toEqual([
			[1, 'researcher', 'Collect the launch facts', 'completed', 'facts: Monday'],
			[2, 'writer', 'Write the note from the facts', 'completed', 'note: launching Monday'],
		]);
		expect(roleRequests()).toEqual(['Find facts', 'Write clearly']);
		// The manager's second turn saw the researcher's result.
		const managerCalls = chat().filter((r) =>
			r.tools?.some((t) => t.function.name.startsWith('delegate_to_')),
		);
		expect(
			managerCalls[1].messages.some((m) => m.role === 'tool' && m.content === 'facts: Monday'),
		).toBe(true);
		expect(chat().filter(isPlanning)).toHaveLength(0);

		// The same input again: the manager asks the same, each delegation comes from its checkpoint.
		model.reset();
		script({ plan: PLAN, manager: managerTurns() });
		const again = output(await run({ process: 'manager', roles }, planRunId));
		expect(again).toMatchObject({ status: 'completed', resumed: 2 });
		expect(roleRequests()).toEqual([]);
	});

	it('adds Manager Instructions, and Max Tasks bounds its turns', async () => {
		script({ plan: PLAN, manager: [delegate('researcher', 'a'), delegate('writer', 'b')] });
		const out = output(
			await run({
				process: 'manager',
				roles,
				options: { maxTasks: 1, managerInstructions: 'Always ask the researcher first.' },
			}),
		);
		expect(out.status).toBe('partial');
		expect(out.reason).toMatch(/after 1 turns/);
		const managerCall = chat().find((r) =>
			r.tools?.some((t) => t.function.name === 'delegate_to_writer'),
		)!;
		expect(system(managerCall)).toContain('Always ask the researcher first.');
		expect(managerCall.tools!.map((t) => t.function.name)).toEqual([
			'delegate_to_researcher',
			'delegate_to_writer',
		]);
	});

	it('retries a failed delegation under the Retry Policy, and tells the manager when it still fails', async () => {
		let researcherCalls = 0;
		script({
			plan: PLAN,
			manager: [delegate('researcher', 'a'), delegate('writer', 'b'), { content: 'Done anyway.' }],
			task: (_id, request) => {
				if (/Find facts/.test(system(request)) && ++researcherCalls === 1)
					throw new Error('researcher hiccup');
				if (/Write clearly/.test(system(request))) throw new Error('writer is down');
				return { content: 'facts' };
			},
		});
		const out = output(
			await run({
				process: 'manager',
				roles,
				retryPolicy: { type: 'fixed', maxRetries: 1, delay: 10 },
			}),
		);
		expect(out.delegations.map((d: IDataObject) => [d.role, d.status])).toEqual([
			['researcher', 'completed'],
			['writer', 'failed'],
		]);
		expect(researcherCalls).toBe(2);
		const last = chat()
			.filter((r) => r.tools?.some((t) => t.function.name.startsWith('delegate_to_')))
			.at(-1)!;
		expect(
			last.messages.some(
				(m) => m.role === 'tool' && /The writer could not do the task/.test(String(m.content)),
			),
		).toBe(true);
		expect(out).toMatchObject({ status: 'completed', output: 'Done anyway.' });
	});

	it('stops the manager when the budget is spent', async () => {
		script({
			plan: PLAN,
			manager: [delegate('researcher', 'a'), delegate('researcher', 'b'), delegate('writer', 'c')],
		});
		const out = output(await run({ process: 'manager', roles, options: { maxModelCalls: 2 } }));
		expect(out.status).toBe('partial');
		expect(out.reason).toMatch(/budget of 2 model calls/);
	});

	it('needs Roles', async () => {
		script({ plan: PLAN });
		const result = await run({ process: 'manager' });
		expect(result.error?.message).toMatch(/Manager mode needs Roles/);
		expect(chat()).toHaveLength(0);
	});
});
