/**
 * Plan and Execute: plans the goal, saves the plan in the checkpoints, then runs it. A re-run with the same plan run
 * ID reuses the saved plan (the model is not asked again) and skips the completed tasks. With Approve Plan Before
 * Running, the plan is saved and run only once a reviewer has approved (or edited) it.
 */
import type { Plan } from '../../../lib/planning';
import { ApprovalTimeoutError } from '../../shared/approval';
import { planApproval } from './approval';
import { clarificationItem, planForItem } from './createPlan';
import { managerForItem } from './manager';
import { planRunIdFor, runPlanForItem } from './runPlan';
import type { PlannerOperation } from './types';

export const execute: PlannerOperation = async (run, itemIndex, usage) => {
	const goal = String(run.fn.getNodeParameter('goal', itemIndex, '') ?? '').trim();
	const planRunId = planRunIdFor(run, itemIndex, goal);
	if (run.fn.getNodeParameter('process', itemIndex, 'planFirst') === 'manager')
		return { result: [await managerForItem(run, itemIndex, usage, goal, planRunId)] };
	let approved: Plan | undefined;
	const resumed = run.resumed?.state.itemIndex === itemIndex ? run.resumed : undefined;
	if (resumed) {
		const { request } = resumed.state;
		const decision = resumed.decision;
		if (!decision && request.onTimeout === 'fail')
			throw new ApprovalTimeoutError(
				`No reviewer decided on the plan before ${request.expiresAt} (On Approval Timeout: Fail the Item)`,
			);
		if (!decision || decision.action === 'reject') {
			const reason = decision
				? `The reviewer rejected the plan${decision.message ? `: ${decision.message}` : '.'}`
				: `No reviewer approved the plan before ${request.expiresAt}.`;
			return {
				result: [
					{
						goal: request.plan.goal,
						planRunId,
						status: 'rejected',
						output: '',
						reason,
						plan: request.plan,
					},
				],
			};
		}
		approved = decision.action === 'edit' ? decision.plan : request.plan;
	}
	let questions: string[] | undefined;
	const result = await runPlanForItem(run, itemIndex, usage, planRunId, async (checkpoints) => {
		const saved = await checkpoints.loadPlan();
		if (saved) return saved;
		if (!approved) {
			const planned = await planForItem(run, itemIndex, usage);
			if ('questions' in planned) {
				questions = planned.questions;
				throw new NeedsClarification();
			}
			const approval = planApproval(run, itemIndex, planned.plan);
			if (approval) throw approval; // the router makes n8n wait for the reviewer
			approved = planned.plan;
		}
		await checkpoints.savePlan(approved);
		return approved;
	}).catch((error: unknown) => {
		if (error instanceof NeedsClarification) return undefined;
		throw error;
	});
	return result ? { result: [result] } : { clarification: clarificationItem(goal, questions!) };
};

/** Unwinds runPlanForItem (closing its store) when the model asks questions instead of planning. */
class NeedsClarification extends Error {}
