/**
 * Long-term memory (lib/memory/facts) on a node run's memory store: the facts of a tenant, under the item's Retry
 * Policy and store timeout, recalled by meaning too when an LLM API credential gives an embedding model (else by
 * keywords). Shared by the Memory node's Long-Term Memory operations and the Agent.
 */
import type { LlmConfig, UsageTracker } from '../../../lib/llm';
import { tenantPath } from '../../../lib/memory';
import {
	FACT_ACCESS,
	openFactMemory,
	type FactMemory,
	type FactProvenance,
} from '../../../lib/memory/facts';
import type { ItemSettings, NodeFunctions } from '../runtime/itemSettings';
import { factEmbeddings } from './llmApi';
import { memoryFor, type OpenedStore } from './memory';

/**
 * The tenant's FactMemory for one item. `tenant`: default the credential's (tenantPath(opened.tenant)), never a
 * workflow's parameter; the Memory node and the Agent pass resolveTenant's, which adds the item's Isolation Key. `model`: the
 * embedding model (default the credential's); `usage`: where embedding calls are counted.
 */
export function factMemoryFor(
	opened: OpenedStore,
	settings: ItemSettings,
	llm?: LlmConfig,
	options: { tenant?: string; model?: string; usage?: UsageTracker } = {},
): FactMemory {
	return openFactMemory(memoryFor(opened, settings, FACT_ACCESS), {
		tenant: options.tenant ?? tenantPath(opened.tenant),
		...(llm && factEmbeddings(llm, settings, options)),
	});
}

/** Where a fact stored by this run comes from: its workflow and execution. */
export function runProvenance(fn: NodeFunctions): Omit<FactProvenance, 'source'> {
	return { workflowId: String(fn.getWorkflow().id ?? ''), executionId: fn.getExecutionId() };
}
