/**
 * What the shared execution index answers: the analytics of a window, the workflows of failed executions, and the
 * per-workflow totals of everything it holds, each over its aggregates plus the executions still pending (counted
 * here as they are now, as `analyze` would count them).
 */
import type { Analytics, AnalyticsWindow } from './analytics';
import {
	addSummary,
	analyzeCells,
	failureWorkflows,
	mergeCells,
	rollupByWorkflow,
	type MinuteCells,
	type WorkflowRollup,
} from './execution-aggregates';
import type { IndexedExecutions } from './execution-index';

/** Aggregates and pending executions in one map (a copy: the index's own cells are left as they are). */
function withPending(
	index: Pick<IndexedExecutions, 'cells' | 'pending'>,
	minutes?: { from: number; to: number },
): MinuteCells {
	const cells: MinuteCells = new Map();
	const inside = new Map(
		[...index.cells].filter(([m]) => !minutes || (m >= minutes.from && m < minutes.to)),
	);
	mergeCells(cells, inside);
	for (const s of index.pending) addSummary(cells, s);
	return cells;
}

/** The analytics of `window` (whole minutes: see analyzeCells); equal to `analyze` over the same executions. */
export function indexAnalytics(
	index: Pick<IndexedExecutions, 'cells' | 'pending'>,
	window: AnalyticsWindow,
): Analytics {
	const minutes = { from: Date.parse(window.from), to: Date.parse(window.to) };
	return analyzeCells(withPending(index, minutes), window);
}

/** Execution ID → workflow ID of the failure examples the index holds. */
export function indexFailureWorkflows(
	index: Pick<IndexedExecutions, 'cells' | 'pending'>,
): Record<string, string> {
	const out = failureWorkflows(index.cells);
	for (const s of index.pending) if (s.error) out[s.id] = s.workflowId;
	return out;
}

/** Per workflow, the totals of every execution the index holds (Prometheus counters). */
export function indexRollup(index: Pick<IndexedExecutions, 'cells' | 'pending'>): WorkflowRollup[] {
	return rollupByWorkflow(withPending(index));
}
