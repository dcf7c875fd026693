/**
 * Turns a node's memory parameters into lib/memory objects: the store of its credential (or the in-process one),
 * the item's namespace inside the credential's tenant, and a Memory with the item's access and retry policies.
 * Shared by the Memory node, the Chat Memory sub-node, the Agent's memory tools and the Planner's checkpoints.
 */
import { NodeOperationError, type IDataObject } from 'n8n-workflow';

import {
	Memory,
	MemoryError,
	namespace,
	SCOPES,
	tenantPath,
	type AccessPolicy,
	type MemoryStore,
	type Namespace,
	type Scope,
} from '../../../lib/memory';
import { nodeLog, type ItemSettings, type NodeFunctions } from '../runtime/itemSettings';
import { DEFAULT_STORE_TIMEOUT_MS, inProcessStore, storeFromCredential } from './memoryStore';

/** A store and the boundary its credential draws: every namespace of this node run lies inside `tenant`. */
interface OpenedStore {
	store: MemoryStore;
	/** The credential's tenant ('' for none, and for the in-process store). */
	tenant: string;
	/** Whether items may use an Isolation Key below the tenant (the credential's "Allow Isolation Keys"). */
	allowIsolationKeys: boolean;
}

/** Options → Timeout (Seconds) in ms, where the node has it; else DEFAULT_STORE_TIMEOUT_MS. */
function storeTimeoutMs(options: IDataObject): number {
	const seconds = Number(options.timeoutSeconds);
	return seconds > 0 ? seconds * 1000 : DEFAULT_STORE_TIMEOUT_MS;
}

/** The store chosen by the "Store" parameter. Throws NodeOperationError when it cannot be opened. */
export async function openStore(fn: NodeFunctions): Promise<OpenedStore> {
	try {
		if (fn.getNodeParameter('store', 0) === 'inProcess') {
			return { store: inProcessStore(), tenant: '', allowIsolationKeys: true };
		}
		const c = await fn.getCredentials('openAgentsMemoryStore');
		const timeoutMs = storeTimeoutMs(fn.getNodeParameter('options', 0, {}) as IDataObject);
		return {
			store: await storeFromCredential(c, { timeoutMs, log: nodeLog(fn) }),
			tenant: String(c.tenant ?? ''),
			allowIsolationKeys: c.allowIsolationKeys === true,
		};
	} catch (error) {
		throw new NodeOperationError(
			fn.getNode(),
			`Cannot open the memory store: ${(error as Error).message}`,
			{
				description:
					'Check the OpenAgents Memory Store API credential (host, port, password, TLS) or choose another store.',
			},
		);
	}
}

/** Closes a store opened by openStore (the shared in-process store stays open). */
export async function closeStore({ store }: OpenedStore): Promise<void> {
	if (store.kind !== 'in-process') await store.close();
}

/**
 * The node run's memory store, opened when the first item needs it (so a store that cannot be opened is that item's
 * error, under the failed-item rule) and closed once after the last item.
 */
export class RunStore {
	private opened?: Promise<OpenedStore>;

	constructor(private readonly fn: NodeFunctions) {}

	get(): Promise<OpenedStore> {
		return (this.opened ??= openStore(this.fn));
	}

	/** Closes the store if it was opened (a store that failed to open has nothing to close). */
	async close(): Promise<void> {
		await this.opened?.then(closeStore, () => undefined);
	}
}

/**
 * The item's namespace, always inside the credential's tenant; an empty scope ID means the current workflow or
 * execution for those scopes. Throws MemoryError access_denied for an Isolation Key the credential does not allow,
 * or a missing one the node's options require.
 */
export function resolveNamespace(
	fn: NodeFunctions,
	opened: OpenedStore,
	settings: ItemSettings,
): Namespace {
	const { itemIndex } = settings;
	const scope = fn.getNodeParameter('scope', itemIndex) as Scope;
	let scopeId =
		scope === 'global' ? '' : String(fn.getNodeParameter('scopeId', itemIndex, '') ?? '').trim();
	if (!scopeId && scope === 'workflow') scopeId = String(fn.getWorkflow().id ?? '');
	if (!scopeId && scope === 'execution') scopeId = fn.getExecutionId();
	const isolationKey = fn.getNodeParameter('isolationKey', itemIndex, '');
	if (typeof isolationKey !== 'string') {
		throw new MemoryError('The isolation key must be text', 'invalid_address');
	}
	if (isolationKey && !opened.allowIsolationKeys) {
		throw new MemoryError(
			'This memory store credential does not allow isolation keys: turn on "Allow Isolation Keys" in it, or leave Isolation Key empty',
			'access_denied',
		);
	}
	if (settings.options.requireIsolationKey === true && !isolationKey) {
		throw new MemoryError(
			"An isolation key is required by this node's options, but it is empty",
			'access_denied',
		);
	}
	return namespace(tenantPath(opened.tenant, isolationKey), scope, scopeId);
}

/**
 * A Memory with the item's retry policy and store timeout, cancelled with the execution. Its access policy is the
 * node's Options (Readable / Writable Scopes) unless `access` is given (the Planner's checkpoints).
 */
export function memoryFor(
	opened: OpenedStore,
	settings: ItemSettings,
	access?: AccessPolicy,
): Memory {
	const options = settings.options as { readScopes?: Scope[]; writeScopes?: Scope[] };
	return new Memory({
		store: opened.store,
		retry: settings.retryPolicy,
		signal: settings.signal,
		timeoutMs: storeTimeoutMs(settings.options),
		policy: access ?? {
			read: options.readScopes ?? SCOPES,
			write: options.writeScopes ?? SCOPES,
			requireTenant: false,
		},
	});
}
