/**
 * Plan and Execute: plans the goal, saves the plan in the checkpoints, then runs it. A re-run with the same plan run
 * ID reuses the saved plan (the model is not asked again) and skips the completed tasks. With Approve Plan Before
 * Running, the execution waits with the plan at the connected OpenAgents Approval sub-node; n8n calls the Planner
 * again with the reviewer's decision: run the plan, run the edited plan (checked as a planning reply is), or not.
 */
import type { EngineResponse, IDataObject } from 'n8n-workflow';

import { newApprovalId, type PlanApproval } from '../../../lib/approval';
import type { UsageTotals } from '../../../lib/llm';
import type { Plan } from '../../../lib/planning';
import {
	ApprovalTimeoutError,
	ApprovalWait,
	approvalSettings,
	resumedApproval,
} from '../../shared/ai/approval';
import { clarificationItem, planForItem } from './createPlan';
import { managerForItem } from './manager';
import { rolesOf } from './roles';
import { planRunIdFor, runPlanForItem } from './runPlan';
import type { PlannerItem, PlannerOperation, PlannerRun, ResumedPlan } from './types';

const APPROVAL_TAG = 'planner-approval';

/** What the Planner keeps of its waiting item, besides the request: what it spent on planning. */
interface PlanningSpent extends IDataObject {
	usage: UsageTotals & IDataObject;
}

/** The plan approval n8n resumes, or undefined for any other call of the node. */
export function resumedPlan(response: EngineResponse | undefined): ResumedPlan | undefined {
	const resumed = resumedApproval<PlanApproval, PlanningSpent>(response, APPROVAL_TAG);
	if (!resumed) return undefined;
	const { state, decision } = resumed;
	return {
		itemIndex: state.itemIndex,
		outputs: state.outputs,
		request: state.request,
		usage: state.usage,
		...(decision?.plan ? { decision: decision.plan } : {}),
	};
}

/** The wait for a reviewer's approval of `plan`, or undefined when the item's options do not ask for one. */
function planApproval(
	run: PlannerRun,
	item: PlannerItem,
	plan: Plan,
): ApprovalWait<PlanApproval, PlanningSpent> | undefined {
	const { options } = item;
	if (options.approvePlan !== true) return undefined;
	const settings = approvalSettings(run.fn, item, 'Approve Plan Before Running');
	const request: PlanApproval = {
		approvalId: newApprovalId(),
		kind: 'plan',
		requestedBy: run.fn.getNode().name,
		plan,
		maxTasks: Number(options.maxTasks ?? 10),
		roles: rolesOf(run.fn, item.itemIndex).map((role) => role.name),
		...(settings.expiresAt ? { expiresAt: settings.expiresAt } : {}),
		onTimeout: settings.onTimeout,
	};
	return new ApprovalWait(APPROVAL_TAG, settings.approvalNode, request, {
		usage: item.usage.get() as UsageTotals & IDataObject,
	});
}

/**
 * The plan the reviewer approved (or edited) for the item n8n resumed; `{ rejected }` when it was rejected or nobody
 * decided in time (On Approval Timeout: Reject); undefined for any other item. Throws ApprovalTimeoutError for a
 * timeout with On Approval Timeout: Fail the Item.
 */
function decidedPlan(run: PlannerRun, itemIndex: number): Plan | { rejected: string } | undefined {
	const resumed = run.resumed?.itemIndex === itemIndex ? run.resumed : undefined;
	if (!resumed) return undefined;
	const { request, decision } = resumed;
	if (!decision && request.onTimeout === 'fail')
		throw new ApprovalTimeoutError(
			`No reviewer decided on the plan before ${request.expiresAt} (On Approval Timeout: Fail the Item)`,
		);
	if (!decision || decision.action === 'reject')
		return {
			rejected: decision
				? `The reviewer rejected the plan${decision.message ? `: ${decision.message}` : '.'}`
				: `No reviewer approved the plan before ${request.expiresAt}.`,
		};
	return decision.action === 'edit' ? decision.plan : request.plan;
}

export const execute: PlannerOperation = async (run, item) => {
	const { itemIndex } = item;
	const goal = String(run.fn.getNodeParameter('goal', itemIndex, '') ?? '').trim();
	const planRunId = planRunIdFor(run, itemIndex, goal);
	if (run.fn.getNodeParameter('process', itemIndex, 'planFirst') === 'manager')
		return { result: [await managerForItem(run, item, goal, planRunId)] };
	const decided = decidedPlan(run, itemIndex);
	if (decided && 'rejected' in decided) {
		const { plan } = run.resumed!.request;
		return {
			result: [
				{
					goal: plan.goal,
					planRunId,
					status: 'rejected',
					output: '',
					reason: decided.rejected,
					plan,
				},
			],
		};
	}
	let approved = decided;
	let questions: string[] | undefined;
	const result = await runPlanForItem(run, item, planRunId, async (checkpoints) => {
		const saved = await checkpoints.loadPlan();
		if (saved) return saved;
		if (!approved) {
			const planned = await planForItem(run, item);
			if ('questions' in planned) {
				questions = planned.questions;
				throw new NeedsClarification();
			}
			const approval = planApproval(run, item, planned.plan);
			if (approval) throw approval; // the item loop makes n8n wait for the reviewer
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
