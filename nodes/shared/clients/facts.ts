/**
 * Long-term memory (lib/memory/facts) on a node run's memory store: the facts of a tenant, under the item's Retry
 * Policy and store timeout, recalled by meaning too when an LLM API credential gives an embedding model (else by
 * keywords). Shared by the Memory node's Long-Term Memory operations and the Agent.
 */
import type { LlmConfig, UsageTracker } from '../../../lib/llm';
import {
	FACT_ACCESS,
	openFactMemory,
	type FactMemory,
	type FactProvenance,
} from '../../../lib/memory/facts';
import type { ItemSettings, NodeFunctions } from '../runtime/itemSettings';
import { factEmbeddings } from './llmApi';
import { memoryFor, resolveTenant, type OpenedStore } from './memory';

/**
 * The item's FactMemory: in the credential's tenant with the item's Isolation Key below it (resolveTenant; never a
 * tenant from the workflow), so the Memory node and the Agent reach the same facts for the same key. `model`: the
 * embedding model (default the credential's); `usage`: where embedding calls are counted. Throws resolveTenant's
 * MemoryError for an Isolation Key the credential or the node's options refuse.
 */
export function factMemoryFor(
	fn: NodeFunctions,
	opened: OpenedStore,
	settings: ItemSettings,
	llm?: LlmConfig,
	options: { model?: string; usage?: UsageTracker } = {},
): FactMemory {
	return openFactMemory(memoryFor(opened, settings, FACT_ACCESS), {
		tenant: resolveTenant(fn, opened, settings),
		...(llm && factEmbeddings(llm, settings, options)),
	});
}

/** Where a fact stored by this run comes from: its workflow and execution. */
export function runProvenance(fn: NodeFunctions): Omit<FactProvenance, 'source'> {
	return { workflowId: String(fn.getWorkflow().id ?? ''), executionId: fn.getExecutionId() };
}
