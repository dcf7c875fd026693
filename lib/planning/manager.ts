/**
 * Manager mode (the hierarchical process of crewAI): instead of planning first, a manager agent — the chat model in a
 * tool-calling loop — has one tool per role, `delegate_to_<role>` with a task description, decides step by step whom
 * to ask, sees their results, and finishes with the answer. Each delegation runs under the retry policy and task
 * timeout and is checkpointed; a resumed run (same plan run ID) reuses a delegation's saved result when the manager
 * asks the same role for the same task at the same position, so nothing completed runs again.
 */
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { tool, type StructuredToolInterface } from '@langchain/core/tools';
import { z } from 'zod';

import { runAgent, type AgentOptions, type AgentResult, type ToolCallingChatModel } from '../llm';
import { FixedDelayRetryPolicy, messageOf, withRetry, type RetryPolicy } from '../retry';

interface ManagerRole {
	name: string;
	/** What the role does (its instructions), shown to the manager. */
	description?: string;
}

/** One delegation: the n-th call of a delegate tool in the run. */
export interface Delegation {
	n: number;
	role: string;
	task: string;
	status: 'completed' | 'failed';
	output?: string;
	error?: string;
	durationMs: number;
	/** True when the result came from a checkpoint of an earlier run. */
	resumed?: boolean;
}

export interface DelegationStore {
	loadDelegation(n: number): Promise<Delegation | undefined>;
	saveDelegation(delegation: Delegation): Promise<void>;
}

interface ManagerOptions extends AgentOptions {
	/** Extra instructions for the manager (appended to the default ones). */
	instructions?: string;
	store?: DelegationStore;
	/** Per delegation (default: no retry). */
	retryPolicy?: RetryPolicy;
	/** Per attempt of a delegation, ms (default 300 000). */
	taskTimeoutMs?: number;
}

/** The delegate tool's name for a role: `delegate_to_` + the role name with anything but letters, digits, _ and - as _. */
const delegateToolName = (role: string): string =>
	`delegate_to_${role.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);

function managerInstructions(roles: readonly ManagerRole[], extra?: string): string {
	return [
		'You are the manager of a team. Achieve the goal by delegating tasks to your team with the delegate_to_<role> tools: give each task the context it needs, read the results, and decide what to ask next (several tasks in one turn run one after another).',
		'Team:',
		...roles.map(
			(r) =>
				`- ${r.name} (${delegateToolName(r.name)})${r.description ? `: ${r.description.slice(0, 500)}` : ''}`,
		),
		'When the results are enough, reply with the complete answer to the goal, without calling a tool.',
		...(extra?.trim() ? [extra.trim()] : []),
	].join('\n');
}

/**
 * Runs the manager. `delegate(role, task, signal)` does a delegated task (a chat-model run of the role, or its
 * sub-workflow) and returns its result text. Returns the manager's run (its status, final answer, usage) and every
 * delegation in order. Throws what runAgent throws; a failed delegation goes back to the manager as the tool's error.
 */
export async function runManager(
	model: ToolCallingChatModel,
	goal: string,
	roles: readonly ManagerRole[],
	delegate: (role: string, task: string, signal: AbortSignal) => Promise<string>,
	options: ManagerOptions,
): Promise<{ result: AgentResult; delegations: Delegation[] }> {
	const delegations: Delegation[] = [];
	const policy = options.retryPolicy ?? new FixedDelayRetryPolicy({ maxRetries: 0, delay: 0 });
	let count = 0;
	const tools: StructuredToolInterface[] = roles.map((role) =>
		tool(
			async ({ task }: { task: string }) => {
				const n = ++count;
				const saved = await options.store?.loadDelegation(n);
				if (saved?.status === 'completed' && saved.role === role.name && saved.task === task) {
					delegations.push({ ...saved, resumed: true });
					return saved.output ?? '';
				}
				const t0 = Date.now();
				try {
					const output = await withRetry(
						({ signal }) => delegate(role.name, task, signal),
						policy,
						{
							signal: options.signal,
							timeoutMs: options.taskTimeoutMs ?? 300_000,
							isRetryable: () => true,
						},
					);
					const done: Delegation = {
						n,
						role: role.name,
						task,
						status: 'completed',
						output,
						durationMs: Date.now() - t0,
					};
					await options.store?.saveDelegation(done);
					delegations.push(done);
					return output;
				} catch (error) {
					if (options.signal?.aborted) throw error;
					const failure = messageOf(error);
					delegations.push({
						n,
						role: role.name,
						task,
						status: 'failed',
						error: failure,
						durationMs: Date.now() - t0,
					});
					throw new Error(`The ${role.name} could not do the task: ${failure}`);
				}
			},
			{
				name: delegateToolName(role.name),
				description: `Ask the ${role.name} to do a task and get the result.${role.description ? ` The ${role.name}: ${role.description.slice(0, 300)}` : ''}`,
				schema: z.object({
					task: z.string().min(1).describe('The task, with the context the role needs'),
				}),
			},
		),
	);
	const result = await runAgent(
		model,
		[
			new SystemMessage(managerInstructions(roles, options.instructions)),
			new HumanMessage(`Goal: ${goal}`),
		],
		tools,
		// A delegation keeps its own time limit per attempt (with its retries): the tool limit is the longest timer.
		{ ...options, toolTimeoutMs: 2_147_483_647 },
	);
	return { result, delegations };
}
