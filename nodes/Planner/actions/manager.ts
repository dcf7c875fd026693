/**
 * Plan and Execute with Process = Manager: a manager agent delegates to the Roles (chat-model roles with their
 * instructions and the connected tools, or their sub-workflows) through `delegate_to_<role>` tools, with the run's
 * budget, retry policy, task timeout and checkpoints (each delegation's result).
 */
import { NodeOperationError, type IDataObject } from 'n8n-workflow';

import type { UsageTracker } from '../../../lib/llm';
import { runManager } from '../../../lib/planning';
import { itemModel } from '../../shared/connections';
import { budgetFromOptions } from '../../shared/llm';
import { getRetryPolicy } from '../../shared/retryPolicy';
import { rolesOf } from './roles';
import { taskRunner, withCheckpoints } from './runPlan';
import type { RunContext } from './types';

/**
 * Output: { goal, planRunId, process: 'manager', status: completed | partial, output (the manager's answer), reason?,
 * delegations: [{ n, role, task, status, output?, error?, durationMs, resumed? }], iterations, resumed, durationMs }.
 * Throws NodeOperationError when no Roles are given.
 */
export async function managerForItem(
	run: RunContext,
	itemIndex: number,
	usage: UsageTracker,
	goal: string,
	planRunId: string,
): Promise<IDataObject> {
	const { fn } = run;
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
	const model = await itemModel(fn, itemIndex, usage);
	const runTask = taskRunner(run, goal, roles, model);
	return withCheckpoints(run, itemIndex, planRunId, async (checkpoints) => {
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
				retryPolicy: getRetryPolicy(fn, itemIndex),
				taskTimeoutMs: ((model.options.taskTimeoutSeconds as number) ?? 300) * 1000,
				maxIterations: (model.options.maxTasks as number) ?? 10,
				maxToolErrors: 3,
				budget: budgetFromOptions(model.options),
				signal: fn.getExecutionCancelSignal(),
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
