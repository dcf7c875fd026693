/**
 * Runs a plan for one item: each task by the chat model (tool-calling loop with the role's instructions and the
 * connected tools) or by the role's sub-workflow, with checkpoints under the plan run ID, the run's budget, and a
 * final synthesis. Shared by Execute Plan and Plan and Execute.
 */
import { createHash } from 'node:crypto';

import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import type { IDataObject } from 'n8n-workflow';

import { budgetSpent, runAgent, withEarlier, type UsageTracker } from '../../../lib/llm';
import { tenantPath } from '../../../lib/memory';
import {
	CHECKPOINT_ACCESS,
	defaultRoleInstructions,
	executeAdaptively,
	MemoryCheckpointStore,
	numberPassages,
	passagesInToolOutput,
	planWaves,
	replanAfterFailure,
	reviewAnswer,
	refineUntilPassing,
	type AdaptiveOptions,
	type AdaptiveRunResult,
	synthesizeAnswer,
	taskPrompt,
	type Plan,
	type TaskContext,
	type TaskOutput,
} from '../../../lib/planning';
import { closeStore, memoryFor, openStore } from '../../shared/memoryContext';
import { budgetFromOptions } from '../../shared/llm';
import { getRetryPolicy } from '../../shared/retryPolicy';
import { itemModel, type ItemModel } from '../../shared/connections';
import { reviewSettings } from './review';
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
export function taskRunner(run: RunContext, goal: string, roles: Role[], model: ItemModel) {
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
	return withCheckpoints(run, itemIndex, planRunId, async (checkpoints) => {
		const initial = await loadPlan(checkpoints);
		const model = await itemModel(fn, itemIndex, usage);
		// The run's budget: checked before each task starts.
		const budget = budgetFromOptions(model.options);
		const roles = rolesOf(fn, itemIndex);
		const review = reviewSettings(fn, itemIndex, model);
		const replan = model.options.onTaskFailure === 'replan';
		const budgetLeft = () =>
			// Planning before an approval wait counts against the budget too.
			budgetSpent(
				budget,
				withEarlier(
					usage.get(),
					run.resumed?.state.itemIndex === itemIndex ? run.resumed.state.usage : undefined,
				),
				Date.now() - started,
			);
		const runner = taskRunner(run, initial.goal, roles, model);
		const runOptions: AdaptiveOptions = {
			maxReplans: replan ? ((model.options.maxReplans as number) ?? 2) : 0,
			replan: async (plan, failed, revision) =>
				replanAfterFailure(model.model, plan, failed, revision, {
					...model.callOptions,
					maxTasks: (model.options.maxTasks as number) ?? 10,
					roles: roles.map((r) => r.name),
				}),
			concurrency: (model.options.concurrency as number) ?? 4,
			retryPolicy: getRetryPolicy(fn, itemIndex),
			taskTimeoutMs: ((model.options.taskTimeoutSeconds as number) ?? 300) * 1000,
			signal: fn.getExecutionCancelSignal(),
			checkpoints,
			budgetExhausted: budgetLeft,
		};
		const synthesize = (result: AdaptiveRunResult) =>
			model.options.synthesize === false
				? Promise.resolve({
						output: '',
						citations: [],
						sources: [],
						invalidCitations: [],
						...numberPassages(result),
					})
				: synthesizeAnswer(model.model, result.plan, result, model.callOptions);
		const runAndAnswer = async (plan: Plan) => {
			const result = await executeAdaptively(plan, runner, runOptions);
			return { result, synthesis: await synthesize(result) };
		};
		const first = await runAndAnswer(initial);
		// Review and refine: a failing review's gaps become tasks, then the answer is made again and reviewed again.
		const { result, synthesis, reviews } = review
			? await refineUntilPassing(
					first,
					{ ...review, gapAgent: roles[0]?.name ?? initial.tasks[0].agent },
					{
						review: (answer, round) =>
							reviewAnswer(review.reviewer, initial.goal, answer, round, {
								...model.callOptions,
								rubric: review.rubric,
								instructions: review.instructions,
							}),
						rerun: runAndAnswer,
						save: (plan, revisions) => checkpoints.savePlan(plan, revisions),
						stop: budgetLeft,
					},
				)
			: { ...first, reviews: [] };
		const { plan } = result;
		const waves = planWaves(plan);
		const waveOf = new Map(waves.flatMap((ids, wave) => ids.map((id) => [id, wave] as const)));
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
			...(result.revisions.length
				? { revisions: result.revisions as unknown as IDataObject[] }
				: {}),
			...(reviews.length
				? {
						reviews: reviews as unknown as IDataObject[],
						finalScore: reviews[reviews.length - 1].score,
					}
				: {}),
			durationMs: Date.now() - started,
		};
	});
}

/**
 * Runs `work` with the checkpoint store of plan run `planRunId` (in the Checkpoint Store of the node, under its
 * tenant, in the internal plan-run scope), closing the store afterwards.
 */
export async function withCheckpoints<T>(
	run: RunContext,
	itemIndex: number,
	planRunId: string,
	work: (checkpoints: MemoryCheckpointStore) => Promise<T>,
): Promise<T> {
	const { fn } = run;
	const store = await openStore(fn);
	try {
		return await work(
			new MemoryCheckpointStore(memoryFor(fn, store, itemIndex, CHECKPOINT_ACCESS), {
				workflowId: String(fn.getWorkflow().id ?? ''),
				runId: planRunId,
				tenant: tenantPath(store.tenant),
			}),
		);
	} finally {
		await closeStore(store);
	}
}
