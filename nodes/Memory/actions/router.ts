/**
 * Runs the chosen operation for every item: per-item address, access policy and retry policy; errors become
 * NodeOperationError with the item index, or error items with continueOnFail; every output item has pairedItem.
 */
import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import { Memory, namespace, SCOPES, type MemoryStore, type Scope } from '../../../lib/memory';
import { getRetryPolicy } from '../../shared/retryPolicy';
import { inProcessStore, storeFromCredential } from '../transport/store';
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

function scopeId(fn: IExecuteFunctions, scope: Scope, itemIndex: number): string {
	if (scope === 'global') return '';
	const given = (fn.getNodeParameter('scopeId', itemIndex, '') as string).trim();
	if (given) return given;
	if (scope === 'workflow') return String(fn.getWorkflow().id ?? '');
	if (scope === 'execution') return fn.getExecutionId();
	return '';
}

async function openStore(fn: IExecuteFunctions): Promise<MemoryStore> {
	if (fn.getNodeParameter('store', 0) === 'inProcess') return inProcessStore();
	return storeFromCredential(await fn.getCredentials('openAgentsMemoryStore'));
}

export async function route(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const operation = this.getNodeParameter('operation', 0) as string;
	const out: INodeExecutionData[] = [];
	let store: MemoryStore;
	try {
		store = await openStore(this);
	} catch (error) {
		throw new NodeOperationError(this.getNode(), `Cannot open the memory store: ${(error as Error).message}`, {
			description: 'Check the OpenAgents Memory Store credential (host, port, password) or choose another store.',
		});
	}
	try {
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			try {
				const options = this.getNodeParameter('options', itemIndex, {}) as { readScopes?: Scope[]; writeScopes?: Scope[]; requireIsolationKey?: boolean };
				const memory = new Memory({
					store,
					retry: getRetryPolicy(this, itemIndex),
					signal: this.getExecutionCancelSignal(),
					policy: { read: options.readScopes ?? SCOPES, write: options.writeScopes ?? SCOPES, requireTenant: options.requireIsolationKey ?? false },
				});
				const scope = this.getNodeParameter('scope', itemIndex) as Scope;
				const ns = namespace(this.getNodeParameter('isolationKey', itemIndex, '') as string, scope, scopeId(this, scope, itemIndex));
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
		if (store.kind !== 'in-process') await store.close();
	}
	return [out];
}
