/**
 * Runs the chosen operation for every item: per-item address, access policy and retry policy; errors become
 * NodeOperationError with the item index, or error items with continueOnFail; every output item has pairedItem.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { closeStore, memoryFor, openStore, resolveNamespace } from '../../shared/memoryContext';
import { OPENAGENTS } from '../../../lib/tracing';
import { traceItem } from '../../shared/tracing';
import { failedItem, type ErrorRule } from '../../shared/itemError';
import * as append from './append';
import * as appendMessage from './appendMessage';
import * as del from './delete';
import * as get from './get';
import * as getMessages from './getMessages';
import * as increment from './increment';
import * as listKeys from './listKeys';
import * as set from './set';
import type { OperationExecute } from './types';

export const operations: Record<string, { execute: OperationExecute }> = {
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
	store_timeout:
		'The store was too slow: check its load, or raise Options → Timeout and the Retry Policy.',
	store_unavailable:
		'Check that the Redis or Postgres server of the OpenAgents Memory Store credential is up and reachable.',
};

export async function route(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const operation = this.getNodeParameter('operation', 0) as string;
	const out: INodeExecutionData[] = [];
	const store = await openStore(this);
	try {
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			try {
				const memory = memoryFor(this, store, itemIndex);
				const ns = resolveNamespace(this, store, itemIndex);
				const json: IDataObject = await traceItem(
					itemIndex,
					`memory ${operation}`,
					{ [OPENAGENTS.memoryOperation]: operation, [OPENAGENTS.memoryScope]: ns.scope },
					() => operations[operation].execute({ fn: this, memory, ns, itemIndex }),
				);
				out.push({
					json: { ...json, scope: ns.scope, scopeId: ns.scopeId },
					pairedItem: { item: itemIndex },
				});
			} catch (error) {
				out.push(
					failedItem(this, error, itemIndex, {
						hints: HINTS,
						fallback: `Memory "${operation}" failed.`,
					}),
				);
			}
		}
	} finally {
		await closeStore(store);
	}
	return [out];
}
