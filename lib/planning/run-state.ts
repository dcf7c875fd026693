/** What a plan run records about its tasks, and where it keeps them: shared by the executor and the checkpoint stores. */
import type { PlanRevision } from './replan';
import type { ResearchPassage } from './research';
import type { Plan } from './schema';

type TaskRunStatus = 'completed' | 'failed' | 'skipped' | 'not_run';

export interface TaskRunResult {
	id: string;
	status: TaskRunStatus;
	output?: string;
	/** Why the task failed, was skipped or did not run. */
	error?: string;
	/** Failed tasks: task_timeout, model_timeout, model_unavailable, model_error, or the error's own code. */
	code?: string;
	attempts: number;
	/** ISO 8601, for tasks that ran. */
	startedAt?: string;
	finishedAt?: string;
	durationMs: number;
	/** True when the result comes from a checkpoint of an earlier run. */
	resumed?: boolean;
	/** Knowledge-base passages the task retrieved (checkpointed with it, so a resumed run can still cite them). */
	passages?: ResearchPassage[];
}

/** What a task's work returns: its output text, and the passages it retrieved when it searched a knowledge base. */
export type TaskOutput = string | { output: string; passages?: ResearchPassage[] };

export interface CheckpointStore {
	/** The plan saved for this run (its latest revision), if any. */
	loadPlan(): Promise<Plan | undefined>;
	/** Saves the plan together with its revisions so far (one write: a crash never leaves them apart). */
	savePlan(plan: Plan, revisions?: PlanRevision[]): Promise<void>;
	/** The revisions saved with the plan ([] when none). */
	loadRevisions?(): Promise<PlanRevision[]>;
	/** Completed task results saved for this run, by task id. */
	loadCompleted(taskIds: readonly string[]): Promise<Map<string, TaskRunResult>>;
	saveCompleted(result: TaskRunResult): Promise<void>;
}
