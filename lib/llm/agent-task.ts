/**
 * A task of ordered steps carried out by an agent: each step is one tool-calling run (runAgent) with its own
 * instruction, timeout and retries (runTask), sharing the task's budget — its wall time counts from the task's start.
 * Sequential steps see the earlier steps' results; parallel steps are independent. The result is per step and as one
 * output (an object with a field per step, or a text with a heading per step).
 */
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import type { StructuredToolInterface } from '@langchain/core/tools';

import type { RetryPolicy } from '../retry';
import {
	runAgent,
	type AgentOptions,
	type AgentResult,
	type AgentStep,
	type ToolCallingChatModel,
} from './agent';
import { AgentRunError } from './conversation';
import {
	runTask,
	taskStepPrompt,
	TASK_STEP_INSTRUCTION,
	type StepResult,
	type TaskStep,
} from './task';

interface AgentTaskOptions {
	model: ToolCallingChatModel;
	tools: StructuredToolInterface[];
	/** For each step's run: call options, limits, budget (shared by the task), usage. */
	agentOptions: AgentOptions;
	system: string;
	/** The material the steps work on. */
	input: string;
	steps: TaskStep[];
	/** Stop at the first failed step and fail the task (AgentRunError step_failed). */
	strict: boolean;
	parallel: boolean;
	/** Parallel steps at most. */
	concurrency: number;
	/** Waits between a step's attempts. */
	retryPolicy: RetryPolicy;
	signal?: AbortSignal;
	outputFormat: 'structured' | 'text';
}

interface AgentTaskResult {
	/** { "<step name>": its result } or the results as one text with a heading per step. */
	output: Record<string, string> | string;
	status: 'completed' | 'partial';
	/** Each step: name, status, output?, error?, attempts, times. */
	taskSteps: Array<Omit<StepResult<AgentResult>, 'value'> & { output?: string }>;
	/** Every tool call of every step, with its step's name. */
	steps: Array<AgentStep & { taskStep: string }>;
	durationMs: number;
}

/** One step's run, under what is left of the task's wall-time budget; a run that stops early is the step's failure. */
function stepRunner(options: AgentTaskOptions, started: number) {
	const { agentOptions, system, input, steps } = options;
	const wallBudget = agentOptions.budget?.maxWallTimeMs;
	return async ({
		index,
		previous,
		signal,
	}: {
		index: number;
		previous: ReadonlyArray<StepResult<AgentResult>>;
		signal: AbortSignal;
	}) => {
		const budget = {
			...agentOptions.budget,
			...(wallBudget ? { maxWallTimeMs: Math.max(1, wallBudget - (Date.now() - started)) } : {}),
		};
		const messages = [
			new SystemMessage(`${system}\n\n${TASK_STEP_INSTRUCTION}`),
			new HumanMessage(taskStepPrompt(input, steps, index, previous)),
		];
		const outcome = await runAgent(options.model, messages, options.tools, {
			...agentOptions,
			budget,
			signal,
		});
		if (outcome.status !== 'completed') throw Object.assign(new Error(outcome.reason), { outcome });
		return outcome;
	};
}

/**
 * Runs the task (see the file comment). Throws AgentRunError step_failed in strict mode (with the steps so far as its
 * partial result), and TaskError for invalid steps.
 */
export async function runAgentTask(options: AgentTaskOptions): Promise<AgentTaskResult> {
	const result = await runTask<AgentResult>(options.steps, stepRunner(options, Date.now()), {
		strict: options.strict,
		parallel: options.parallel,
		concurrency: options.concurrency,
		retryPolicy: options.retryPolicy,
		signal: options.signal,
		// A spent budget does not come back on a retry.
		isRetryable: (error) =>
			(error as { outcome?: AgentResult }).outcome?.status !== 'budget_exceeded',
	});
	const taskSteps = result.steps.map(({ value, ...step }) => ({
		...step,
		...(value ? { output: value.output } : {}),
	}));
	const steps = result.steps.flatMap((step) =>
		(step.value?.steps ?? []).map((call) => ({ taskStep: step.name, ...call })),
	);
	if (result.status === 'failed') {
		const failed = result.steps.find((s) => s.status === 'failed')!;
		throw new AgentRunError(`Step "${failed.name}" failed: ${failed.error}`, 'step_failed', {
			status: result.status,
			taskSteps,
			steps,
		});
	}
	const completed = result.steps.filter((s) => s.status === 'completed');
	const output =
		options.outputFormat === 'text'
			? completed.map((s) => `## ${s.name}\n${s.value!.output}`).join('\n\n')
			: Object.fromEntries(completed.map((s) => [s.name, s.value!.output]));
	return { output, status: result.status, taskSteps, steps, durationMs: result.durationMs };
}
