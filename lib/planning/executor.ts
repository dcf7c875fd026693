/**
 * Runs a valid plan: a task starts as soon as all its dependencies have completed (so each wave runs in parallel,
 * and a later task need not wait for its whole wave), at most `concurrency` at a time, each under the retry policy
 * and a per-attempt timeout. A failed task marks its dependents (transitively) `skipped`; independent branches go on.
 * Each completed task is checkpointed before any task that depends on it starts; completed tasks found in the
 * checkpoints are not run again. When the budget says stop, no new task starts, running ones finish, and the rest
 * are reported `not_run` with the reason. Every task of the plan is traced as a `task {id}` span linked to the spans
 * of its dependencies (resumed, skipped and not-run tasks as instant spans saying so).
 */
import {
	AttemptTimeoutError,
	FixedDelayRetryPolicy,
	messageOf,
	RetryExhaustedError,
	withRetry,
	type RetryPolicy,
} from '../retry';
import { modelFailureCode } from '../llm/calls';
import { inSpan, markFailed, OPENAGENTS, recordInstant, recordRetry } from '../tracing';
import type { Link, SpanContext } from '@opentelemetry/api';
import type { CheckpointStore, TaskOutput, TaskRunResult } from './run-state';
import type { Plan, PlanTask } from './schema';
import { assertValidPlan } from './validate';

export interface TaskContext {
	task: PlanTask;
	/** Outputs of the task's dependencies, by task id. */
	dependencies: Record<string, string>;
	attempt: number;
	/** Aborted on timeout or cancellation. */
	signal: AbortSignal;
}

export interface ExecuteOptions {
	/** Tasks in flight at most (default 4). */
	concurrency?: number;
	/** Retries of a failed task (default: none). */
	retryPolicy?: RetryPolicy;
	/** Per attempt, ms (default 300 000). */
	taskTimeoutMs?: number;
	signal?: AbortSignal;
	checkpoints?: CheckpointStore;
	/** Asked before each task starts: a reason to stop starting tasks, or undefined. */
	budgetExhausted?: () => string | undefined;
}

export interface PlanRunResult {
	/** completed: every task completed; partial: some failed, were skipped or did not run. */
	status: 'completed' | 'partial';
	/** In plan order. */
	tasks: TaskRunResult[];
	/** Tasks taken from checkpoints instead of being run. */
	resumed: number;
	durationMs: number;
}

/** A failed task's reason and code: task_timeout (the task's own limit), a model failure code, or the error's code. */
function failureOf(error: unknown, timeoutMs: number): Pick<TaskRunResult, 'error' | 'code'> {
	const last = error instanceof RetryExhaustedError ? error.lastError : error;
	if (last instanceof AttemptTimeoutError)
		return { error: `timed out after ${timeoutMs / 1000} s`, code: 'task_timeout' };
	const own = (last as { code?: unknown } | undefined)?.code;
	const code = modelFailureCode(last) ?? (typeof own === 'string' ? own : undefined);
	return { error: messageOf(last), ...(code ? { code } : {}) };
}

/** A completed task's checkpoint could not be saved (after the store's retries); the run stopped. */
export class CheckpointError extends Error {
	override name = 'CheckpointError';

	constructor(
		readonly taskId: string,
		cause: unknown,
	) {
		super(
			`Saving the checkpoint of task "${taskId}" failed, so the plan run stopped: ${messageOf(cause)}`,
			{ cause },
		);
	}
}

/**
 * Executes `plan` with `run` (a task's work: its output text, or the text with the passages it retrieved). Throws
 * PlanValidationError for an invalid plan, the signal's reason on cancellation, and CheckpointError when a
 * completed task's checkpoint cannot be saved: then every running task is aborted (through one controller) and
 * the run ends once they have stopped, so no task keeps calling the model for a run that has failed.
 */
