/** Prompts built in lib/: the Agent's Task step and the Planner's task and synthesis messages. */
import { taskStepPrompt, type StepResult, type TaskStep } from '../../../lib/llm';
import { synthesisPrompt, taskPrompt, type Plan } from '../../../lib/planning';

const step = (name: string, instruction: string): TaskStep => ({
	name,
	instruction,
	timeoutMs: 1000,
	retries: 0,
});
const result = (
	name: string,
	status: StepResult<{ output: string }>['status'],
	output?: string,
): StepResult<{ output: string }> => ({
	name,
	status,
	...(output !== undefined ? { value: { output } } : {}),
	attempts: 1,
	durationMs: 1,
});

describe('taskStepPrompt', () => {
	const steps = [
		step('facts', 'List the facts'),
		step('summary', 'Summarise them'),
		step('title', 'Give it a title'),
	];

	it('gives the input, the completed earlier results under their names, and the step with its position', () => {
		const prompt = taskStepPrompt('TICKET-1 text', steps, 2, [
			result('facts', 'completed', 'F1, F2'),
			result('summary', 'failed'),
		]);
		expect(prompt.indexOf('Task input:\nTICKET-1 text')).toBe(0);
		expect(prompt).toContain('### facts\nF1, F2');
		expect(prompt).not.toContain('### summary'); // a failed step has no result to pass on
		expect(prompt).toContain('Your step (3 of 3), "title":\nGive it a title');
		expect(prompt.indexOf('### facts')).toBeLessThan(prompt.indexOf('Your step'));
	});

	it('leaves out the earlier-results section when there are none (first or parallel step)', () => {
		expect(taskStepPrompt('x', steps, 0, [])).not.toContain('Results of the earlier steps');
	});
});

describe('Planner prompts', () => {
	const plan: Plan = {
		goal: 'Compare Redis and Postgres',
		tasks: [
			{
				id: 'redis',
				title: 'Study Redis',
				description: 'Latency and persistence',
				agent: 'researcher',
				dependsOn: [],
			},
			{
				id: 'postgres',
				title: 'Study Postgres',
				description: '',
				agent: 'researcher',
				dependsOn: [],
			},
			{
				id: 'compare',
				title: 'Compare',
				description: '',
				agent: 'analyst',
				dependsOn: ['redis', 'postgres'],
			},
		],
	};

	it('a task sees the goal, itself and the outputs of its dependencies', () => {
		const prompt = taskPrompt(
			{ task: plan.tasks[2], dependencies: { redis: 'R-notes', postgres: 'P-notes' } },
			plan.goal,
		);
		expect(prompt).toContain('Overall goal: Compare Redis and Postgres');
		expect(prompt).toContain('Your task (compare): Compare');
		expect(prompt).toContain('### redis\nR-notes');
		expect(prompt).toContain('### postgres\nP-notes');
		expect(taskPrompt({ task: plan.tasks[0], dependencies: {} }, plan.goal)).toContain(
			'Latency and persistence',
		);
		expect(taskPrompt({ task: plan.tasks[0], dependencies: {} }, plan.goal)).not.toContain(
			'Results of the tasks',
		);
	});

	it('synthesis lists the completed tasks in plan order, and is skipped when none completed', () => {
		const tasks = [
			{ id: 'compare', status: 'completed' as const, output: 'C-out', attempts: 1, durationMs: 1 },
			{ id: 'redis', status: 'completed' as const, output: 'R-out', attempts: 1, durationMs: 1 },
			{ id: 'postgres', status: 'failed' as const, error: 'down', attempts: 2, durationMs: 1 },
		];
		const prompt = synthesisPrompt(plan, { tasks })!;
		expect(prompt.user.startsWith('Goal: Compare Redis and Postgres')).toBe(true);
		expect(prompt.user).toContain('### compare: Compare\nC-out');
		expect(prompt.user).toContain('### redis: Study Redis\nR-out');
		expect(prompt.user).not.toContain('postgres');
		expect(prompt.system).toMatch(/mention what is missing/);
		expect(synthesisPrompt(plan, { tasks: [tasks[2]] })).toBeUndefined();
	});
});
