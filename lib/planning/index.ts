export { planSchema, planTaskSchema, planningReplySchema, PLAN_LIMITS, TASK_ID, type Plan, type PlanTask, type PlanningReply } from './schema';
export { validatePlan, assertValidPlan, PlanValidationError, type PlanProblem, type PlanProblemCode } from './validate';
export { planWaves } from './waves';
export { executePlan, type ExecuteOptions, type PlanRunResult, type TaskContext, type TaskRunResult, type TaskRunStatus } from './executor';
export { MemoryCheckpointStore, type CheckpointStore } from './checkpoints';
export { createPlan, planningSchema, type CreatePlanOptions, type CreatePlanResult } from './planner';
