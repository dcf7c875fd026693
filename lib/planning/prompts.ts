/** The prompts of a plan run: one task for its agent, and the synthesis of the task results into one answer. */
import { CITATION_RULE, formatPassage } from '../rag/answer';
import type { PlanRunResult, TaskContext } from './executor';
import type { NumberedPassage } from './research';
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

const SYNTHESIS_INSTRUCTIONS =
	'Combine the results of the tasks below into one complete answer to the goal. Use only what the results say; mention what is missing if some tasks did not complete.';

/** A task's output without its own citation numbers and source list: each search numbered its passages from 1. */
function withoutLocalCitations(output: string): string {
	return output
		.replace(/\n+\s*Sources:\s*\n[\s\S]*$/i, '')
		.replace(/\s*\[\d+(?:\s*,\s*\d+)*\]/g, '')
		.trim();
}

/**
 * The synthesis request: { system, user } messages' text, or undefined when no task completed (nothing to combine).
 * The user message gives the goal and each completed task as `### <id>: <title>` with its output, in plan order.
 * With `passages` (what the tasks retrieved, numbered across the run), the system message lists them and asks for
 * [n] citations; the tasks' own per-search citation numbers are removed from their outputs so they cannot be
 * mistaken for the run's numbers.
 */
export function synthesisPrompt(
	plan: Plan,
	result: Pick<PlanRunResult, 'tasks'>,
	passages: readonly NumberedPassage[] = [],
): { system: string; user: string } | undefined {
	const done = result.tasks
		.filter((t) => t.status === 'completed')
		.map((t) => {
			const output = passages.length ? withoutLocalCitations(t.output ?? '') : t.output;
			return `### ${t.id}: ${plan.tasks.find((p) => p.id === t.id)?.title ?? t.id}\n${output}`;
		});
	if (!done.length) return undefined;
	const system = passages.length
		? [
				SYNTHESIS_INSTRUCTIONS,
				'Ground every statement in the numbered passages the tasks retrieved (below). ' +
					CITATION_RULE,
				`Cite only numbers from 1 to ${passages.length}.`,
				`Context passages:\n\n${passages.map((p) => formatPassage(p.n, p)).join('\n\n')}`,
			].join('\n\n')
		: SYNTHESIS_INSTRUCTIONS;
	return { system, user: `Goal: ${plan.goal}\n\n${done.join('\n\n')}` };
}
