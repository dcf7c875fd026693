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
	const execution = new PlanExecution(plan, run, options);
	await execution.resumeFromCheckpoints();
	execution.listenForCancel();
	try {
		await execution.runUntilNothingCanStart();
	} finally {
		execution.stopListeningForCancel();
	}
	execution.markNotRun();
	return execution.result();
}

/**
 * The state of one executePlan call: the tasks' results so far (by id), the tasks not started yet (in plan order) and
 * the ones running, plus each task's span context for the links of its dependents.
 */
class PlanExecution {
	private readonly started = Date.now();
	private readonly concurrency: number;
	/** Per attempt, ms. */
	private readonly timeoutMs: number;
	private readonly policy: RetryPolicy;
	private readonly byId: Map<string, PlanTask>;
	private readonly results = new Map<string, TaskRunResult>();
	/** Tasks taken from checkpoints. */
	private resumed = 0;
	/** Ids of the tasks not started, skipped or finished yet, in plan order. */
	private pending: string[] = [];
	private readonly running = new Map<string, Promise<void>>();
	// One controller for every task of this run: the caller's cancellation, or a failed checkpoint save, stops them all.
	private readonly controller = new AbortController();
	private readonly spans = new Map<string, SpanContext>();
	/** The budget's reason to start no more tasks, once it has given one. */
	private stopReason: string | undefined;

	constructor(
		private readonly plan: Plan,
		private readonly run: (context: TaskContext) => Promise<TaskOutput>,
		private readonly options: ExecuteOptions,
	) {
		this.concurrency = options.concurrency ?? 4;
		this.timeoutMs = options.taskTimeoutMs ?? 300_000;
		this.policy = options.retryPolicy ?? new FixedDelayRetryPolicy({ maxRetries: 0, delay: 0 });
		this.byId = new Map(plan.tasks.map((t) => [t.id, t]));
	}

	/** Takes the completed tasks from the checkpoints (traced as instant spans); the others are pending. */
	async resumeFromCheckpoints(): Promise<void> {
		const saved = await this.options.checkpoints?.loadCompleted([...this.byId.keys()]);
		for (const [id, result] of saved ?? []) {
			if (result.status === 'completed') this.results.set(id, { ...result, resumed: true });
		}
		this.resumed = this.results.size;
		this.pending = this.plan.tasks.filter((t) => !this.results.has(t.id)).map((t) => t.id);
		for (const task of this.plan.tasks)
			if (this.results.has(task.id)) this.recordTask(task.id, this.results.get(task.id)!);
	}

	private readonly cancel = () => this.controller.abort(this.options.signal!.reason);

	listenForCancel(): void {
		if (this.options.signal?.aborted) this.cancel();
		else this.options.signal?.addEventListener('abort', this.cancel, { once: true });
	}

	stopListeningForCancel(): void {
		this.options.signal?.removeEventListener('abort', this.cancel);
	}

	/**
	 * Starts every task whose dependencies have completed (up to the concurrency), and waits for one to end, until
	 * none is running. Throws the first error a task's run throws (cancellation, CheckpointError) once every running
	 * task has stopped.
	 */
	async runUntilNothingCanStart(): Promise<void> {
		for (;;) {
			this.skipBlocked();
			this.stopReason ??= this.options.budgetExhausted?.();
			if (!this.stopReason) this.startReady();
			if (!this.running.size) return;
			try {
				await Promise.race(this.running.values());
			} catch (error) {
				await Promise.allSettled(this.running.values());
				throw error;
			}
		}
	}

	/** Dependents of a task that did not complete can never run: marks them skipped, transitively. */
	private skipBlocked(): void {
		for (let changed = true; changed;) {
			changed = false;
			for (const id of [...this.pending]) {
				const blocker = this.byId
					.get(id)!
					.dependsOn.find(
						(d) => this.results.has(d) && this.results.get(d)!.status !== 'completed',
					);
				if (!blocker) continue;
				this.pending.splice(this.pending.indexOf(id), 1);
				this.results.set(id, {
					id,
					status: 'skipped',
					error: `skipped: dependency "${blocker}" ${this.results.get(blocker)!.status === 'failed' ? 'failed' : 'did not complete'}`,
					attempts: 0,
					durationMs: 0,
				});
				this.recordTask(id, this.results.get(id)!);
				changed = true;
			}
		}
	}

