/**
 * Runs the chosen operation for every item: per-item address, access policy and retry policy; errors become
 * NodeOperationError with the item index, or error items with continueOnFail; every output item has pairedItem.
 */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

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
import * as append from './append';
import * as appendMessage from './appendMessage';
import * as del from './delete';
import * as get from './get';
import * as getMessages from './getMessages';
import * as increment from './increment';
import * as listKeys from './listKeys';
import * as set from './set';
import type { MemoryItem, MemoryOperation, MemoryRun } from './types';

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
	...STORE_FAILURE_HINTS,
};

export async function route(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	const run: MemoryRun = { fn: this, store: new RunStore(this) };
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
