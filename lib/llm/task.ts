/**
 * The Task template: an ordered list of steps, each run by a caller-supplied function (for the Agent node: one
 * tool-calling loop per step) under its own timeout and retry count. Sequential steps see the earlier steps'
 * results; parallel steps are independent and run with a concurrency limit. Strict mode stops at the first failed
 * step (parallel: running steps are cancelled, unstarted ones skipped); otherwise every step runs and is reported.
 * Each step that starts is traced as a `step {name}` span.
 */
import { mapWithConcurrency } from '../concurrency';
import {
	AttemptTimeoutError,
	FixedDelayRetryPolicy,
	messageOf,
	RetryExhaustedError,
	RetryPolicy,
	withRetry,
} from '../retry';
import { inSpan, markFailed, OPENAGENTS } from '../tracing';

export interface TaskStep {
	/** Unique within the task; the key of the step's result in structured output. */
	name: string;
	instruction: string;
	/** Per attempt, ms. */
	timeoutMs: number;
	/** Attempts after the first (0 = once). */
	retries: number;
}

type StepStatus = 'completed' | 'failed' | 'skipped';

export interface StepResult<T> {
	name: string;
	status: StepStatus;
	/** The step function's result (completed steps only). */
	value?: T;
	/** Why the step failed, or why a started step was cancelled. */
	error?: string;
	/** Attempts made (0 for a skipped step). */
	attempts: number;
	/** ISO 8601; absent for a skipped step. */
	startedAt?: string;
	finishedAt?: string;
	durationMs: number;
}

/** What a step function gets: the step, the results of the steps before it (sequential mode only), and a signal. */
interface StepContext<T> {
	step: TaskStep;
	index: number;
	previous: ReadonlyArray<StepResult<T>>;
	attempt: number;
	/** Aborted on timeout, on cancellation, and (strict, parallel) when another step failed. */
	signal: AbortSignal;
}

interface TaskOptions {
	strict: boolean;
	parallel: boolean;
	/** Parallel steps in flight at most (default 4). */
	concurrency?: number;
	/** Delays between a step's attempts follow this policy; the number of attempts is the step's own. */
	retryPolicy?: RetryPolicy;
	/** Which step failures are worth another attempt (default: all). */
	isRetryable?: (error: unknown) => boolean;
	signal?: AbortSignal;
}

interface TaskResult<T> {
	/** completed: every step completed; failed: strict mode stopped at a failure; partial: some steps failed. */
	status: 'completed' | 'failed' | 'partial';
	steps: Array<StepResult<T>>;
	durationMs: number;
}

export class TaskError extends Error {
	override name = 'TaskError';
}

/** Throws TaskError for 0 or more than 20 steps, blank or duplicate names, empty instructions, bad timeouts/retries. */
export function checkSteps(steps: readonly TaskStep[]): void {
	if (steps.length < 1 || steps.length > 20)
		throw new TaskError(`A task needs 1 to 20 steps, got ${steps.length}`);
	const names = new Set<string>();
	steps.forEach((step, i) => {
		const label = `Step ${i + 1}${step.name ? ` ("${step.name}")` : ''}`;
		if (!step.name.trim()) throw new TaskError(`${label} has no name`);
		if (names.has(step.name))
			throw new TaskError(
				`${label}: the name "${step.name}" is used by an earlier step; step names must be unique`,
			);
		names.add(step.name);
		if (!step.instruction.trim()) throw new TaskError(`${label} has no instruction`);
		if (!(step.timeoutMs > 0))
			throw new TaskError(`${label}: the timeout must be more than 0 seconds`);
		if (!Number.isInteger(step.retries) || step.retries < 0 || step.retries > 10)
			throw new TaskError(`${label}: retries must be a whole number from 0 to 10`);
	});
}

/** The node's policy shape (delays) with the step's retry count. */
function stepPolicy(base: RetryPolicy | undefined, retries: number): RetryPolicy {
	if (!base || base.type === 'none')
		return new FixedDelayRetryPolicy({ maxRetries: retries, delay: 0 });
	return RetryPolicy.fromJSON({ ...base.toJSON(), maxRetries: retries });
}

