/**
 * Runs a plan for one item: each task by the chat model (tool-calling loop with the role's instructions and the
 * connected tools) or by the role's sub-workflow, with checkpoints under the plan run ID, the run's budget, and a
 * final synthesis. Shared by Execute Plan and Plan and Execute.
 */
import { createHash } from 'node:crypto';

import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import type { IDataObject } from 'n8n-workflow';

import { budgetSpent, runAgent, type UsageTracker } from '../../../lib/llm';
import { tenantPath } from '../../../lib/memory';
import {
	CHECKPOINT_ACCESS,
	defaultRoleInstructions,
	executePlan,
	MemoryCheckpointStore,
	numberPassages,
	passagesInToolOutput,
	planWaves,
	synthesizeAnswer,
	taskPrompt,
	type Plan,
	type TaskContext,
	type TaskOutput,
} from '../../../lib/planning';
import { closeStore, memoryFor, openStore } from '../../shared/memoryContext';
import { budgetFromOptions, withEarlier } from '../../shared/llm';
import { getRetryPolicy } from '../../shared/retryPolicy';
import { itemModel, type ItemModel } from '../../shared/connections';
import { rolesOf, type Role } from './roles';
import type { RunContext } from './types';

/** The item's Plan Run ID, or a hash of workflow ID, goal (or plan) and the input item: a re-run of the same input resumes. */
export function planRunIdFor(run: RunContext, itemIndex: number, what: string): string {
	const given = String(run.fn.getNodeParameter('planRunId', itemIndex, '') ?? '').trim();
	if (given) return given;
	const item = JSON.stringify(run.fn.getInputData()[itemIndex]?.json ?? {});
	return createHash('sha256')
		.update([run.fn.getWorkflow().id ?? '', what, item].join('\u0000'))
		.digest('hex')
		.slice(0, 32);
}

/**
 * One task: by the role's sub-workflow when it has one, else a tool-calling run of the chat model; the passages its
 * knowledge-base searches returned come back with its output.
 */
function taskRunner(run: RunContext, goal: string, roles: Role[], model: ItemModel) {
	return async (context: TaskContext): Promise<TaskOutput> => {
		const role = roles.find((r) => r.name === context.task.agent);
		if (role?.workflowId) {
			const { fn } = run;
			const result = await fn.executeWorkflow(
				{ id: role.workflowId },
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
		}
		const system = role?.instructions || defaultRoleInstructions(context.task.agent);
		const outcome = await runAgent(
			model.model,
			[new SystemMessage(system), new HumanMessage(taskPrompt(context, goal))],
			run.connectedTools,
			{ ...model.callOptions, signal: context.signal },
		);
		if (outcome.status !== 'completed') throw new Error(outcome.reason);
		return {
			output: outcome.output,
			passages: outcome.steps.flatMap((step) => passagesInToolOutput(step.output)),
		};
	};
}

/**
 * Output: { goal, planRunId, status: completed | partial, output (the synthesis, citing passages as [n]), citations
 * (the cited passages: { n, source, headingPath, page?, text, score? }), sources, invalidCitations, passages (every
 * passage the tasks retrieved, numbered across the run), tasks: [{ id, title, agent, wave, status, output?, error?,
 * attempts, startedAt?, finishedAt?, durationMs, resumed?, passages: [n…] }], waves, resumed, durationMs }.
 * `loadPlan` gives the plan: it receives the checkpoint store so a resumed run reuses its saved plan.
 */
export async function runPlanForItem(
	run: RunContext,
	itemIndex: number,
	usage: UsageTracker,
	planRunId: string,
	loadPlan: (checkpoints: MemoryCheckpointStore) => Promise<Plan>,
): Promise<IDataObject> {
	const { fn } = run;
	const started = Date.now();
	const store = await openStore(fn);
	try {
		const checkpoints = new MemoryCheckpointStore(
			memoryFor(fn, store, itemIndex, CHECKPOINT_ACCESS),
			{
				workflowId: String(fn.getWorkflow().id ?? ''),
				runId: planRunId,
				tenant: tenantPath(store.tenant),
			},
		);
		const plan = await loadPlan(checkpoints);
		const model = await itemModel(fn, itemIndex, usage);
		// The run's budget: checked before each task starts.
		const budget = budgetFromOptions(model.options);
		const result = await executePlan(
			plan,
			taskRunner(run, plan.goal, rolesOf(fn, itemIndex), model),
			{
				concurrency: (model.options.concurrency as number) ?? 4,
				retryPolicy: getRetryPolicy(fn, itemIndex),
				taskTimeoutMs: ((model.options.taskTimeoutSeconds as number) ?? 300) * 1000,
				signal: fn.getExecutionCancelSignal(),
				checkpoints,
				// Planning before an approval wait counts against the budget too.
				budgetExhausted: () =>
					budgetSpent(
						budget,
						withEarlier(
							usage.get(),
							run.resumed?.state.itemIndex === itemIndex ? run.resumed.state.usage : undefined,
						),
						Date.now() - started,
					),
			},
		);
		const waves = planWaves(plan);
		const waveOf = new Map(waves.flatMap((ids, wave) => ids.map((id) => [id, wave] as const)));
		const synthesis =
			model.options.synthesize === false
				? {
						output: '',
						citations: [],
						sources: [],
						invalidCitations: [],
						...numberPassages(result),
					}
				: await synthesizeAnswer(model.model, plan, result, model.callOptions);
		return {
			goal: plan.goal,
			planRunId,
			status: result.status,
			output: synthesis.output,
			citations: synthesis.citations as unknown as IDataObject[],
			sources: synthesis.sources,
			invalidCitations: synthesis.invalidCitations,
			passages: synthesis.passages as unknown as IDataObject[],
			tasks: result.tasks.map(({ passages: _retrieved, ...t }) => {
				const task = plan.tasks.find((p) => p.id === t.id)!;
				const passages = synthesis.taskPassages[t.id] ?? [];
				return { title: task.title, agent: task.agent, wave: waveOf.get(t.id)!, ...t, passages };
			}) as unknown as IDataObject[],
			waves,
			resumed: result.resumed,
			durationMs: Date.now() - started,
		};
	} finally {
		await closeStore(store);
	}
}
