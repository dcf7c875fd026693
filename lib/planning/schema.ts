/** The plan: a goal and its tasks, each with the role that carries it out and the tasks it depends on. */
import { z } from 'zod';

/** Limits that keep a plan small enough to run and to show: tasks per plan, text sizes (characters). */
export const PLAN_LIMITS = {
	maxTasks: 50,
	goal: 4000,
	title: 200,
	description: 4000,
	agent: 100,
	maxDependencies: 50,
} as const;

const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const planTaskSchema = z.object({
	id: z
		.string()
		.regex(
			TASK_ID,
			'must be 1–64 letters, digits, "_", "-" or ".", starting with a letter or digit',
		),
	title: z.string().trim().min(1, 'must not be empty').max(PLAN_LIMITS.title),
	description: z.string().max(PLAN_LIMITS.description).default(''),
	/** The role that carries the task out, e.g. "researcher"; picks the instructions or sub-workflow for it. */
	agent: z.string().trim().max(PLAN_LIMITS.agent).default('assistant'),
	dependsOn: z.array(z.string()).max(PLAN_LIMITS.maxDependencies).default([]),
});

export const planSchema = z.object({
	goal: z.string().trim().min(1, 'must not be empty').max(PLAN_LIMITS.goal),
	tasks: z.array(planTaskSchema).min(1, 'a plan needs at least one task').max(PLAN_LIMITS.maxTasks),
});

export type PlanTask = z.output<typeof planTaskSchema>;
export type Plan = z.output<typeof planSchema>;

/**
 * What the planning model returns: a plan, or (when the goal is too ambiguous to plan) questions for the user.
 * `tasks` may be empty only when there are questions.
 */
export const planningReplySchema = z.object({
	goal: z.string().max(PLAN_LIMITS.goal).default(''),
	tasks: z.array(planTaskSchema).max(PLAN_LIMITS.maxTasks).default([]),
	clarifyingQuestions: z.array(z.string()).max(10).default([]),
});

export type PlanningReply = z.output<typeof planningReplySchema>;