function describeFailure(error: unknown, step: TaskStep): string {
	const last = error instanceof RetryExhaustedError ? error.lastError : error;
	if (last instanceof AttemptTimeoutError)
		return `Step "${step.name}" timed out after ${step.timeoutMs / 1000} s`;
	return messageOf(last);
}

/**
 * Runs `steps` with `run` (the step's work; throw to fail the attempt). Returns each step's result in step order.
 * Throws TaskError for invalid steps, and the signal's reason when the caller cancels.
 */
export async function runTask<T>(
	steps: readonly TaskStep[],
	run: (context: StepContext<T>) => Promise<T>,
	options: TaskOptions,
): Promise<TaskResult<T>> {
	checkSteps(steps);
	const started = Date.now();
	const results: Array<StepResult<T>> = steps.map((step) => ({
		name: step.name,
		status: 'skipped',
		attempts: 0,
		durationMs: 0,
	}));
	const stopAll = new AbortController();
	const signal = options.signal
		? AbortSignal.any([options.signal, stopAll.signal])
		: stopAll.signal;
	let stopped = false;

	const runStep = async (step: TaskStep, index: number): Promise<void> => {
		if (stopped) return;
		await inSpan(`step ${step.name}`, { [OPENAGENTS.stepName]: step.name }, async (span) => {
			await attemptStep(step, index);
			const { status, attempts, error } = results[index];
			span.setAttributes({ [OPENAGENTS.status]: status, [OPENAGENTS.attempts]: attempts });
			if (status === 'failed') markFailed(span, new Error(error));
		});
	};

	const attemptStep = async (step: TaskStep, index: number): Promise<void> => {
		const result = results[index];
		const t0 = Date.now();
		result.startedAt = new Date(t0).toISOString();
		const previous = options.parallel ? [] : results.slice(0, index);
		try {
			result.value = await withRetry(
				(attempt) => (
					(result.attempts = attempt.attempt),
					run({ step, index, previous, attempt: attempt.attempt, signal: attempt.signal })
				),
				stepPolicy(options.retryPolicy, step.retries),
				{ signal, timeoutMs: step.timeoutMs, isRetryable: options.isRetryable ?? (() => true) },
			);
			result.status = 'completed';
		} catch (error) {
			if (options.signal?.aborted) throw error;
			if (stopped) {
				// Strict mode cancelled this running step because another one failed.
				result.status = 'skipped';
				result.error = 'Cancelled: another step failed (strict mode)';
				return;
			}
			result.status = 'failed';
			result.error = describeFailure(error, step);
			if (options.strict) {
				stopped = true;
				stopAll.abort(new TaskError(`Step "${step.name}" failed`));
			}
		} finally {
			result.finishedAt = new Date().toISOString();
			result.durationMs = Date.now() - t0;
		}
	};

	if (options.parallel) {
		await mapWithConcurrency(steps, options.concurrency ?? 4, runStep);
	} else {
		for (const [index, step] of steps.entries()) await runStep(step, index);
	}
	const failed = results.some((r) => r.status === 'failed');
	return {
		status: !failed ? 'completed' : options.strict ? 'failed' : 'partial',
		steps: results,
		durationMs: Date.now() - started,
	};
}

/** The system message's addition for a Task step: the agent does one step of a larger task. */
export const TASK_STEP_INSTRUCTION = 'You are carrying out one step of a task.';

/**
 * The user message of step `index`: the task input, the outputs of the earlier steps that completed (sequential
 * runs pass them; parallel steps get none), and the step's own instruction.
 */
export function taskStepPrompt(
	input: string,
	steps: readonly TaskStep[],
	index: number,
	previous: ReadonlyArray<StepResult<{ output: string }>>,
): string {
	const done = previous
		.filter((r) => r.status === 'completed' && r.value)
		.map((r) => `### ${r.name}\n${r.value!.output}`);
	return [
		`Task input:\n${input}`,
		...(done.length ? [`Results of the earlier steps:\n${done.join('\n\n')}`] : []),
		`Your step (${index + 1} of ${steps.length}), "${steps[index].name}":\n${steps[index].instruction}`,
		'Reply with the result of this step only.',
	].join('\n\n');
}
