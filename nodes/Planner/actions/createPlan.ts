/** Create Plan: goal → validated plan (one item per task with its wave, or one item with the whole plan), or questions. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { createPlan, planWaves, type Plan } from '../../../lib/planning';
import { itemModel } from '../../shared/ai/connections';
import { rolesOf } from './roles';
import type { PlannerItem, PlannerOperation, PlannerRun } from './types';

export const description: INodeProperties[] = [
	{
		displayName: 'Output',
		name: 'planOutput',
		type: 'options',
		options: [
			{
				name: 'One Item per Task',
				value: 'perTask',
				description:
					'One item per task with its goal, title, description, agent, dependencies and wave',
			},
			{
				name: 'Whole Plan',
				value: 'whole',
				description: '{ plan, waves }: what Execute Plan takes',
			},
		],
		default: 'whole',
		displayOptions: { show: { operation: ['createPlan'] } },
	},
];

/**
 * The plan for the item's goal, or { clarification } with the model's questions. Throws PlanValidationError when the
 * model's plan stays invalid after the repairs.
 */
export async function planForItem(
	run: PlannerRun,
	item: PlannerItem,
): Promise<{ plan: Plan; repairs: number } | { questions: string[] }> {
	const { fn } = run;
	const { itemIndex } = item;
	const goal = String(fn.getNodeParameter('goal', itemIndex, '') ?? '').trim();
	if (!goal) throw new Error('The goal is empty: set "Goal", e.g. {{ $json.chatInput }}');
	const { model, callOptions, options } = await itemModel(fn, run.llm, item);
	const result = await createPlan(model, goal, {
		...callOptions,
		maxTasks: (options.maxTasks as number) ?? 10,
		roles: rolesOf(fn, itemIndex).map((r) => r.name),
	});
	return result.kind === 'plan'
		? { plan: result.plan, repairs: result.repairs }
		: { questions: result.questions };
}

export function clarificationItem(goal: string, questions: string[]): IDataObject {
	return {
		goal,
		questions,
		message: `The goal needs clarification before it can be planned:\n${questions.map((q) => `- ${q}`).join('\n')}`,
	};
}

export const execute: PlannerOperation = async (run, item) => {
	const { itemIndex } = item;
	const planned = await planForItem(run, item);
	const goal = String(run.fn.getNodeParameter('goal', itemIndex));
	if ('questions' in planned) return { clarification: clarificationItem(goal, planned.questions) };
	const waves = planWaves(planned.plan);
	const waveOf = new Map(waves.flatMap((ids, wave) => ids.map((id) => [id, wave] as const)));
	if (run.fn.getNodeParameter('planOutput', itemIndex, 'whole') === 'perTask') {
		return {
			result: planned.plan.tasks.map((task) => ({
				goal: planned.plan.goal,
				...task,
				wave: waveOf.get(task.id)!,
			})),
		};
	}
	return {
		result: [{ plan: planned.plan as unknown as IDataObject, waves, repairs: planned.repairs }],
	};
};
