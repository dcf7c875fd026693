/**
 * The compact record of one execution that analytics and metrics work on: its Job fields, the error and failing
 * node, and the OpenAgents usage totals our nodes keep in the execution's custom data.
 */
import { EXECUTION_USAGE_KEYS, type ExecutionUsageField } from '../llm';
import { toJob, type ApiExecution, type Job } from './job';

/** Usage totals of one execution (tokens, model calls, cost in the credential's currency, retries, tool errors). */
export type ExecutionUsage = Record<ExecutionUsageField, number>;

/** The usage fields in EXECUTION_USAGE_KEYS order: the order of usage sums stored as arrays. */
export const USAGE_FIELDS = Object.keys(EXECUTION_USAGE_KEYS) as ExecutionUsageField[];

export interface ExecutionSummary extends Job {
	/** Present when the execution ran an OpenAgents Agent, Planner or Knowledge Base node and was read with its data. */
	usage?: ExecutionUsage;
	/** True once the execution's data was read (error and usage are known). */
	detailed?: boolean;
}

/** The usage totals in custom data; undefined when the execution has none of our keys. */
export function usageFromCustomData(
	customData: Record<string, string> | undefined,
): ExecutionUsage | undefined {
	if (!customData) return undefined;
	const fields = Object.entries(EXECUTION_USAGE_KEYS) as Array<[ExecutionUsageField, string]>;
	if (!fields.some(([, key]) => key in customData)) return undefined;
	const usage = {} as ExecutionUsage;
	for (const [field, key] of fields) {
		const value = Number(customData[key] ?? 0);
		usage[field] = Number.isFinite(value) ? value : 0;
	}
	return usage;
}

/** The summary of an execution as the public API returned it (with or without its data). */
export function summarize(execution: ApiExecution): ExecutionSummary {
	const { lastNode: _lastNode, ...job } = toJob(execution);
	const summary: ExecutionSummary = job;
	if (execution.data || execution.customData) {
		summary.detailed = true;
		const usage = usageFromCustomData(execution.customData);
		if (usage) summary.usage = usage;
	}
	return summary;
}
