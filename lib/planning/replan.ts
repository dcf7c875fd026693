/**
 * Re-planning after a failure: the chat model gets the goal, the plan, the completed tasks' results and the failure,
 * and returns replacement tasks for the failed branch (the failed tasks and the tasks skipped because of them). The
 * revised plan keeps every completed task unchanged under its ID, plus the replacements; it must pass the checks a
 * planning reply passes (format, DAG rules, task limit, roles) and reuse no completed task's ID. Every problem goes
 * back to the model for a bounded number of repairs, as for a first plan.
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
import type { PlanRunResult } from './executor';
import { planningSchema } from './planner';
import type { TaskRunResult } from './run-state';
import { PLAN_LIMITS, planTaskSchema, type Plan, type PlanTask } from './schema';
import { PlanValidationError } from './validate';

/** One revision of a plan run: why, which tasks it replaced (with how they ended) and which it added. */
export interface PlanRevision {
	revision: number;
	/** replan: after failed tasks; review: tasks for the gaps a review found. */
	kind: 'replan' | 'review';
	reason: string;
	replaced: Array<Pick<TaskRunResult, 'id' | 'status' | 'error'>>;
	added: string[];
	/** ISO 8601. */
	at: string;
}

interface ReplanOptions extends CallOptions {
	usage?: UsageTracker;
	maxTasks?: number;
	roles?: readonly string[];
	/** Repairs of an invalid reply (default 2). */
	maxRepairs?: number;
}

/** Characters of a completed task's output shown to the re-planner. */
const OUTPUT_EXCERPT = 1500;

/** The failed branch: failed tasks and the tasks skipped or not run after them (they never completed). */
function failedBranch(result: Pick<PlanRunResult, 'tasks'>): TaskRunResult[] {
	return result.tasks.filter((t) => t.status !== 'completed');
}

const replySchema = z.object({ tasks: z.array(planTaskSchema).min(1).max(PLAN_LIMITS.maxTasks) });

/**
 * Traced as a `replan` span. Returns the revised plan and the revision record (number `revision`). Throws
 * PlanValidationError listing the problems when the model's reply is still invalid after the repairs, and model
 * errors as invokeChatModel throws them.
 */
export function replanAfterFailure(
	model: InvokableChatModel,
	plan: Plan,
	result: Pick<PlanRunResult, 'tasks'>,
	revision: number,
	options: ReplanOptions,
): Promise<{ plan: Plan; revision: PlanRevision; repairs: number }> {
	return inSpan('replan', { [OPENAGENTS.planTasks]: plan.tasks.length }, async (span) => {
		const completed = plan.tasks.filter(
			(t) => result.tasks.find((r) => r.id === t.id)?.status === 'completed',
		);
		const branch = failedBranch(result);
		try {
			const { value, repairs } = await invokeStructured<z.output<typeof replySchema>>(
				model,
				replanMessages(plan, result, completed, branch),
				revisedPlanSchema(plan, completed, options),
				{ ...options, maxRepairs: options.maxRepairs ?? 2 },
			);
			span.setAttribute(OPENAGENTS.planTasks, completed.length + value.tasks.length);
			return {
				plan: revisedPlan(plan, completed, value.tasks),
				repairs,
				revision: replanRevision(revision, branch, value.tasks),
			};
		} catch (error) {
			if (!(error instanceof StructuredOutputError)) throw error;
			throw new PlanValidationError(
				error.issues.map((issue) => ({
					code: 'INVALID_PLAN' as const,
					message: issue,
					taskIds: [],
				})),
			);
		}
	});
}

/** The revised plan: the completed tasks unchanged, then the replacements. */
function revisedPlan(plan: Plan, completed: PlanTask[], replacements: PlanTask[]): Plan {
	return { goal: plan.goal, tasks: [...completed, ...replacements] };
}

/**
 * The reply's schema: replacement tasks that reuse no completed task's ID and that, with the completed tasks, make a
 * plan passing the planning checks (format, DAG rules, task limit, roles). Each problem becomes an issue on `tasks`,
 * so the repair prompt names it.
 */
function revisedPlanSchema(plan: Plan, completed: PlanTask[], options: ReplanOptions) {
	const completedIds = new Set(completed.map((t) => t.id));
	return replySchema.superRefine((reply, ctx) => {
		for (const task of reply.tasks)
			if (completedIds.has(task.id))
				ctx.addIssue({
					code: z.ZodIssueCode.custom,
					path: ['tasks'],
					message: `task "${task.id}" is already completed: give replacement tasks new ids (they may depend on it)`,
				});
		const whole = planningSchema(
			options.maxTasks ?? PLAN_LIMITS.maxTasks,
			options.roles ?? [],
		).safeParse(revisedPlan(plan, completed, reply.tasks));
		if (!whole.success)
			for (const issue of whole.error.issues)
				ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['tasks'], message: issue.message });
	});
}

/**
 * The re-planner's prompt: the goal, the plan, each completed task's output (its first OUTPUT_EXCERPT characters, to
 * bound the prompt) and the failed branch with each task's error.
 */
function replanMessages(
	plan: Plan,
	result: Pick<PlanRunResult, 'tasks'>,
	completed: PlanTask[],
	branch: TaskRunResult[],
) {
	return [
		new SystemMessage(
			[
				'You are a planner revising a plan after some of its tasks failed. Return replacement tasks for the failed branch only, as JSON { "tasks": [{ "id", "title", "description", "agent", "dependsOn" }] }.',
				'Completed tasks stay as they are: do not repeat them; a replacement may depend on them by id, and on other replacements. Give replacements ids no completed task has. No cycles.',
				"Work around the failure's cause: a different approach, smaller steps, or another role.",
			].join('\n'),
		),
		new HumanMessage(
			[
				`Goal: ${plan.goal}`,
				`Plan:\n${JSON.stringify(plan.tasks)}`,
				`Completed tasks:\n${
					completed
						.map((t) => {
							const output = result.tasks.find((r) => r.id === t.id)?.output ?? '';
							return `### ${t.id}: ${t.title}\n${output.slice(0, OUTPUT_EXCERPT)}`;
						})
						.join('\n\n') || 'none'
				}`,
				`Failed branch:\n${branch.map((t) => `- ${t.id} (${t.status}): ${t.error ?? ''}`).join('\n')}`,
			].join('\n\n'),
		),
	];
}

/** The record of a replan revision: the failed tasks as its reason, the branch it replaced, the tasks it added. */
function replanRevision(
	revision: number,
	branch: TaskRunResult[],
	added: PlanTask[],
): PlanRevision {
	return {
		revision,
		kind: 'replan',
		reason: branch
			.filter((t) => t.status === 'failed')
			.map((t) => `task "${t.id}" failed: ${t.error ?? 'unknown error'}`)
			.join('; '),
		replaced: branch.map(({ id, status, error }) => ({
			id,
			status,
			...(error ? { error } : {}),
		})),
		added: added.map((t) => t.id),
		at: new Date().toISOString(),
	};
}
