import { MemoryError } from './errors';

/**
 * Where a value lives. `global`: the whole tenant; `workflow`: one workflow (scope id = workflow id);
 * `execution`: one execution (execution id); `session`: a user or chat session (session key); `agent`: one agent
 * of a workflow (agent name); `custom`: any namespace the user names.
 */
export const SCOPES = ['global', 'workflow', 'execution', 'session', 'agent', 'custom'] as const;
export type Scope = (typeof SCOPES)[number];

/** A namespace: every key lives in exactly one. `scopeId` is '' for `global`. */
export interface Namespace {
	tenant: string;
	scope: Scope;
	scopeId: string;
}

/** Length limits, in characters. */
export const LIMITS = { tenant: 256, scopeId: 512, key: 512 } as const;

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
	if (!SCOPES.includes(scope))
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
