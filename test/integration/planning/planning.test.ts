/**
 * lib/planning: validation (random DAGs, cycles, missing deps, duplicates — all problems listed), waves against a
 * reference layering, the executor under random delays (dependencies, failure isolation, concurrency, budget,
 * checkpoints and resume), and planning with the offline model (repairs, clarification).
 */
import { HumanMessage } from '@langchain/core/messages';
import fc from 'fast-check';

import { createChatModel, UsageTracker } from '../../../lib/llm';
import { InProcessMemoryStore, Memory, namespace, SCOPES } from '../../../lib/memory';
import {
	createPlan,
	executePlan,
	CheckpointError,
	CHECKPOINT_ACCESS,
	MemoryCheckpointStore,
	planWaves,
	PlanValidationError,
	validatePlan,
	type Plan,
	type PlanTask,
	type TaskRunResult,
} from '../../../lib/planning';
import { NoRetryPolicy, sleep } from '../../../lib/retry';
import {
	lastUserText,
	OfflineModelServer,
	type ChatRequest,
	offlineModelConfig,
} from '../../../stack/model-server';

const task = (id: string, dependsOn: string[] = [], extra: Partial<PlanTask> = {}): PlanTask => ({
	id,
	title: `Task ${id}`,
	description: '',
	agent: 'worker',
	dependsOn,
	...extra,
});
const plan = (...tasks: PlanTask[]): Plan => ({ goal: 'test goal', tasks });

/** A random DAG: task i may depend only on tasks before it, so there is never a cycle. */
const randomDag = fc.integer({ min: 1, max: 25 }).chain((n) =>
	fc
		.tuple(
			...Array.from({ length: n }, (_, i) =>
				fc.subarray(
					Array.from({ length: i }, (_, j) => `t${j}`),
					{ maxLength: Math.min(i, 4) },
				),
			),
		)
		.map((deps) => plan(...deps.map((d, i) => task(`t${i}`, d)))),
);

/** Reference layering (Kahn): repeatedly take every task whose dependencies are all in earlier layers. */
function referenceLayers(p: Plan): string[][] {
	const placed = new Set<string>();
	const layers: string[][] = [];
	while (placed.size < p.tasks.length) {
		const layer = p.tasks
			.filter((t) => !placed.has(t.id) && t.dependsOn.every((d) => placed.has(d)))
			.map((t) => t.id);
		layer.forEach((id) => placed.add(id));
		layers.push(layer);
	}
	return layers;
}

describe('validatePlan', () => {
	it('property: a random DAG is valid', () => {
		fc.assert(fc.property(randomDag, (p) => expect(validatePlan(p)).toEqual([])));
	});

	it('property: adding a back edge to a random DAG is reported as a cycle whose path follows the dependencies', () => {
		fc.assert(
			fc.property(
				randomDag.filter((p) => p.tasks.length >= 2),
				fc.nat(),
				fc.nat(),
				(p, x, y) => {
					// Make an earlier task depend on a later one that (transitively) depends on it, or on itself via a chain.
					const later = 1 + (x % (p.tasks.length - 1));
					const earlier = y % later;
					const chained = {
						...p,
						tasks: p.tasks.map((t, i) =>
							i === later
								? { ...t, dependsOn: [...new Set([...t.dependsOn, `t${earlier}`])] }
								: i === earlier
									? { ...t, dependsOn: [...t.dependsOn, `t${later}`] }
									: t,
						),
					};
					const cycles = validatePlan(chained).filter((problem) => problem.code === 'CYCLE');
					expect(cycles.length).toBeGreaterThan(0);
					for (const { taskIds } of cycles) {
						expect(taskIds[0]).toBe(taskIds.at(-1));
						// Each step of the path is a real dependency edge: task → one it depends on.
						for (let i = 0; i + 1 < taskIds.length; i++)
							expect(chained.tasks.find((t) => t.id === taskIds[i])!.dependsOn).toContain(
								taskIds[i + 1],
							);
					}
				},
			),
		);
	});

	it('reports a cycle with its path', () => {
		const problems = validatePlan(
			plan(task('root'), task('a', ['root', 'c']), task('b', ['a']), task('c', ['b'])),
		);
		expect(problems).toEqual([
			{ code: 'CYCLE', message: 'Dependency cycle: a → c → b → a', taskIds: ['a', 'c', 'b', 'a'] },
			{
				code: 'UNREACHABLE',
				message: 'Tasks that can never start (they wait on a cycle): a, b, c',
				taskIds: ['a', 'b', 'c'],
			},
		]);
	});

	it('lists every problem at once: duplicates, missing and self dependencies, cycles, no root', () => {
		const codes = validatePlan(
			plan(task('a', ['a']), task('a'), task('b', ['ghost', 'c']), task('c', ['b'])),
		).map((p) => `${p.code}: ${p.message}`);
		expect(codes).toEqual([
			'DUPLICATE_ID: Task id "a" is used more than once',
			'SELF_DEPENDENCY: Task "a" depends on itself',
			'MISSING_DEPENDENCY: Task "b" depends on "ghost", which is not in the plan',
			'CYCLE: Dependency cycle: b → c → b',
			'NO_ROOT: No task can start: every task depends on another',
		]);
	});
});

