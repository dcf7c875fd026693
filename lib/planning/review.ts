/**
 * Review and refine: a reviewer (a chat model with its own instructions) scores a plan run's answer against the goal
 * and a rubric — structured output { score 0–1, verdict, gaps } — and the gaps of an answer below the minimum score
 * become new tasks for another round.
 */
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { z } from 'zod';

import {
	invokeStructured,
	type CallOptions,
	type InvokableChatModel,
	type UsageTracker,
} from '../llm';
import { inSpan, OPENAGENTS } from '../tracing';
import type { AdaptiveRunResult } from './adaptive';
import type { PlanRevision } from './replan';
import type { Plan, PlanTask } from './schema';

export interface Review {
	round: number;
	/** 0 (misses the goal) … 1 (fully answers it). */
	score: number;
	verdict: 'pass' | 'revise';
	/** What the answer lacks, one item each. */
	gaps: string[];
}

interface ReviewOptions extends CallOptions {
	usage?: UsageTracker;
	/** What a good answer must do, in the user's words. */
	rubric?: string;
	/** The reviewer's own instructions (replace the default ones). */
	instructions?: string;
}

const DEFAULT_REVIEWER_INSTRUCTIONS =
	'You review answers. Score how completely and correctly the answer achieves the goal (and meets the rubric, if any) from 0 (not at all) to 1 (fully). List each gap — something missing, wrong or unsupported — as one short, actionable item. Verdict "pass" when nothing important is missing.';

const reviewSchema = z.object({
	score: z.number().min(0).max(1),
	verdict: z.enum(['pass', 'revise']),
	gaps: z.array(z.string().trim().min(1).max(500)).max(10).default([]),
});

/** Traced as a `review` span. Throws StructuredOutputError when the reviewer's reply stays invalid after one repair. */
export function reviewAnswer(
	model: InvokableChatModel,
	goal: string,
	answer: string,
	round: number,
	options: ReviewOptions,
): Promise<Review> {
	return inSpan('review', {}, async (span) => {
		const { value } = await invokeStructured<z.output<typeof reviewSchema>>(
			model,
			[
				new SystemMessage(options.instructions?.trim() || DEFAULT_REVIEWER_INSTRUCTIONS),
				new HumanMessage(
					[
						`Goal: ${goal}`,
						...(options.rubric?.trim() ? [`Rubric:\n${options.rubric.trim()}`] : []),
						`Answer:\n${answer || '(no answer)'}`,
					].join('\n\n'),
				),
			],
			reviewSchema,
			{ ...options, maxRepairs: 1 },
		);
		span.setAttribute(OPENAGENTS.status, value.verdict);
		return { round, ...value };
	});
}

/**
 * One task per gap of `review` (ids `review<round>-<n>`, the title the gap), carried out by `agent`, depending on the
 * tasks that completed so their results are its context.
 */
function gapTasks(review: Review, completed: readonly string[], agent: string): PlanTask[] {
	return review.gaps.map((gap, i) => ({
		id: `review${review.round}-${i + 1}`,
		title: gap.slice(0, 200),
		description: `Close this gap in the answer to the goal: ${gap}`,
		agent,
		dependsOn: [...completed],
	}));
}

interface RefineSteps<R, S> {
	/** Reviews `answer` as review number `round`. */
	review(answer: string, round: number): Promise<Review>;
	/** Runs the revised plan (the completed tasks come from the checkpoints) and makes the answer again. */
	rerun(plan: Plan): Promise<{ result: R; synthesis: S }>;
	/** Saves the revised plan with its revisions before its tasks run. */
	save(plan: Plan, revisions: PlanRevision[]): Promise<void>;
	/** A reason to stop (the budget is spent), or undefined. */
	stop(): string | undefined;
}

/**
 * Reviews the answer of `first`; while the score is below `minimumScore`, the review found gaps, fewer than `rounds`
 * refinements were made in this plan run (counting revisions of kind review, so a resumed run counts those made
 * before) and the budget lasts, adds one task per gap (carried out by `gapAgent`), saves the revision, runs it and
 * reviews the new answer. Returns the last run, its answer and every review made now.
 */
export async function refineUntilPassing<
	R extends Pick<AdaptiveRunResult, 'plan' | 'tasks' | 'revisions'>,
	S extends { output: string },
>(
	first: { result: R; synthesis: S },
	settings: { rounds: number; minimumScore: number; gapAgent: string },
	steps: RefineSteps<R, S>,
): Promise<{ result: R; synthesis: S; reviews: Review[] }> {
	let { result, synthesis } = first;
	const reviews: Review[] = [];
	while (!steps.stop()) {
		const done = result.revisions.filter((r) => r.kind === 'review').length;
		const review = await steps.review(synthesis.output, done + 1);
		reviews.push(review);
		if (review.score >= settings.minimumScore || !review.gaps.length) break;
		if (done >= settings.rounds || steps.stop()) break;
		const completed = result.tasks.filter((t) => t.status === 'completed').map((t) => t.id);
		const added = gapTasks(review, completed, settings.gapAgent);
		const plan = { ...result.plan, tasks: [...result.plan.tasks, ...added] };
		await steps.save(plan, [
			...result.revisions,
			{
				revision: result.revisions.length + 1,
				kind: 'review',
				reason: `review round ${review.round} scored ${review.score} (below ${settings.minimumScore}): ${review.gaps.join('; ')}`,
				replaced: [],
				added: added.map((t) => t.id),
				at: new Date().toISOString(),
			},
		]);
		({ result, synthesis } = await steps.rerun(plan));
	}
	return { result, synthesis, reviews };
}
