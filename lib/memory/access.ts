import { MemoryError } from './errors';
import { SCOPES, type InternalScope, type Namespace, type Scope } from './scope';

/**
 * What one node instance may do: the scopes it may read and write, and whether it must name a tenant
 * (isolation key) for every call. A violation throws MemoryError('access_denied') naming the scope.
 */
export interface AccessPolicy {
	read: readonly (Scope | InternalScope)[];
	write: readonly (Scope | InternalScope)[];
	requireTenant: boolean;
}

export const FULL_ACCESS: AccessPolicy = { read: SCOPES, write: SCOPES, requireTenant: false };

export function checkAccess(policy: AccessPolicy, mode: 'read' | 'write', ns: Namespace): void {
	if (policy.requireTenant && ns.tenant === '') {
		throw new MemoryError(
			"An isolation key (tenant) is required by this node's access policy, but it is empty",
			'access_denied',
		);
	}
	const allowed = mode === 'read' ? policy.read : policy.write;
	if (!allowed.includes(ns.scope)) {
		throw new MemoryError(
			`This node may not ${mode} the ${ns.scope} scope (allowed to ${mode}: ${allowed.length ? allowed.join(', ') : 'none'})`,
			'access_denied',
		);
	}
}
