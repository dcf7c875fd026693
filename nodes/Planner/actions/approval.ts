/**
 * Approve Plan Before Running (Plan and Execute): after planning, the Planner asks n8n to run the connected
 * OpenAgents Approval sub-node, so the execution waits with the plan; n8n calls the Planner again with the
 * reviewer's decision: run the plan, run the edited plan (checked as a planning reply is), or do not run it.
 */
import type { EngineResponse, IDataObject, INodeExecutionData } from 'n8n-workflow';

import { newApprovalId, type PlanApproval, type PlanDecision } from '../../../lib/approval';
import type { UsageTotals } from '../../../lib/llm';
import type { Plan } from '../../../lib/planning';
import {
	approvalEngineRequest,
	approvalSettings,
	resumedApproval,
	type WaitingState,
} from '../../shared/approval';
import { rolesOf } from './roles';
import type { RunContext } from './types';

const TAG = 'planner-approval';

export interface PlannerWaitingState extends WaitingState<PlanApproval> {
	/** Output items of the items before `itemIndex`, per output (results, clarifications). */
	results: INodeExecutionData[];
	clarifications: INodeExecutionData[];
	/** What the waiting item spent on planning. */
	usage: UsageTotals & IDataObject;
}

/** Thrown while planning when the plan waits for approval; the router turns it into an EngineRequest. */
export class PlanApprovalNeeded extends Error {
	override name = 'PlanApprovalNeeded';

	constructor(
		readonly request: PlanApproval,
		readonly approvalNode: string,
	) {
		super('Waiting for approval of the plan');
	}
}

/** The approval request for `plan`, or undefined when the item's options do not ask for one. */
export function planApproval(
	run: RunContext,
	itemIndex: number,
	plan: Plan,
): PlanApprovalNeeded | undefined {
	const options = run.fn.getNodeParameter('options', itemIndex, {}) as IDataObject;
	if (options.approvePlan !== true) return undefined;
	const settings = approvalSettings(run.fn, itemIndex, options, 'Approve Plan Before Running');
	return new PlanApprovalNeeded(
		{
			approvalId: newApprovalId(),
			kind: 'plan',
			requestedBy: run.fn.getNode().name,
			plan,
			maxTasks: Number(options.maxTasks ?? 10),
			roles: rolesOf(run.fn, itemIndex).map((role) => role.name),
			...(settings.expiresAt ? { expiresAt: settings.expiresAt } : {}),
			onTimeout: settings.onTimeout,
		},
		settings.approvalNode,
	);
}

export function plannerApprovalRequest(
	waiting: PlanApprovalNeeded,
	state: Pick<PlannerWaitingState, 'itemIndex' | 'results' | 'clarifications' | 'usage'>,
) {
	const waitingState: PlannerWaitingState = {
		...state,
		openagents: TAG,
		request: waiting.request as PlanApproval & IDataObject,
	};
	return approvalEngineRequest(waiting.approvalNode, waitingState);
}

/** After the wait: the saved state and the decision on the plan (undefined when nobody decided in time). */
export function resumedPlan(
	response: EngineResponse | undefined,
): { state: PlannerWaitingState; decision?: PlanDecision } | undefined {
	const resumed = resumedApproval<PlannerWaitingState>(response, TAG);
	if (!resumed) return undefined;
	return {
		state: resumed.state,
		...(resumed.decision?.plan ? { decision: resumed.decision.plan } : {}),
	};
}
