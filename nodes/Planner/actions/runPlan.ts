/**
 * Runs a plan for one item with lib/planning's runPlanToAnswer: the item's settings become the run's options (roles
 * with their sub-workflows, checkpoints under the plan run ID, budget, re-planning, review rounds). Shared by Execute
 * Plan and Plan and Execute; the checkpoint store and task runner also serve the manager process.
 */
import { createHash } from 'node:crypto';

import type { IDataObject } from 'n8n-workflow';

import { budgetSpent, withEarlier } from '../../../lib/llm';
import { tenantPath } from '../../../lib/memory';
import {
	CHECKPOINT_ACCESS,
	MemoryCheckpointStore,
	roleTaskRunner,
	runPlanToAnswer,
	type Plan,
	type TaskRunner,
} from '../../../lib/planning';
import { itemModel, type ItemModel } from '../../shared/ai/connections';
import { closeStore, memoryFor, openStore } from '../../shared/clients/memory';
import { budgetFromOptions } from '../../shared/fields/modelCalls';
import { reviewSettings } from './review';
import { rolesOf, type Role } from './roles';
import type { PlannerItem, PlannerRun } from './types';

/** The item's Plan Run ID, or a hash of workflow ID, goal (or plan) and the input item: a re-run of the same input resumes. */
export function planRunIdFor(run: PlannerRun, itemIndex: number, what: string): string {
	const given = String(run.fn.getNodeParameter('planRunId', itemIndex, '') ?? '').trim();
	if (given) return given;
	const item = JSON.stringify(run.fn.getInputData()[itemIndex]?.json ?? {});
	return createHash('sha256')
		.update([run.fn.getWorkflow().id ?? '', what, item].join('\u0000'))
		.digest('hex')
		.slice(0, 32);
}

/** A role's sub-workflow as a task runner: it gets { task, goal, dependencies }, its first item's `output` is the result. */
function subWorkflowRunner(run: PlannerRun, workflowId: string, goal: string): TaskRunner {
	const { fn } = run;
	return async (context) => {
		const result = await fn.executeWorkflow(
			{ id: workflowId },
			[
				{
					json: {
						task: context.task,
						goal,
						dependencies: context.dependencies,
					} as unknown as IDataObject,
				},
			],
			undefined,
			{
				parentExecution: {
					executionId: fn.getExecutionId(),
					workflowId: String(fn.getWorkflow().id ?? ''),
				},
			},
		);
		const json = result.data?.[0]?.[0]?.json ?? {};
		return typeof json.output === 'string' ? json.output : JSON.stringify(json);
	};
}

/** The item's task runner: a role's sub-workflow when it has one, else the chat model with the connected tools. */
export function taskRunnerFor(run: PlannerRun, goal: string, roles: Role[], model: ItemModel) {
	return roleTaskRunner(
		model.model,
		run.connectedTools,
		roles.map((role) => ({
			name: role.name,
			instructions: role.instructions,
			...(role.workflowId ? { run: subWorkflowRunner(run, role.workflowId, goal) } : {}),
		})),
		goal,
		model.callOptions,
	);
}

/**
 * Output: { goal, planRunId, status: completed | partial, output (the synthesis, citing passages as [n]), citations
 * (the cited passages: { n, source, headingPath, page?, text, score? }), sources, invalidCitations, passages (every
 * passage the tasks retrieved, numbered across the run), tasks: [{ id, title, agent, wave, status, output?, error?,
 * attempts, startedAt?, finishedAt?, durationMs, resumed?, passages: [n…] }], waves, resumed, revisions?, reviews?,
 * finalScore?, durationMs }. `loadPlan` gives the plan: it receives the checkpoint store so a resumed run reuses its
 * saved plan.
 */
export async function runPlanForItem(
	run: PlannerRun,
	item: PlannerItem,
	planRunId: string,
	loadPlan: (checkpoints: MemoryCheckpointStore) => Promise<Plan>,
): Promise<IDataObject> {
	const { fn } = run;
	const { itemIndex, options } = item;
	return withCheckpoints(run, item, planRunId, async (checkpoints) => {
		const initial = await loadPlan(checkpoints);
		const model = await itemModel(fn, run.llm, item);
		const roles = rolesOf(fn, itemIndex);
		// The run's budget, checked before each task starts; planning before an approval wait counts too.
		const budget = budgetFromOptions(options);
		const report = await runPlanToAnswer(initial, {
			model: model.model,
			callOptions: model.callOptions,
			runTask: taskRunnerFor(run, initial.goal, roles, model),
			checkpoints,
			roles: roles.map((r) => r.name),
			maxTasks: (options.maxTasks as number) ?? 10,
			maxReplans: options.onTaskFailure === 'replan' ? ((options.maxReplans as number) ?? 2) : 0,
			concurrency: (options.concurrency as number) ?? 4,
			retryPolicy: item.retryPolicy,
			taskTimeoutMs: ((options.taskTimeoutSeconds as number) ?? 300) * 1000,
			signal: item.signal,
			budgetExhausted: () =>
				budgetSpent(
					budget,
					withEarlier(item.usage.get(), item.earlier),
					Date.now() - item.startedAt,
				),
			synthesize: options.synthesize !== false,
			review: reviewSettings(fn, itemIndex, model),
		});
		return {
			goal: report.goal,
			planRunId,
			...(report as unknown as IDataObject),
			durationMs: Date.now() - item.startedAt,
		};
	});
}

/**
 * Runs `work` with the checkpoint store of plan run `planRunId` (in the Checkpoint Store of the node, under its
 * tenant, in the internal plan-run scope), closing the store afterwards.
 */
export async function withCheckpoints<T>(
	run: PlannerRun,
	item: PlannerItem,
	planRunId: string,
	work: (checkpoints: MemoryCheckpointStore) => Promise<T>,
): Promise<T> {
	const { fn } = run;
	const store = await openStore(fn);
	try {
		return await work(
			new MemoryCheckpointStore(memoryFor(store, item, CHECKPOINT_ACCESS), {
				workflowId: String(fn.getWorkflow().id ?? ''),
				runId: planRunId,
				tenant: tenantPath(store.tenant),
			}),
		);
	} finally {
		await closeStore(store);
	}
}
