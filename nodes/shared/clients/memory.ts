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
import {
	credentialStoreAddress,
	DEFAULT_STORE_TIMEOUT_MS,
	inProcessStore,
	storeFromCredential,
} from './memoryStore';

/** A store and the boundary its credential draws: every namespace of this node run lies inside `tenant`. */
export interface OpenedStore {
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

/**
 * Hints for the codes of a memory store failure (lib/memory's storeFailureCode: MemoryError store_timeout and
 * store_unavailable), for every node that uses a store: Memory, Agent (Chat Memory, memory tools), Planner.
 */
export const STORE_FAILURE_HINTS = {
	store_timeout:
		'The memory store named in the message did not answer in time: check its load, or raise Options → Timeout and the Retry Policy of the node (or Chat Memory sub-node) that uses it.',
	store_unavailable:
		'The memory store named in the message could not be reached: check that the Redis or Postgres server is up and reachable, and the host, port, password and TLS of the OpenAgents Memory Store API credential.',
};

/**
 * The store chosen by the "Store" parameter. `onFirstUse`: connect on the store's first call instead of now (see
 * StoreOnFirstUse). Throws MemoryError "Cannot open the memory store…": store_unavailable or store_timeout for a
 * server that cannot be connected to (naming it), unsupported for the in-process store in queue mode,
 * invalid_address for a bad prefix; NodeOperationError when the credential cannot be read.
 */
export async function openStore(
	fn: NodeFunctions,
	{ onFirstUse = false }: { onFirstUse?: boolean } = {},
): Promise<OpenedStore> {
	try {
		if (fn.getNodeParameter('store', 0) === 'inProcess') {
			return { store: inProcessStore(), tenant: '', allowIsolationKeys: true };
		}
		const c = await fn.getCredentials('openAgentsMemoryStore');
		const timeoutMs = storeTimeoutMs(fn.getNodeParameter('options', 0, {}) as IDataObject);
		const open = () =>
			storeFromCredential(c, { timeoutMs, log: nodeLog(fn) }).catch((error: unknown) => {
				throw cannotOpen(fn, error);
			});
		const kind = c.backend === 'postgres' ? 'postgres' : 'redis';
		return {
			store: onFirstUse ? new StoreOnFirstUse(kind, credentialStoreAddress(c), open) : await open(),
			tenant: String(c.tenant ?? ''),
			allowIsolationKeys: c.allowIsolationKeys === true,
		};
	} catch (error) {
		throw cannotOpen(fn, error);
	}
}

/** An error of opening a store, saying so: a MemoryError keeps its code (the failed item's), others get a hint. */
function cannotOpen(fn: NodeFunctions, error: unknown): Error {
	const message = (error as Error).message;
	if (message?.startsWith('Cannot open the memory store')) return error as Error;
	if (error instanceof MemoryError)
		return new MemoryError(`Cannot open the memory store: ${message}`, error.code, {
			cause: error,
		});
	return new NodeOperationError(fn.getNode(), `Cannot open the memory store: ${message}`, {
		description:
			'Check the OpenAgents Memory Store API credential (host, port, password, TLS) or choose another store.',
	});
}

/**
 * A store that connects on its first call: for the Chat Memory sub-node, so that a server that cannot be reached
 * fails the agent's memory call with its code (store_unavailable, through the failed-item rule of the agent) instead
 * of the sub-node's setup, which n8n reports as "Error in sub-node" without it. A failed opening is tried again by
 * the next call.
 */
class StoreOnFirstUse implements MemoryStore {
	private opened?: Promise<MemoryStore>;

	constructor(
		readonly kind: MemoryStore['kind'],
		readonly address: string,
		private readonly open: () => Promise<MemoryStore>,
	) {}

	private store(): Promise<MemoryStore> {
		this.opened ??= this.open().catch((error: unknown) => {
			this.opened = undefined;
			throw error;
		});
		return this.opened;
	}

	async get(...args: Parameters<MemoryStore['get']>) {
		return (await this.store()).get(...args);
	}

	async set(...args: Parameters<MemoryStore['set']>) {
		return (await this.store()).set(...args);
	}

	async delete(...args: Parameters<MemoryStore['delete']>) {
		return (await this.store()).delete(...args);
	}

	async list(...args: Parameters<MemoryStore['list']>) {
		return (await this.store()).list(...args);
	}

	async increment(...args: Parameters<MemoryStore['increment']>) {
		return (await this.store()).increment(...args);
	}

	async append(...args: Parameters<MemoryStore['append']>) {
		return (await this.store()).append(...args);
	}

	async appendMessages(...args: Parameters<MemoryStore['appendMessages']>) {
		return (await this.store()).appendMessages(...args);
	}

	async readMessages(...args: Parameters<MemoryStore['readMessages']>) {
		return (await this.store()).readMessages(...args);
	}

	async close(): Promise<void> {
		const store = await this.opened?.catch(() => undefined);
		await store?.close();
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
 * The item's tenant: the credential's, with the item's Isolation Key below it (tenantPath). Throws MemoryError
 * access_denied for an Isolation Key the credential does not allow, or a missing one the node's options require.
 */
export function resolveTenant(
	fn: NodeFunctions,
	opened: OpenedStore,
	settings: ItemSettings,
): string {
	const isolationKey = fn.getNodeParameter('isolationKey', settings.itemIndex, '');
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
	return tenantPath(opened.tenant, isolationKey);
}

/**
 * The item's namespace, always inside the credential's tenant (see resolveTenant); an empty scope ID means the
 * current workflow or execution for those scopes.
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
	return namespace(resolveTenant(fn, opened, settings), scope, scopeId);
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
