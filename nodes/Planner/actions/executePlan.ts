/** Execute Plan: a plan from the input (e.g. Create Plan's Whole Plan output) → per-task results and a final answer. */
import { planSchema, type Plan } from '../../../lib/planning';
import { describeIssues } from '../../../lib/llm';
import { planRunIdFor, runPlanForItem } from './runPlan';
import type { PlannerOperation } from './types';

const NOT_JSON = Symbol('not JSON');

function parseJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return NOT_JSON;
	}
}

function parsePlan(raw: unknown): Plan {
	const value = typeof raw === 'string' ? parseJson(raw) : raw;
	if (value === NOT_JSON) throw new Error('The plan is not valid JSON');
	const parsed = planSchema.safeParse(value);
	if (!parsed.success)
		throw new Error(
			`The plan does not have the plan format: ${describeIssues(parsed.error.issues).join('; ')}`,
		);
	return parsed.data;
}

export const execute: PlannerOperation = async (run, item) => {
	const plan = parsePlan(run.fn.getNodeParameter('plan', item.itemIndex));
	const planRunId = planRunIdFor(run, item.itemIndex, JSON.stringify(plan));
	return { result: [await runPlanForItem(run, item, planRunId, async () => plan)] };
};
