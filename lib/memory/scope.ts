import { MemoryError } from './errors';
import { encodeComponent } from './keys';

/**
 * Where a value lives. `global`: the whole tenant; `workflow`: one workflow (scope id = workflow id);
 * `execution`: one execution (execution id); `session`: a user or chat session (session key); `agent`: one agent
 * of a workflow (agent name); `custom`: any namespace the user names.
 */
export const SCOPES = ['global', 'workflow', 'execution', 'session', 'agent', 'custom'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * Scopes this package keeps for itself (Planner checkpoints, the Job Monitor's execution index, long-term memory's
 * facts — one namespace per subject): namespace() refuses them, so no node parameter or expression can address
 * them; only internalNamespace() builds one.
 */
const INTERNAL_SCOPES = ['plan-run', 'job-analytics', 'facts'] as const;
export type InternalScope = (typeof INTERNAL_SCOPES)[number];

/** A namespace: every key lives in exactly one. `scopeId` is '' for `global`. */
export interface Namespace {
	tenant: string;
	scope: Scope | InternalScope;
	scopeId: string;
}

/** Length limits, in characters. */
export const LIMITS = { tenant: 1024, scopeId: 1024, key: 512 } as const;

/**
 * The tenant of a namespace built from a credential's tenant and, below it, an isolation key (either may be empty).
 * Injective: each part is encoded (see encodeComponent), so no pair of values can produce another pair's tenant.
 */
export function tenantPath(credentialTenant: string, isolationKey = ''): string {
	return `${encodeComponent(credentialTenant)}/${encodeComponent(isolationKey)}`;
}

/** A namespace in one of the internal scopes; `scopeId` is required. Throws MemoryError('invalid_address'). */
export function internalNamespace(
	tenant: string,
	scope: InternalScope,
	scopeId: string,
): Namespace {
	if (!INTERNAL_SCOPES.includes(scope))
		throw new MemoryError(`Unknown internal scope "${scope}"`, 'invalid_address');
	checkLength('The tenant', tenant, LIMITS.tenant);
	checkLength('The scope ID', scopeId, LIMITS.scopeId);
	if (!scopeId) throw new MemoryError(`The ${scope} scope needs a scope ID`, 'invalid_address');
	return { tenant, scope, scopeId };
}

function checkLength(what: string, value: string, max: number) {
	if (value.length > max)
		throw new MemoryError(
			`${what} is ${value.length} characters long; at most ${max} are allowed`,
			'invalid_address',
		);
}

/**
 * Validates and builds a namespace. tenant: any string (may be empty: no isolation prefix), ≤ 256 chars;
 * scopeId: required (non-empty) for every scope but `global`, where it must be empty; ≤ 512 chars.
 * Throws MemoryError('invalid_address').
 */
export function namespace(tenant: string, scope: Scope, scopeId = ''): Namespace {
	if (typeof tenant !== 'string')
		throw new MemoryError('The isolation key (tenant) must be a string', 'invalid_address');
	if (!(SCOPES as readonly string[]).includes(scope))
		throw new MemoryError(
			`Unknown scope "${String(scope)}" (use one of ${SCOPES.join(', ')})`,
			'invalid_address',
		);
	if (typeof scopeId !== 'string')
		throw new MemoryError('The scope ID must be a string', 'invalid_address');
	checkLength('The isolation key (tenant)', tenant, LIMITS.tenant);
	checkLength('The scope ID', scopeId, LIMITS.scopeId);
	if (scope === 'global' && scopeId !== '')
		throw new MemoryError('The global scope takes no scope ID', 'invalid_address');
	if (scope !== 'global' && scopeId === '')
		throw new MemoryError(`The ${scope} scope needs a scope ID`, 'invalid_address');
	return { tenant, scope, scopeId };
}

/**
 * Validates a key: a non-empty string of at most 512 characters without the NUL character (which Postgres text
 * cannot hold; refused by every store alike). Throws MemoryError('invalid_address').
 */
export function checkKey(key: string): string {
	if (typeof key !== 'string' || key === '')
		throw new MemoryError('The key must be a non-empty string', 'invalid_address');
	if (key.includes('\u0000'))
		throw new MemoryError(
			'The key contains the NUL character (\\u0000), which is not allowed',
			'invalid_address',
		);
	checkLength('The key', key, LIMITS.key);
	return key;
}