describe('planWaves', () => {
	it('property: equals a reference topological layering', () => {
		fc.assert(fc.property(randomDag, (p) => expect(planWaves(p)).toEqual(referenceLayers(p))));
	});
});

describe('executePlan', () => {
	const runWithDelays =
		(delays: Record<string, number>, fail: string[] = [], log: string[] = []) =>
		async ({ task: t, dependencies }: { task: PlanTask; dependencies: Record<string, string> }) => {
			log.push(`start ${t.id}`);
			await sleep(delays[t.id] ?? 0);
			log.push(`end ${t.id}`);
			if (fail.includes(t.id)) throw new Error(`${t.id} failed`);
			return `${t.id}(${Object.keys(dependencies).sort().join(',')})`;
		};

	it('property: under random delays every task starts only after its dependencies ended, and sees their outputs', async () => {
		await fc.assert(
			fc.asyncProperty(
				randomDag,
				fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 25, maxLength: 25 }),
				fc.integer({ min: 1, max: 6 }),
				async (p, delays, concurrency) => {
					const log: string[] = [];
					const result = await executePlan(
						p,
						runWithDelays(Object.fromEntries(p.tasks.map((t, i) => [t.id, delays[i]])), [], log),
						{ concurrency },
					);
					expect(result.status).toBe('completed');
					for (const t of p.tasks) {
						const startAt = log.indexOf(`start ${t.id}`);
						for (const d of t.dependsOn) expect(log.indexOf(`end ${d}`)).toBeLessThan(startAt);
						expect(result.tasks.find((r) => r.id === t.id)!.output).toBe(
							`${t.id}(${[...t.dependsOn].sort().join(',')})`,
						);
					}
					// Never more than `concurrency` tasks between a start and an end.
					let inFlight = 0;
					for (const line of log)
						expect((inFlight += line.startsWith('start') ? 1 : -1)).toBeLessThanOrEqual(
							concurrency,
						);
				},
			),
			{ numRuns: 60 },
		);
	});

	it('property: one failing task skips exactly its dependents (transitively); every other task completes', async () => {
		await fc.assert(
			fc.asyncProperty(randomDag, fc.nat(), async (p, pick) => {
				const failing = p.tasks[pick % p.tasks.length].id;
				const dependents = new Set<string>();
				for (const t of p.tasks)
					if (t.dependsOn.some((d) => d === failing || dependents.has(d))) dependents.add(t.id);
				const result = await executePlan(p, runWithDelays({}, [failing]), { concurrency: 3 });
				for (const r of result.tasks) {
					expect(r.status).toBe(
						r.id === failing ? 'failed' : dependents.has(r.id) ? 'skipped' : 'completed',
					);
				}
				expect(result.status).toBe('partial');
			}),
			{ numRuns: 60 },
		);
	});

	it('runs independent tasks in parallel: 8 tasks of 200 ms with concurrency 8 take about one task', async () => {
		const p = plan(...Array.from({ length: 8 }, (_, i) => task(`t${i}`)));
		const result = await executePlan(
			p,
			runWithDelays(Object.fromEntries(p.tasks.map((t) => [t.id, 200]))),
			{ concurrency: 8 },
		);
		expect(result.status).toBe('completed');
		const spans = result.tasks.map((t) => [Date.parse(t.startedAt!), Date.parse(t.finishedAt!)]);
		const latestStart = Math.max(...spans.map((s) => s[0]));
		const earliestEnd = Math.min(...spans.map((s) => s[1]));
		expect(latestStart).toBeLessThan(earliestEnd); // all eight were running at one moment
	});

	it('retries a failed task under the policy and times attempts out', async () => {
		let calls = 0;
		const result = await executePlan(
			plan(task('flaky')),
			async ({ signal }) => {
				if (++calls === 1) await sleep(1_000, signal);
				return 'ok';
			},
			{
				taskTimeoutMs: 50,
				retryPolicy: {
					type: 'fixed',
					maxRetries: 1,
					getRetryDelay: () => 0,
					toJSON: () => ({ type: 'fixed' }),
				} as never,
			},
		);
		expect(result.tasks[0]).toMatchObject({ status: 'completed', attempts: 2, output: 'ok' });
		const timedOut = await executePlan(
			plan(task('stuck')),
			({ signal }) => sleep(1_000, signal).then(() => 'never'),
			{ taskTimeoutMs: 50 },
		);
		expect(timedOut.tasks[0]).toMatchObject({ status: 'failed', error: 'timed out after 0.05 s' });
	});

	it('starts no new task once the budget is spent; running ones finish; the rest are not_run with the reason', async () => {
		let started = 0;
		const p = plan(task('a'), task('b'), task('c', ['a']), task('d', ['b']));
		const result = await executePlan(p, async () => (started++, sleep(20).then(() => 'ok')), {
			concurrency: 2,
			budgetExhausted: () => (started >= 2 ? 'the budget of 2 tasks is used up' : undefined),
		});
		expect(result.tasks.map((t) => t.status)).toEqual([
			'completed',
			'completed',
			'not_run',
			'not_run',
		]);
		expect(result.tasks[2].error).toBe('not run: the budget of 2 tasks is used up');
	});

	it('checkpoints completed tasks and, run again with the same run id, resumes without running them again', async () => {
		const memory = new Memory({ store: new InProcessMemoryStore(), policy: CHECKPOINT_ACCESS });
		const p = plan(task('a'), task('b', ['a']), task('c', ['b']), task('d'));
		const runs: string[] = [];
		// First run: the process "dies" when c starts (the execution is cancelled).
		const crash = new AbortController();
		await expect(
			executePlan(
				p,
				async ({ task: t }) => {
					runs.push(t.id);
					if (t.id === 'c') {
						crash.abort(new Error('worker crashed'));
						await sleep(10_000, crash.signal);
					}
					return `${t.id} done`;
				},
				{
					concurrency: 1,
					signal: crash.signal,
					checkpoints: new MemoryCheckpointStore(memory, { workflowId: 'wf', runId: 'run-1' }),
				},
			),
		).rejects.toThrow('worker crashed');
		expect(runs).toEqual(['a', 'b', 'c']);

		runs.length = 0;
		const resumed = await executePlan(
			p,
			async ({ task: t, dependencies }) => (
				runs.push(t.id),
				`${t.id} done after ${Object.values(dependencies).join(', ')}`
			),
			{
				checkpoints: new MemoryCheckpointStore(memory, { workflowId: 'wf', runId: 'run-1' }),
			},
		);
		expect(runs).toEqual(['c', 'd']);
		expect(resumed).toMatchObject({ status: 'completed', resumed: 2 });
		expect(resumed.tasks.map((t: TaskRunResult) => [t.id, t.resumed ?? false])).toEqual([
			['a', true],
			['b', true],
			['c', false],
			['d', false],
		]);
		expect(resumed.tasks[2].output).toBe('c done after b done');
		// Another run id starts afresh.
		runs.length = 0;
		await executePlan(p, async ({ task: t }) => (runs.push(t.id), 'x'), {
			checkpoints: new MemoryCheckpointStore(memory, { workflowId: 'wf', runId: 'run-2' }),
		});
		expect(runs.sort()).toEqual(['a', 'b', 'c', 'd']);
		// The same run id in another workflow starts afresh too.
		runs.length = 0;
		await executePlan(p, async ({ task: t }) => (runs.push(t.id), 'x'), {
			checkpoints: new MemoryCheckpointStore(memory, { workflowId: 'other-wf', runId: 'run-1' }),
		});
		expect(runs.sort()).toEqual(['a', 'b', 'c', 'd']);
	});

	it('stops every running task when a checkpoint cannot be saved, and names the task', async () => {
		const saves: string[] = [];
		const failingStore = {
			loadPlan: async () => undefined,
			savePlan: async () => undefined,
			loadCompleted: async () => new Map(),
			saveCompleted: async (result: TaskRunResult) => {
				saves.push(result.id);
				if (result.id === 'quick') throw new Error('store down');
			},
		};
		let slowAborted = false;
		const started = Date.now();
		const error = await executePlan(
			plan(task('quick'), task('slow'), task('after', ['quick'])),
			async ({ task: t, signal }) => {
				if (t.id === 'slow') {
					await sleep(10_000, signal).catch((e: unknown) => {
						slowAborted = true;
						throw e;
					});
				}
				return `${t.id} done`;
			},
			{ concurrency: 2, checkpoints: failingStore },
		).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(CheckpointError);
		expect((error as CheckpointError).taskId).toBe('quick');
		expect((error as Error).message).toMatch(/checkpoint of task "quick" failed.*store down/);
		expect(slowAborted).toBe(true);
		expect(Date.now() - started).toBeLessThan(5_000);
		expect(saves).toEqual(['quick']); // "after" never started
	});

	it('keeps checkpoints where no Memory of user scopes can read or write them', async () => {
		const store = new InProcessMemoryStore();
		const checkpoints = new MemoryCheckpointStore(
			new Memory({ store, policy: CHECKPOINT_ACCESS }),
			{
				workflowId: 'wf',
				runId: 'secret-run',
			},
		);
		await checkpoints.savePlan(plan(task('a')));
		const userMemory = new Memory({ store });
		await expect(userMemory.get(checkpoints.ns, 'plan')).rejects.toMatchObject({
			code: 'access_denied',
		});
		expect(() => namespace('', 'plan-run' as never, checkpoints.ns.scopeId)).toThrow(
			/Unknown scope "plan-run"/,
		);
		for (const scope of SCOPES) {
			const page = await userMemory.list(
				namespace('', scope, scope === 'global' ? '' : checkpoints.ns.scopeId),
			);
			expect(page.keys).toEqual([]);
		}
	});

	it('refuses an invalid plan with every problem', async () => {
		const error = (await executePlan(
			plan(task('a', ['b']), task('b', ['a'])),
			async () => 'x',
		).catch((e: unknown) => e)) as PlanValidationError;
		expect(error).toBeInstanceOf(PlanValidationError);
		expect(error.problems.map((p) => p.code)).toEqual(['CYCLE', 'NO_ROOT']);
	});
});

