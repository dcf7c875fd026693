/**
 * A plan run that adapts: when tasks fail (after their retries), the plan is revised — the failed branch replaced by
 * new tasks (see replan.ts) — and the run goes on with the revision, up to `maxReplans` times and while the budget
 * lasts. Completed tasks are never run again: they are checkpointed, and each revision keeps them under their IDs.
 * Each revision is checkpointed with the plan before any of its tasks starts, so a crash during or after a re-plan
 * resumes from the latest revision.
 */
import { executePlan, type ExecuteOptions, type PlanRunResult, type TaskContext } from './executor';
import type { PlanRevision } from './replan';
import type { TaskOutput } from './run-state';
import type { Plan } from './schema';

interface AdaptiveOptions extends ExecuteOptions {
	/** Re-plans at most over the whole run, counting those of a resumed run (default 0: failures skip dependents). */
	maxReplans?: number;
	/** Makes revision number `revision` of `plan` from a run with failed tasks (e.g. replanAfterFailure). */
	replan?: (
		plan: Plan,
		result: PlanRunResult,
		revision: number,
	) => Promise<{ plan: Plan; revision: PlanRevision }>;
}

export interface AdaptiveRunResult extends PlanRunResult {
	/** The plan that ran last (the latest revision). */
	plan: Plan;
	/** Every revision of this plan run, oldest first (also those made before a crash). */
	revisions: PlanRevision[];
}

/** Runs `plan` as executePlan does, re-planning after failures as `options` allow. Throws what executePlan throws. */
export async function executeAdaptively(
	initial: Plan,
	run: (context: TaskContext) => Promise<TaskOutput>,
	options: AdaptiveOptions = {},
): Promise<AdaptiveRunResult> {
	const revisions = [...((await options.checkpoints?.loadRevisions?.()) ?? [])];
	let plan = initial;
	let resumed: number | undefined;
	const started = Date.now();
	for (;;) {
		const result = await executePlan(plan, run, options);
		// Tasks completed by an earlier pass of this run are not "resumed": only those found at the start.
		resumed ??= result.resumed;
		const done = { ...result, resumed, plan, revisions, durationMs: Date.now() - started };
		if (
			!result.tasks.some((t) => t.status === 'failed') ||
			!options.replan ||
			revisions.filter((r) => r.kind === 'replan').length >= (options.maxReplans ?? 0) ||
			options.budgetExhausted?.()
		)
			return done;
		const next = await options.replan(plan, result, revisions.length + 1);
		revisions.push(next.revision);
		await options.checkpoints?.savePlan(next.plan, revisions);
		plan = next.plan;
	}
}
