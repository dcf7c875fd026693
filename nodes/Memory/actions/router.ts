/**
 * Runs the chosen operation for every item: per-item address, access policy and retry policy; errors become
 * NodeOperationError with the item index, or error items with continueOnFail; every output item has pairedItem.
 */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { factMemoryFor } from '../../shared/clients/facts';
import {
	memoryFor,
	resolveNamespace,
	RunStore,
	STORE_FAILURE_HINTS,
} from '../../shared/clients/memory';
import { OPENAGENTS } from '../../../lib/tracing';
import type { ErrorRule } from '../../shared/runtime/failedItem';
import { runItems } from '../../shared/runtime/itemLoop';
import { readItemSettings } from '../../shared/runtime/itemSettings';
import { usageTracker } from '../../shared/runtime/usage';
import { llmConfigFromCredential, MODEL_FAILURE_HINTS } from '../../shared/clients/llmApi';
import * as append from './append';
import * as appendMessage from './appendMessage';
import * as del from './delete';
import * as get from './get';
import * as getMessages from './getMessages';
import * as increment from './increment';
import * as forget from './forget';
import * as listFacts from './listFacts';
import * as listKeys from './listKeys';
import * as recall from './recall';
import * as remember from './remember';
import * as set from './set';
import type { FactItem, FactOperation, MemoryItem, MemoryOperation, MemoryRun } from './types';

const operations: Record<string, { execute: MemoryOperation }> = {
	append,
	appendMessage,
	delete: del,
	get,
	getMessages,
	increment,
	listKeys,
	set,
};

const factOperations: Record<string, { execute: FactOperation }> = {
	forget,
	listFacts,
	recall,
	remember,
};

const HINTS: ErrorRule['hints'] = {
	invalid_address:
		'Check Scope, Scope ID, Isolation Key and Key: see the message for which one and why.',
	access_denied:
		"This node's Options → Readable Scopes / Writable Scopes / Require Isolation Key do not allow it.",
	invalid_value:
		'Values must be JSON (objects, arrays, text, numbers, booleans, null) within the size limit.',
	version_conflict:
		'Another execution changed the key first: read it again (Get) and retry with its version in Only If Version.',
	wrong_type: 'Increment needs a number and Append a list: the key holds something else.',
	not_found:
		'No current fact with this ID about this subject: it was forgotten, replaced, or belongs to another subject.',
	...MODEL_FAILURE_HINTS,
	...STORE_FAILURE_HINTS,
};

const FACT_HINTS: ErrorRule['hints'] = {
	...HINTS,
	invalid_address: 'Check Subject (non-empty, at most 1 024 characters) and Isolation Key.',
	invalid_value:
		'Fact and Query must be non-empty text of at most 10 000 characters, Metadata a flat JSON object, Top K 1…100.',
};

export async function route(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	const run: MemoryRun = { fn: this, store: new RunStore(this) };
	if (this.getNodeParameter('resource', 0, 'value') === 'longTermMemory')
		return routeFacts(this, run, operation);
	return runItems(this, {
		errors: { hints: HINTS, fallback: `Memory "${operation}" failed.` },
		span: (itemIndex) => ({
			name: `memory ${operation}`,
			attributes: {
				[OPENAGENTS.memoryOperation]: operation,
				[OPENAGENTS.memoryScope]: this.getNodeParameter('scope', itemIndex) as string,
			},
		}),
		settings: async (itemIndex): Promise<MemoryItem> => {
			const settings = readItemSettings(this, itemIndex);
			const opened = await run.store.get();
			return {
				...settings,
				memory: memoryFor(opened, settings),
				ns: resolveNamespace(this, opened, settings),
			};
		},
		run: async (item) => {
			const json = await operations[operation].execute(run, item);
			return { ...json, scope: item.ns.scope, scopeId: item.ns.scopeId };
		},
		close: () => run.store.close(),
	});
}

/** Long-Term Memory: the item's tenant's facts, with embeddings when Match Facts By asks for meaning. */
async function routeFacts(
	fn: IExecuteFunctions,
	run: MemoryRun,
	operation: string,
): Promise<INodeExecutionData[][]> {
	const llm = async (itemIndex: number) =>
		['remember', 'recall'].includes(operation) &&
		fn.getNodeParameter('matchBy', itemIndex, 'keywords') === 'meaning'
			? await llmConfigFromCredential(fn)
			: undefined;
	return runItems(fn, {
		errors: { hints: FACT_HINTS, fallback: `Long-term memory "${operation}" failed.` },
		span: () => ({
			name: `memory ${operation}`,
			attributes: { [OPENAGENTS.memoryOperation]: operation },
		}),
		settings: async (itemIndex): Promise<FactItem> => {
			const settings = readItemSettings(fn, itemIndex);
			const opened = await run.store.get();
			const config = await llm(itemIndex);
			const usage = usageTracker(config);
			const model = String(fn.getNodeParameter('embeddingModel', itemIndex, '') ?? '').trim();
			return {
				...settings,
				usage,
				facts: factMemoryFor(fn, opened, settings, config, { model, usage }),
			};
		},
		run: (item) => factOperations[operation].execute(run, item),
		close: () => run.store.close(),
	});
}