export async function executePlan(
	plan: Plan,
	run: (context: TaskContext) => Promise<TaskOutput>,
	options: ExecuteOptions = {},
): Promise<PlanRunResult> {
	assertValidPlan(plan);
	const started = Date.now();
	const concurrency = options.concurrency ?? 4;
	const timeoutMs = options.taskTimeoutMs ?? 300_000;
	const policy = options.retryPolicy ?? new FixedDelayRetryPolicy({ maxRetries: 0, delay: 0 });
	const byId = new Map(plan.tasks.map((t) => [t.id, t]));
	const results = new Map<string, TaskRunResult>();
	for (const [id, result] of (await options.checkpoints?.loadCompleted([...byId.keys()])) ?? []) {
		if (result.status === 'completed') results.set(id, { ...result, resumed: true });
	}
	const resumed = results.size;
	const pending = plan.tasks.filter((t) => !results.has(t.id)).map((t) => t.id);
	// One controller for every task of this run: the caller's cancellation, or a failed checkpoint save, stops them all.
	const controller = new AbortController();
	const cancel = () => controller.abort(options.signal!.reason);
	if (options.signal?.aborted) cancel();
	else options.signal?.addEventListener('abort', cancel, { once: true });
	const running = new Map<string, Promise<void>>();

	// Each task's span, so a task's span links to the spans of the tasks it depends on.
	const spans = new Map<string, SpanContext>();
	const taskAttributes = (task: PlanTask) => ({
		[OPENAGENTS.taskId]: task.id,
		[OPENAGENTS.taskAgent]: task.agent,
		[OPENAGENTS.taskDependsOn]: task.dependsOn,
	});
	const dependencyLinks = (task: PlanTask): Link[] =>
		task.dependsOn.flatMap((d) => {
			const context = spans.get(d);
			return context ? [{ context, attributes: { [OPENAGENTS.taskId]: d } }] : [];
		});
	/** A span for a task that did no work now: resumed from its checkpoint, skipped, or not run. */
	const recordTask = (id: string, result: TaskRunResult) => {
		const task = byId.get(id)!;
		const context = recordInstant(
			`task ${id}`,
			{
				...taskAttributes(task),
				[OPENAGENTS.status]: result.status,
				[OPENAGENTS.taskResumed]: result.resumed === true,
			},
			dependencyLinks(task),
		);
		if (context) spans.set(id, context);
	};
	for (const task of plan.tasks)
		if (results.has(task.id)) recordTask(task.id, results.get(task.id)!);

	const runOne = (task: PlanTask): Promise<TaskRunResult> =>
		inSpan(
			`task ${task.id}`,
			{ ...taskAttributes(task), [OPENAGENTS.taskResumed]: false },
			async (span) => {
				spans.set(task.id, span.spanContext());
				const result = await attemptTask(task, ({ attempt, delayMs, error }) =>
					recordRetry(span, { attempt, delayMs, message: messageOf(error) }),
				);
				span.setAttributes({
					[OPENAGENTS.status]: result.status,
					[OPENAGENTS.attempts]: result.attempts,
				});
				if (result.status === 'failed') markFailed(span, new Error(result.error));
				return result;
			},
			{ links: dependencyLinks(task) },
		);

	const attemptTask = async (
		task: PlanTask,
		onRetry: (info: { attempt: number; error: unknown; delayMs: number }) => void,
	): Promise<TaskRunResult> => {
		const t0 = Date.now();
		const dependencies = Object.fromEntries(
			task.dependsOn.map((d) => [d, results.get(d)!.output ?? '']),
		);
		let attempts = 0;
		const timing = () => ({
			attempts,
			startedAt: new Date(t0).toISOString(),
			finishedAt: new Date().toISOString(),
			durationMs: Date.now() - t0,
		});
		try {
			const value = await withRetry(
				({ attempt, signal }) => (
					(attempts = attempt),
					run({ task, dependencies, attempt, signal })
				),
				policy,
				{
					signal: controller.signal,
					timeoutMs,
					isRetryable: () => true,
					onRetry,
				},
			);
			const { output, passages } =
				typeof value === 'string' ? { output: value, passages: undefined } : value;
			return {
				id: task.id,
				status: 'completed',
				output,
				...(passages?.length ? { passages } : {}),
				...timing(),
			};
		} catch (error) {
			if (controller.signal.aborted) throw error;
			return { id: task.id, status: 'failed', ...failureOf(error, timeoutMs), ...timing() };
		}
	};

	const start = (id: string) => {
		pending.splice(pending.indexOf(id), 1);
		const promise = (async () => {
			const result = await runOne(byId.get(id)!);
			if (result.status === 'completed') {
				try {
					await options.checkpoints?.saveCompleted(result);
				} catch (error) {
					const failure = new CheckpointError(id, error);
					controller.abort(failure);
					throw failure;
				}
			}
			results.set(id, result);
		})().finally(() => running.delete(id));
		running.set(id, promise);
	};

	let stopReason: string | undefined;
	for (;;) {
		// Dependents of a task that did not complete can never run.
		for (let changed = true; changed;) {
			changed = false;
			for (const id of [...pending]) {
				const blocker = byId
					.get(id)!
					.dependsOn.find((d) => results.has(d) && results.get(d)!.status !== 'completed');
				if (!blocker) continue;
				pending.splice(pending.indexOf(id), 1);
				results.set(id, {
					id,
					status: 'skipped',
					error: `skipped: dependency "${blocker}" ${results.get(blocker)!.status === 'failed' ? 'failed' : 'did not complete'}`,
					attempts: 0,
					durationMs: 0,
				});
				recordTask(id, results.get(id)!);
				changed = true;
			}
		}
		stopReason ??= options.budgetExhausted?.();
		if (!stopReason) {
			const ready = pending.filter((id) =>
				byId.get(id)!.dependsOn.every((d) => results.get(d)?.status === 'completed'),
			);
			for (const id of ready.slice(0, Math.max(0, concurrency - running.size))) start(id);
		}
		if (!running.size) break;
		try {
			await Promise.race(running.values());
		} catch (error) {
			await Promise.allSettled(running.values());
			options.signal?.removeEventListener('abort', cancel);
			throw error;
		}
	}
	for (const id of pending) {
		results.set(id, {
			id,
			status: 'not_run',
			error: stopReason ? `not run: ${stopReason}` : 'not run',
			attempts: 0,
			durationMs: 0,
		});
		recordTask(id, results.get(id)!);
	}
	options.signal?.removeEventListener('abort', cancel);
	const tasks = plan.tasks.map((t) => results.get(t.id)!);
	return {
		status: tasks.every((t) => t.status === 'completed') ? 'completed' : 'partial',
		tasks,
		resumed,
		durationMs: Date.now() - started,
	};
}
