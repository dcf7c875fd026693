/** The Planner's Roles parameter: the agents tasks are assigned to, with their instructions or sub-workflow. */
import type { IExecuteFunctions } from 'n8n-workflow';

export interface Role {
	name: string;
	instructions: string;
	workflowId: string;
}

export function rolesOf(fn: IExecuteFunctions, itemIndex: number): Role[] {
	return ((fn.getNodeParameter('roles.role', itemIndex, []) as Role[]) ?? []).map((r) => ({
		name: String(r.name ?? '').trim(),
		instructions: String(r.instructions ?? ''),
		workflowId: String(r.workflowId ?? '').trim(),
	}));
}
