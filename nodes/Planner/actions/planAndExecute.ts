/**
 * Plan and Execute: plans the goal, saves the plan in the checkpoints, then runs it. A re-run with the same plan run
 * ID reuses the saved plan (the model is not asked again) and skips the completed tasks.
 */
import { clarificationItem, planForItem } from './createPlan';
import { planRunIdFor, runPlanForItem } from './runPlan';
import type { PlannerOperation } from './types';

export const execute: PlannerOperation = async (run, itemIndex, usage) => {
	const goal = String(run.fn.getNodeParameter('goal', itemIndex, '') ?? '').trim();
	const planRunId = planRunIdFor(run, itemIndex, goal);
	let questions: string[] | undefined;
	const result = await runPlanForItem(run, itemIndex, usage, planRunId, async (checkpoints) => {
		const saved = await checkpoints.loadPlan();
		if (saved) return saved;
		const planned = await planForItem(run, itemIndex, usage);
		if ('questions' in planned) {
			questions = planned.questions;
			throw new NeedsClarification();
		}
		await checkpoints.savePlan(planned.plan);
		return planned.plan;
	}).catch((error: unknown) => {
		if (error instanceof NeedsClarification) return undefined;
		throw error;
	});
	return result ? { result: [result] } : { clarification: clarificationItem(goal, questions!) };
};

/** Unwinds runPlanForItem (closing its store) when the model asks questions instead of planning. */
class NeedsClarification extends Error {}