describe('createPlan with the offline model', () => {
	const server = new OfflineModelServer();
	let model: ReturnType<typeof createChatModel>;
	beforeAll(async () => {
		model = createChatModel(offlineModelConfig(await server.start()));
	});
	afterAll(() => server.stop());
	beforeEach(() => server.reset());
	const options = { policy: new NoRetryPolicy() };
	const reply = (value: object) => ({ content: JSON.stringify(value) });
	const lastUser = (i: number) =>
		lastUserText((server.requestsTo('chat')[i].body as ChatRequest).messages);

	it('plans a goal into a valid plan (the stand-in model answers the JSON Schema in the prompt)', async () => {
		const usage = new UsageTracker();
		const result = await createPlan(model, 'Compare Redis and Postgres as agent memory', {
			...options,
			usage,
		});
		expect(result.kind).toBe('plan');
		if (result.kind !== 'plan') return;
		expect(validatePlan(result.plan)).toEqual([]);
		expect(result.plan.tasks.length).toBeGreaterThan(0);
		expect(result.plan.goal).toBe('Compare Redis and Postgres as agent memory');
		expect(usage.get().modelCalls).toBe(1);
	});

	it('sends an invalid plan back with all its problems and accepts the repaired one', async () => {
		server.reply(
			reply({
				goal: 'g',
				tasks: [task('a', ['c']), task('b', ['a']), task('c', ['b']), task('d', ['nope'])],
			}),
			reply({ goal: 'g', tasks: [task('a'), task('b', ['a'])] }),
		);
		const result = await createPlan(model, 'g', options);
		expect(result).toMatchObject({
			kind: 'plan',
			repairs: 1,
			plan: { tasks: [{ id: 'a' }, { id: 'b' }] },
		});
		expect(lastUser(1)).toMatch(/Task "d" depends on "nope", which is not in the plan/);
		expect(lastUser(1)).toMatch(/Dependency cycle: a → c → b → a/);
	});

	it('rejects a plan still invalid after the repairs, listing the problems', async () => {
		const bad = reply({ goal: 'g', tasks: [task('a', ['a'])] });
		server.reply(bad, bad, bad);
		const error = (await createPlan(model, 'g', options).catch(
			(e: unknown) => e,
		)) as PlanValidationError;
		expect(error).toBeInstanceOf(PlanValidationError);
		expect(error.message).toMatch(/Task "a" depends on itself/);
		expect(server.requestsTo('chat')).toHaveLength(3);
	});

	it('enforces the task limit and roles', async () => {
		server.reply(
			reply({ goal: 'g', tasks: [task('a', [], { agent: 'pirate' }), task('b')] }),
			reply({ goal: 'g', tasks: [task('a', [], { agent: 'worker' })] }),
		);
		const result = await createPlan(model, 'g', { ...options, maxTasks: 1, roles: ['worker'] });
		expect(result).toMatchObject({ kind: 'plan', repairs: 1 });
		expect(lastUser(1)).toMatch(/at most 1 tasks, got 2/);
		expect(lastUser(1)).toMatch(/tasks\.0\.agent: must be one of worker, got "pirate"/);
	});

	it('returns the clarifying questions when the model asks instead of planning', async () => {
		server.reply(
			reply({ goal: 'g', tasks: [], clarifyingQuestions: ['Which database versions?'] }),
		);
		expect(await createPlan(model, 'make it better', options)).toEqual({
			kind: 'clarification',
			questions: ['Which database versions?'],
			repairs: 0,
		});
	});

	it('puts the goal in the user message', async () => {
		await createPlan(model, 'Write a haiku', options);
		expect(lastUser(0)).toBe(new HumanMessage('Goal: Write a haiku').content);
	});
});
