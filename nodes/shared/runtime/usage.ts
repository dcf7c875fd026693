/** Token usage of a node run: a tracker priced from the LLM API credential, and the execution's usage totals. */
import type { IExecuteFunctions } from 'n8n-workflow';

import {
	DEFAULT_CURRENCY,
	DEFAULT_PRICES,
	EXECUTION_USAGE_KEYS,
	UsageTracker,
	type ExecutionUsageField,
	type LlmConfig,
	type UsageTotals,
} from '../../../lib/llm';

/** A usage tracker pricing calls with the credential's prices (over the built-in ones for USD), else the built-in. */
export function usageTracker(llm?: LlmConfig): UsageTracker {
	if (!llm) return new UsageTracker();
	const currency = llm.currency ?? DEFAULT_CURRENCY;
	const base = currency === DEFAULT_CURRENCY ? DEFAULT_PRICES : {};
	return new UsageTracker({ ...base, ...llm.prices }, currency);
}

/** Adds `usage` to the execution's custom data totals (no-op where there is no execution data). */
export function addUsageToExecution(fn: IExecuteFunctions, usage: UsageTotals): void {
	let customData;
	try {
		customData = fn.customData;
	} catch {
		return; // no execution data (e.g. the node runs as a tool of another agent)
	}
	for (const [field, key] of Object.entries(EXECUTION_USAGE_KEYS) as Array<
		[ExecutionUsageField, string]
	>) {
		const sum = Number(customData.get(key) ?? 0) + (usage[field] ?? 0);
		customData.set(key, String(field === 'cost' ? Math.round(sum * 1e8) / 1e8 : sum));
	}
}
