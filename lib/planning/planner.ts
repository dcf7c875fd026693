/**
 * Planning with the chat model: the goal goes in, a plan (or clarifying questions) comes out as JSON. The reply is
 * checked against the plan schema and the DAG rules together; an invalid plan is sent back with every problem for
 * a bounded number of repairs, and one still invalid is rejected with the problems listed.
 */
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { z } from 'zod';

import {
	invokeStructured,
	StructuredOutputError,
	type CallOptions,
	type InvokableChatModel,
	type UsageTracker,
} from '../llm';
import { inSpan, OPENAGENTS } from '../tracing';
import { PLAN_LIMITS, planningReplySchema, type Plan, type PlanningReply } from './schema';
import { PlanValidationError, validatePlan, type PlanProblem } from './validate';

interface CreatePlanOptions extends CallOptions {
	usage?: UsageTracker;
	/** Tasks at most (default 10, up to PLAN_LIMITS.maxTasks). */
	maxTasks?: number;
	/** Roles the tasks may be assigned to; any role when empty. */
	roles?: readonly string[];
	/** Extra planning instructions or context (e.g. the input item). */
	context?: string;
	/** Repairs of an invalid plan (default 2). */
	maxRepairs?: number;
}

type CreatePlanResult =
	| { kind: 'plan'; plan: Plan; repairs: number }
	| { kind: 'clarification'; questions: string[]; repairs: number };

/** The planning reply schema with the DAG rules, task limit and roles as refinements, so one repair round covers all. */
export function planningSchema(maxTasks: number, roles: readonly string[] = []) {
	return planningReplySchema.superRefine((reply, ctx) => {
		if (!reply.tasks.length) {
			if (!reply.clarifyingQuestions.length)
				ctx.addIssue({
					code: z.ZodIssueCode.custom,
					path: ['tasks'],
					message:
						'give at least one task, or clarifying questions when the goal is too ambiguous to plan',
				});
			return;
		}
		if (reply.tasks.length > maxTasks)
			ctx.addIssue({
				code: z.ZodIssueCode.custom,
				path: ['tasks'],
				message: `at most ${maxTasks} tasks, got ${reply.tasks.length}`,
			});
		reply.tasks.forEach((task, i) => {
			if (roles.length && !roles.includes(task.agent))
				ctx.addIssue({
					code: z.ZodIssueCode.custom,
					path: ['tasks', i, 'agent'],
					message: `must be one of ${roles.join(', ')}, got "${task.agent}"`,
				});
		});
		const problems: PlanProblem[] = validatePlan({
			goal: reply.goal || 'goal',
			tasks: reply.tasks,
		});
		for (const problem of problems)
			ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['tasks'], message: problem.message });
	});
}

function instructions(maxTasks: number, roles: readonly string[], context?: string): string {
	return [
		"You are a planner. Break the user's goal into a plan of tasks that together achieve it.",
		`Rules: at most ${maxTasks} tasks; each task has a unique short id (letters, digits, "_", "-"), a title, a description of what to produce, the agent (role) that does it, and dependsOn: the ids of the tasks whose results it needs.`,
		"Tasks without dependencies run in parallel, so only add a dependency when a task really needs the other's result. No cycles.",
		roles.length
			? `Assign each task to one of these agents: ${roles.join(', ')}.`
			: 'Name the agent role of each task, e.g. researcher, analyst, writer.',
		'If the goal is too ambiguous to plan, return no tasks and list your clarifying questions instead.',
		...(context ? [`Context:\n${context}`] : []),
	].join('\n');
}

/**
 * Traced as a `create_plan` span. Returns { kind: 'plan', plan, repairs } or { kind: 'clarification', questions,
 * repairs }. Throws
 * PlanValidationError listing the problems when the model's last plan is still invalid, and model errors as
 * invokeChatModel throws them.
 */
export function createPlan(
	model: InvokableChatModel,
	goal: string,
	options: CreatePlanOptions,
): Promise<CreatePlanResult> {
	return inSpan('create_plan', {}, async (span) => {
		const result = await planGoal(model, goal, options);
		span.setAttributes({
			[OPENAGENTS.planTasks]: result.kind === 'plan' ? result.plan.tasks.length : 0,
			[OPENAGENTS.status]: result.kind,
		});
		return result;
	});
}

async function planGoal(
	model: InvokableChatModel,
	goal: string,
	options: CreatePlanOptions,
): Promise<CreatePlanResult> {
	const maxTasks = Math.min(options.maxTasks ?? 10, PLAN_LIMITS.maxTasks);
	const roles = options.roles ?? [];
	const messages = [
		new SystemMessage(instructions(maxTasks, roles, options.context)),
		new HumanMessage(`Goal: ${goal}`),
	];
	try {
		const { value, repairs } = await invokeStructured<PlanningReply>(
			model,
			messages,
			planningSchema(maxTasks, roles),
			{ ...options, maxRepairs: options.maxRepairs ?? 2 },
		);
		if (!value.tasks.length)
			return { kind: 'clarification', questions: value.clarifyingQuestions, repairs };
		return { kind: 'plan', plan: { goal: value.goal.trim() || goal, tasks: value.tasks }, repairs };
	} catch (error) {
		if (!(error instanceof StructuredOutputError)) throw error;
		throw new PlanValidationError(
			error.issues.map((issue) => ({ code: 'INVALID_PLAN' as const, message: issue, taskIds: [] })),
		);
	}
}
