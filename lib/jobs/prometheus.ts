/**
 * Prometheus metrics of n8n executions and OpenAgents usage, in the text exposition format, built with prom-client's
 * Registry (names and labels per https://prometheus.io/docs/practices/naming/). Counters count the executions held by
 * the execution index (every execution since its start, see lib/jobs/execution-index), so a scrape needs no state of
 * its own; Prometheus' rate() and increase() handle the reset when the index is rebuilt.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import {
	addSummary,
	rollupByWorkflow,
	type MinuteCells,
	type WorkflowRollup,
} from './execution-aggregates';
import type { QueueStats } from './queue';
import type { ExecutionSummary } from './summary';
import type { WorkerStatus } from './workers';

interface PrometheusInput {
	/** The executions counted: as summaries, or as per-workflow totals (see indexRollup). */
	summaries?: readonly ExecutionSummary[];
	workflows?: readonly WorkflowRollup[];
	/** Workflow ID → name, for the `workflow_name` label (the ID when unknown). */
	workflowNames?: ReadonlyMap<string, string>;
	/** The index's start (ISO): exported as openagents_index_start_timestamp_seconds. */
	indexFrom?: string;
	queue?: QueueStats;
	workers?: readonly WorkerStatus[];
	/** Currency of the cost counter (the credential's; default USD). */
	currency?: string;
}

/** Duration buckets, seconds: agent runs span from well under a second to minutes. */
const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** `{ text, contentType }`: the exposition text and the Content-Type header to answer the scrape with. */
export async function prometheusMetrics(
	input: PrometheusInput,
): Promise<{ text: string; contentType: string }> {
	const registry = new Registry();
	countExecutions(registry, input);
	gaugeTheStack(registry, input);
	return { text: await registry.metrics(), contentType: registry.contentType };
}

/** The counters and the duration histogram, per workflow, of the executions and their OpenAgents usage. */
function countExecutions(registry: Registry, input: PrometheusInput): void {
	const registers = [registry];
	const labels = ['workflow_id', 'workflow_name'] as const;
	const executions = new Counter({
		name: 'openagents_executions_total',
		help: 'Executions by workflow and status (n8n statuses: success, error, crashed, canceled, running, waiting, new)',
		labelNames: [...labels, 'status'],
		registers,
	});
	const duration = new Histogram({
		name: 'openagents_execution_duration_seconds',
		help: 'Duration of ended executions (success, error, crashed), startedAt to stoppedAt',
		labelNames: labels,
		buckets: DURATION_BUCKETS,
		registers,
	});
	const retriedExecutions = new Counter({
		name: 'openagents_execution_retries_total',
		help: 'Executions that are retries of an earlier execution (retryOf set)',
		labelNames: labels,
		registers,
	});
	const modelCalls = new Counter({
		name: 'openagents_model_calls_total',
		help: 'Successful chat model calls of OpenAgents nodes',
		labelNames: labels,
		registers,
	});
	const tokens = new Counter({
		name: 'openagents_tokens_total',
		help: 'Tokens of OpenAgents model calls, by type (prompt, completion)',
		labelNames: [...labels, 'type'],
		registers,
	});
	const cost = new Counter({
		name: 'openagents_cost_total',
		help: `Cost of OpenAgents model and embedding calls, in ${input.currency ?? 'USD'}`,
		labelNames: labels,
		registers,
	});
	const modelRetries = new Counter({
		name: 'openagents_model_retries_total',
		help: 'Model and embedding requests of OpenAgents nodes that failed and were tried again',
		labelNames: labels,
		registers,
	});
	const toolErrors = new Counter({
		name: 'openagents_tool_errors_total',
		help: 'Failed tool calls of OpenAgents agents',
		labelNames: labels,
		registers,
	});

	for (const wf of input.workflows ?? rollupOf(input.summaries ?? [])) {
		const l = {
			workflow_id: wf.workflowId,
			workflow_name: input.workflowNames?.get(wf.workflowId) ?? wf.workflowId,
		};
		for (const [status, count] of Object.entries(wf.byStatus))
			if (count) executions.inc({ ...l, status }, count);
		for (const [ms, count] of wf.durations)
			for (let i = 0; i < count; i++) duration.observe(l, ms / 1000);
		if (wf.retried) retriedExecutions.inc(l, wf.retried);
		if (!wf.usageExecutions) continue;
		modelCalls.inc(l, wf.usage.modelCalls);
		tokens.inc({ ...l, type: 'prompt' }, wf.usage.promptTokens);
		tokens.inc({ ...l, type: 'completion' }, wf.usage.completionTokens);
		cost.inc(l, wf.usage.cost);
		modelRetries.inc(l, wf.usage.retries);
		toolErrors.inc(l, wf.usage.toolErrors);
	}
}

/** Gauges of what the counters cover and of the stack now: the index's start, the queue, the workers. */
function gaugeTheStack(registry: Registry, input: PrometheusInput): void {
	const registers = [registry];
	if (input.indexFrom)
		new Gauge({
			name: 'openagents_index_start_timestamp_seconds',
			help: 'Start of the span the execution counters cover (Unix time)',
			registers,
		}).set(Date.parse(input.indexFrom) / 1000);
	if (input.queue) {
		const queue = new Gauge({
			name: 'openagents_queue_jobs',
			help: "Jobs in n8n's queue by state (waiting, active, delayed, paused, failed, completed)",
			labelNames: ['state'],
			registers,
		});
		const q = input.queue;
		for (const state of ['waiting', 'active', 'delayed', 'paused', 'failed', 'completed'] as const)
			if (q[state] !== undefined) queue.set({ state }, q[state] as number);
	}
	if (input.workers)
		new Gauge({
			name: 'openagents_workers',
			help: 'n8n workers that answered the status request',
			registers,
		}).set(input.workers.filter((w) => w.answered).length);
}

function rollupOf(summaries: readonly ExecutionSummary[]): WorkflowRollup[] {
	const cells: MinuteCells = new Map();
	for (const s of summaries) addSummary(cells, s);
	return rollupByWorkflow(cells);
}
