/** Turns a Memory node's parameters into lib/memory objects; shared by the Memory node and the Chat Memory sub-node. */
import {
	NodeOperationError,
	type IExecuteFunctions,
	type ISupplyDataFunctions,
} from 'n8n-workflow';

import {
	Memory,
	namespace,
	SCOPES,
	type MemoryStore,
	type Namespace,
	type Scope,
} from '../../lib/memory';
import { getRetryPolicy } from './retryPolicy';
import { inProcessStore, storeFromCredential } from './memoryStore';

type Context = IExecuteFunctions | ISupplyDataFunctions;

/** The store chosen by the "Store" parameter. Throws NodeOperationError when it cannot be opened. */
export async function openStore(fn: Context): Promise<MemoryStore> {
	try {
		if (fn.getNodeParameter('store', 0) === 'inProcess') return inProcessStore();
		return await storeFromCredential(await fn.getCredentials('openAgentsMemoryStore'));
	} catch (error) {
		throw new NodeOperationError(
			fn.getNode(),
			`Cannot open the memory store: ${(error as Error).message}`,
			{
				description:
					'Check the OpenAgents Memory Store credential (host, port, password) or choose another store.',
			},
		);
	}
}

/** Closes a store opened by openStore (the shared in-process store stays open). */
export async function closeStore(store: MemoryStore): Promise<void> {
	if (store.kind !== 'in-process') await store.close();
}

/** The item's namespace; an empty scope ID means the current workflow or execution for those scopes. */
export function resolveNamespace(fn: Context, itemIndex: number): Namespace {
	const scope = fn.getNodeParameter('scope', itemIndex) as Scope;
	let scopeId =
		scope === 'global' ? '' : String(fn.getNodeParameter('scopeId', itemIndex, '') ?? '').trim();
	if (!scopeId && scope === 'workflow') scopeId = String(fn.getWorkflow().id ?? '');
	if (!scopeId && scope === 'execution') scopeId = fn.getExecutionId();
	return namespace(fn.getNodeParameter('isolationKey', itemIndex, '') as string, scope, scopeId);
}

/** A Memory with the item's access policy and retry policy, cancelled with the execution. */
export function memoryFor(fn: Context, store: MemoryStore, itemIndex: number): Memory {
	const options = fn.getNodeParameter('options', itemIndex, {}) as {
		readScopes?: Scope[];
		writeScopes?: Scope[];
		requireIsolationKey?: boolean;
	};
	return new Memory({
		store,
		retry: getRetryPolicy(fn, itemIndex),
		signal: fn.getExecutionCancelSignal(),
		policy: {
			read: options.readScopes ?? SCOPES,
			write: options.writeScopes ?? SCOPES,
			requireTenant: options.requireIsolationKey ?? false,
		},
	});
}
