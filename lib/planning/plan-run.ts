/**
 * A plan run from plan to answer, in steps: run the plan (re-planning after failures as allowed) → synthesize the
 * answer from what the tasks found → review and refine (a failing review's gaps become tasks, the answer is made
 * again) → the report. The node supplies the task runner (the chat model with a role's instructions, or a role's
 * sub-workflow), the checkpoints and the budget check.
 */
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import type { StructuredToolInterface } from '@langchain/core/tools';

import {
	runAgent,
	type CallOptions,
	type InvokableChatModel,
	type ToolCallingChatModel,
} from '../llm';
import type { RetryPolicy } from '../retry';
import { executeAdaptively, type AdaptiveRunResult } from './adaptive';
import type { MemoryCheckpointStore } from './checkpoints';
import type { TaskContext } from './executor';
import { defaultRoleInstructions, taskPrompt } from './prompts';
import { replanAfterFailure, type PlanRevision } from './replan';
import { passagesInToolOutput, type NumberedPassage } from './research';
import { refineUntilPassing, reviewAnswer, type Review } from './review';
import type { TaskOutput, TaskRunResult } from './run-state';
import type { Plan } from './schema';
import { numberPassages, synthesizeAnswer, type GroundedSynthesis } from './synthesis';
import { planWaves } from './waves';

export type TaskRunner = (context: TaskContext) => Promise<TaskOutput>;

/** A role tasks are assigned to: instructions for the chat model, or a sub-workflow that carries the task out. */
interface PlanRole {
	name: string;
	instructions?: string;
	/** Runs the task elsewhere (an n8n sub-workflow); the chat model is not used for this role. */
	run?: TaskRunner;
}

/**
 * The task runner of a plan: a task goes to its role's runner when the role has one, else to a tool-calling run of
 * `model` with the role's instructions (default instructions for an unknown role); the passages its knowledge-base
 * searches returned come back with its output. Throws the run's reason when it stops without an answer.
 */
export function roleTaskRunner(
	model: ToolCallingChatModel,
	tools: StructuredToolInterface[],
	roles: readonly PlanRole[],
	goal: string,
	callOptions: CallOptions,
): TaskRunner {
	return async (context) => {
		const role = roles.find((r) => r.name === context.task.agent);
		if (role?.run) return role.run(context);
		const system = role?.instructions || defaultRoleInstructions(context.task.agent);
		const outcome = await runAgent(
			model,
			[new SystemMessage(system), new HumanMessage(taskPrompt(context, goal))],
			tools,
			{ ...callOptions, signal: context.signal },
		);
		if (outcome.status !== 'completed') throw new Error(outcome.reason);
		return {
			output: outcome.output,
			passages: outcome.steps.flatMap((step) => passagesInToolOutput(step.output)),
		};
	};
}

export interface ReviewSettings {
	/** Refinement rounds at most: each turns a failing review's gaps into tasks and answers again. */
	rounds: number;
	minimumScore: number;
	rubric?: string;
	instructions?: string;
	reviewer: InvokableChatModel;
}

interface PlanRunOptions {
	/** Re-plans, synthesizes; its call options (retry policy, usage, …) go with every model call of the run. */
	model: InvokableChatModel;
	callOptions: CallOptions;
	runTask: TaskRunner;
	checkpoints: MemoryCheckpointStore;
	/** The allowed roles (empty: any); the first one carries out the tasks a review adds. */
	roles: readonly string[];
	/** For re-planning: tasks per plan at most. */
	maxTasks: number;
	/** Re-plans after failed tasks at most (0: failures skip their dependents). */
	maxReplans: number;
	concurrency: number;
	retryPolicy: RetryPolicy;
	/** Per attempt of a task, ms. */
	taskTimeoutMs: number;
	signal?: AbortSignal;
	/** Why the run's budget is spent, or undefined while some is left; checked before each task and round. */
	budgetExhausted: () => string | undefined;
	/** Whether to synthesize a final answer (false: output '' and the numbered passages only). */
	synthesize: boolean;
	review?: ReviewSettings;
}

