/** The Planner's Roles parameter: the agents tasks are assigned to, with their instructions or sub-workflow. */
import type { IExecuteFunctions } from 'n8n-workflow';

import { locatorValue } from '../../shared/fields/locators';

export interface Role {
	name: string;
	instructions: string;
	workflowId: string;
}

export function rolesOf(fn: IExecuteFunctions, itemIndex: number): Role[] {
	const roles = (fn.getNodeParameter('roles.role', itemIndex, []) ?? []) as Array<
		Record<string, unknown>
	>;
	return roles.map((r) => ({
		name: String(r.name ?? '').trim(),
		instructions: String(r.instructions ?? ''),
		// A picked workflow ({ __rl, mode, value }) since version 1.1, a typed ID before
		workflowId: locatorValue(r.workflowId),
	}));
}