	/** Starts the pending tasks whose dependencies have all completed, as many as the concurrency leaves room for. */
	private startReady(): void {
		const ready = this.pending.filter((id) =>
			this.byId.get(id)!.dependsOn.every((d) => this.results.get(d)?.status === 'completed'),
		);
		for (const id of ready.slice(0, Math.max(0, this.concurrency - this.running.size)))
			this.start(id);
	}

	/**
	 * Runs one task and checkpoints it when it completed, before its result is visible to its dependents. A failed
	 * save aborts every running task and rejects with CheckpointError.
	 */
	private start(id: string): void {
		this.pending.splice(this.pending.indexOf(id), 1);
		const promise = (async () => {
			const result = await this.runOne(this.byId.get(id)!);
			if (result.status === 'completed') {
				try {
					await this.options.checkpoints?.saveCompleted(result);
				} catch (error) {
					const failure = new CheckpointError(id, error);
					this.controller.abort(failure);
					throw failure;
				}
			}
			this.results.set(id, result);
		})().finally(() => this.running.delete(id));
		this.running.set(id, promise);
	}

	/** One task traced as a `task {id}` span (linked to its dependencies' spans), with its retries as span events. */
	private runOne(task: PlanTask): Promise<TaskRunResult> {
		return inSpan(
			`task ${task.id}`,
			{ ...this.taskAttributes(task), [OPENAGENTS.taskResumed]: false },
			async (span) => {
				this.spans.set(task.id, span.spanContext());
				const result = await this.attemptTask(task, ({ attempt, delayMs, error }) =>
					recordRetry(span, { attempt, delayMs, message: messageOf(error) }),
				);
				span.setAttributes({
					[OPENAGENTS.status]: result.status,
					[OPENAGENTS.attempts]: result.attempts,
				});
				if (result.status === 'failed') markFailed(span, new Error(result.error));
				return result;
			},
			{ links: this.dependencyLinks(task) },
		);
	}

	/**
	 * The task's attempts under the retry policy and the per-attempt timeout: its completed or failed result with
	 * timing (ISO 8601 start and end, duration in ms). Rethrows when the run was aborted.
	 */
	private async attemptTask(
		task: PlanTask,
		onRetry: (info: { attempt: number; error: unknown; delayMs: number }) => void,
	): Promise<TaskRunResult> {
		const t0 = Date.now();
		const dependencies = Object.fromEntries(
			task.dependsOn.map((d) => [d, this.results.get(d)!.output ?? '']),
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
					this.run({ task, dependencies, attempt, signal })
				),
				this.policy,
				{
					signal: this.controller.signal,
					timeoutMs: this.timeoutMs,
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
			if (this.controller.signal.aborted) throw error;
			return { id: task.id, status: 'failed', ...failureOf(error, this.timeoutMs), ...timing() };
		}
	}

	/** The tasks still pending did not run (the budget stopped the run, or a dependency never completed). */
	markNotRun(): void {
		for (const id of this.pending) {
			this.results.set(id, {
				id,
				status: 'not_run',
				error: this.stopReason ? `not run: ${this.stopReason}` : 'not run',
				attempts: 0,
				durationMs: 0,
			});
			this.recordTask(id, this.results.get(id)!);
		}
	}

	result(): PlanRunResult {
		const tasks = this.plan.tasks.map((t) => this.results.get(t.id)!);
		return {
			status: tasks.every((t) => t.status === 'completed') ? 'completed' : 'partial',
			tasks,
			resumed: this.resumed,
			durationMs: Date.now() - this.started,
		};
	}

	private taskAttributes(task: PlanTask) {
		return {
			[OPENAGENTS.taskId]: task.id,
			[OPENAGENTS.taskAgent]: task.agent,
			[OPENAGENTS.taskDependsOn]: task.dependsOn,
		};
	}

	/** Links to the spans of the task's dependencies that have one. */
	private dependencyLinks(task: PlanTask): Link[] {
		return task.dependsOn.flatMap((d) => {
			const context = this.spans.get(d);
			return context ? [{ context, attributes: { [OPENAGENTS.taskId]: d } }] : [];
		});
	}

	/** A span for a task that did no work now: resumed from its checkpoint, skipped, or not run. */
	private recordTask(id: string, result: TaskRunResult): void {
		const task = this.byId.get(id)!;
		const context = recordInstant(
			`task ${id}`,
			{
				...this.taskAttributes(task),
				[OPENAGENTS.status]: result.status,
				[OPENAGENTS.taskResumed]: result.resumed === true,
			},
			this.dependencyLinks(task),
		);
		if (context) this.spans.set(id, context);
	}
}