interface PlanRunReport {
	goal: string;
	status: AdaptiveRunResult['status'];
	/** The synthesis, citing passages as [n]. */
	output: string;
	citations: NumberedPassage[];
	sources: string[];
	invalidCitations: number[];
	/** Every passage the tasks retrieved, numbered across the run. */
	passages: NumberedPassage[];
	tasks: Array<
		Omit<TaskRunResult, 'passages'> & {
			title: string;
			agent: string;
			wave: number;
			passages: number[];
		}
	>;
	waves: string[][];
	resumed: number;
	revisions?: PlanRevision[];
	reviews?: Review[];
	finalScore?: number;
}

type Answered = { result: AdaptiveRunResult; synthesis: GroundedSynthesis };

/** Step 1 and 2: runs `plan` (adapting as the options allow), then answers from what its tasks found. */
async function runAndAnswer(plan: Plan, options: PlanRunOptions): Promise<Answered> {
	const result = await executeAdaptively(plan, options.runTask, {
		maxReplans: options.maxReplans,
		replan: (current, failed, revision) =>
			replanAfterFailure(options.model, current, failed, revision, {
				...options.callOptions,
				maxTasks: options.maxTasks,
				roles: [...options.roles],
			}),
		concurrency: options.concurrency,
		retryPolicy: options.retryPolicy,
		taskTimeoutMs: options.taskTimeoutMs,
		signal: options.signal,
		checkpoints: options.checkpoints,
		budgetExhausted: options.budgetExhausted,
	});
	const synthesis = options.synthesize
		? await synthesizeAnswer(options.model, result.plan, result, options.callOptions)
		: { output: '', citations: [], sources: [], invalidCitations: [], ...numberPassages(result) };
	return { result, synthesis };
}

/** Step 4: the report of the last run, its answer and the reviews. */
function report({ result, synthesis }: Answered, reviews: Review[]): PlanRunReport {
	const { plan } = result;
	const waves = planWaves(plan);
	const waveOf = new Map(waves.flatMap((ids, wave) => ids.map((id) => [id, wave] as const)));
	return {
		goal: plan.goal,
		status: result.status,
		output: synthesis.output,
		citations: synthesis.citations,
		sources: synthesis.sources,
		invalidCitations: synthesis.invalidCitations,
		passages: synthesis.passages,
		tasks: result.tasks.map(({ passages: _retrieved, ...t }) => {
			const task = plan.tasks.find((p) => p.id === t.id)!;
			const passages = synthesis.taskPassages[t.id] ?? [];
			return { title: task.title, agent: task.agent, wave: waveOf.get(t.id)!, ...t, passages };
		}),
		waves,
		resumed: result.resumed,
		...(result.revisions.length ? { revisions: result.revisions } : {}),
		...(reviews.length ? { reviews, finalScore: reviews[reviews.length - 1].score } : {}),
	};
}

/**
 * Runs `initial` to an answer (see the file comment). Throws what executePlan throws (CheckpointError when a
 * completed task cannot be saved) and model errors of planning, synthesis and review calls after their retries.
 */
export async function runPlanToAnswer(
	initial: Plan,
	options: PlanRunOptions,
): Promise<PlanRunReport> {
	const first = await runAndAnswer(initial, options);
	const { review } = options;
	if (!review) return report(first, []);
	const refined = await refineUntilPassing(
		first,
		{ ...review, gapAgent: options.roles[0] ?? initial.tasks[0].agent },
		{
			review: (answer, round) =>
				reviewAnswer(review.reviewer, initial.goal, answer, round, {
					...options.callOptions,
					rubric: review.rubric,
					instructions: review.instructions,
				}),
			rerun: (plan) => runAndAnswer(plan, options),
			save: (plan, revisions) => options.checkpoints.savePlan(plan, revisions),
			stop: options.budgetExhausted,
		},
	);
	return report(refined, refined.reviews);
}
