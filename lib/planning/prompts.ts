/** The prompts of a plan run: one task for its agent, and the synthesis of the task results into one answer. */
import type { PlanRunResult, TaskContext } from './executor';
import type { Plan } from './schema';

/** The system message of a task whose role has no instructions of its own. */
export function defaultRoleInstructions(agent: string): string {
	return `You are the ${agent} of a team carrying out a plan. Do your task well and concisely.`;
}

/** The user message of one task: the goal, the task, and the results of the tasks it depends on. */
export function taskPrompt(
	{ task, dependencies }: Pick<TaskContext, 'task' | 'dependencies'>,
	goal: string,
): string {
	const inputs = Object.entries(dependencies).map(([id, output]) => `### ${id}\n${output}`);
	return [
		`Overall goal: ${goal}`,
		`Your task (${task.id}): ${task.title}`,
		...(task.description ? [task.description] : []),
		...(inputs.length ? [`Results of the tasks this one builds on:\n${inputs.join('\n\n')}`] : []),
		'Reply with the result of your task only.',
	].join('\n\n');
}

export const SYNTHESIS_INSTRUCTIONS =
	'Combine the results of the tasks below into one complete answer to the goal. Use only what the results say; mention what is missing if some tasks did not complete.';

/**
 * The synthesis request: { system, user } messages' text, or undefined when no task completed (nothing to combine).
 * The user message lists each completed task as `### <id>: <title>` followed by its output, in plan order.
 */
export function synthesisPrompt(
	plan: Plan,
	result: Pick<PlanRunResult, 'tasks'>,
): { system: string; user: string } | undefined {
	const done = result.tasks
		.filter((t) => t.status === 'completed')
		.map(
			(t) => `### ${t.id}: ${plan.tasks.find((p) => p.id === t.id)?.title ?? t.id}\n${t.output}`,
		);
	if (!done.length) return undefined;
	return { system: SYNTHESIS_INSTRUCTIONS, user: `Goal: ${plan.goal}\n\n${done.join('\n\n')}` };
}
