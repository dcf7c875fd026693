/**
 * Runs the chosen operation for every item: per-item address, access policy and retry policy; errors become
 * NodeOperationError with the item index, or error items with continueOnFail; every output item has pairedItem.
 */
import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import { closeStore, memoryFor, openStore, resolveNamespace } from '../../shared/memoryContext';
import * as append from './append';
import * as appendMessage from './appendMessage';
import * as del from './delete';
import * as get from './get';
import * as getMessages from './getMessages';
import * as increment from './increment';
import * as listKeys from './listKeys';
import * as set from './set';
import type { OperationExecute } from './types';

export const operations: Record<string, { execute: OperationExecute }> = { append, appendMessage, delete: del, get, getMessages, increment, listKeys, set };

export async function route(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const operation = this.getNodeParameter('operation', 0) as string;
	const out: INodeExecutionData[] = [];
	const store = await openStore(this);
	try {
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			try {
				const memory = memoryFor(this, store, itemIndex);
				const ns = resolveNamespace(this, itemIndex);
				const json: IDataObject = await operations[operation].execute({ fn: this, memory, ns, itemIndex });
				out.push({ json: { ...json, scope: ns.scope, scopeId: ns.scopeId }, pairedItem: { item: itemIndex } });
			} catch (error) {
				const message = (error as Error).message;
				if (this.continueOnFail()) {
					out.push({ json: { error: message, code: (error as { code?: string }).code ?? null }, pairedItem: { item: itemIndex } });
					continue;
				}
				throw error instanceof NodeOperationError
					? error
					: new NodeOperationError(this.getNode(), message, { itemIndex, description: `Operation "${operation}" failed for item ${itemIndex}.` });
			}
		}
	} finally {
		await closeStore(store);
	}
	return [out];
}
