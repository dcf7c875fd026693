/**
 * Plan and Execute with Process = Manager: a manager agent delegates to the Roles (chat-model roles with their
 * instructions and the connected tools, or their sub-workflows) through `delegate_to_<role>` tools, with the run's
 * budget, retry policy, task timeout and checkpoints (each delegation's result).
 */
import { NodeOperationError, type IDataObject } from 'n8n-workflow';

import { runManager } from '../../../lib/planning';
import { itemModel } from '../../shared/ai/connections';
import { budgetFromOptions } from '../../shared/fields/modelCalls';
import { rolesOf } from './roles';
import { taskRunnerFor, withCheckpoints } from './runPlan';
import type { PlannerItem, PlannerRun } from './types';

/**
 * Output: { goal, planRunId, process: 'manager', status: completed | partial, output (the manager's answer), reason?,
 * delegations: [{ n, role, task, status, output?, error?, durationMs, resumed? }], iterations, resumed, durationMs }.
 * Throws NodeOperationError when no Roles are given.
 */
export async function managerForItem(
	run: PlannerRun,
	item: PlannerItem,
	goal: string,
	planRunId: string,
): Promise<IDataObject> {
	const { fn } = run;
	const { itemIndex } = item;
	const roles = rolesOf(fn, itemIndex).filter((r) => r.name);
	if (!roles.length)
		throw new NodeOperationError(
			fn.getNode(),
			'Manager mode needs Roles: the manager delegates to them',
			{
				itemIndex,
				description:
					'Add at least one role under Roles (a name, and instructions or a sub-workflow).',
			},
		);
	if (!goal) throw new Error('The goal is empty: set "Goal", e.g. {{ $json.chatInput }}');
	const model = await itemModel(fn, run.llm, item);
	const runTask = taskRunnerFor(run, goal, roles, model);
	return withCheckpoints(run, item, planRunId, async (checkpoints) => {
		const { result, delegations } = await runManager(
			model.model,
			goal,
			roles.map((r) => ({
				name: r.name,
				description: r.instructions || (r.workflowId ? 'runs its own workflow' : ''),
			})),
			async (role, task, signal) => {
				const done = await runTask({
					task: { id: 'delegation', title: task, description: '', agent: role, dependsOn: [] },
					dependencies: {},
					attempt: 1,
					signal,
				});
				return typeof done === 'string' ? done : done.output;
			},
			{
				...model.callOptions,
				instructions: String(model.options.managerInstructions ?? ''),
				store: checkpoints,
				retryPolicy: item.retryPolicy,
				taskTimeoutMs: ((model.options.taskTimeoutSeconds as number) ?? 300) * 1000,
				maxIterations: (model.options.maxTasks as number) ?? 10,
				maxToolErrors: 3,
				budget: budgetFromOptions(model.options),
				signal: item.signal,
			},
		);
		return {
			goal,
			planRunId,
			process: 'manager',
			status: result.status === 'completed' ? 'completed' : 'partial',
			output: result.output,
			...(result.reason ? { reason: result.reason } : {}),
			delegations: delegations as unknown as IDataObject[],
			iterations: result.iterations,
			resumed: delegations.filter((d) => d.resumed).length,
			durationMs: result.durationMs,
		};
	});
}
