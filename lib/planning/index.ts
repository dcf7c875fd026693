export {
	planSchema,
	planTaskSchema,
	planningReplySchema,
	PLAN_LIMITS,
	TASK_ID,
	type Plan,
	type PlanTask,
	type PlanningReply,
} from './schema';
export {
	validatePlan,
	assertValidPlan,
	PlanValidationError,
	type PlanProblem,
	type PlanProblemCode,
} from './validate';
export { planWaves } from './waves';
export {
	executePlan,
	CheckpointError,
	type ExecuteOptions,
	type PlanRunResult,
	type TaskContext,
} from './executor';
export type { CheckpointStore, TaskOutput, TaskRunResult, TaskRunStatus } from './run-state';
export {
	PassageCatalog,
	passagesInToolOutput,
	type NumberedPassage,
	type ResearchPassage,
} from './research';
export { MemoryCheckpointStore, CHECKPOINT_ACCESS, type PlanRunKey } from './checkpoints';
export {
	createPlan,
	planningSchema,
	type CreatePlanOptions,
	type CreatePlanResult,
} from './planner';
export {
	defaultRoleInstructions,
	synthesisPrompt,
	taskPrompt,
	SYNTHESIS_INSTRUCTIONS,
} from './prompts';
export { numberPassages, synthesizeAnswer, type GroundedSynthesis } from './synthesis';
export { replanAfterFailure, failedBranch, type PlanRevision, type ReplanOptions } from './replan';
export {
	reviewAnswer,
	refineUntilPassing,
	gapTasks,
	type RefineSteps,
	DEFAULT_REVIEWER_INSTRUCTIONS,
	type Review,
	type ReviewOptions,
} from './review';
export { executeAdaptively, type AdaptiveOptions, type AdaptiveRunResult } from './adaptive';
export {
	runManager,
	delegateToolName,
	managerInstructions,
	type Delegation,
	type DelegationStore,
	type ManagerOptions,
	type ManagerRole,
} from './manager';
export {
	roleTaskRunner,
	runPlanToAnswer,
	type PlanRole,
	type PlanRunOptions,
	type PlanRunReport,
	type ReviewSettings,
	type TaskRunner,
} from './plan-run';
