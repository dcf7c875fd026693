/** Base class of every lib/memory error; `code` is stable for programs, `message` is for people. */
export class MemoryError extends Error {
	constructor(
		message: string,
		readonly code:
			| 'invalid_address'
			| 'access_denied'
			| 'invalid_value'
			| 'version_conflict'
			| 'not_found'
			| 'wrong_type'
			| 'unsupported'
			| 'store_timeout'
			| 'store_unavailable',
		options?: { cause?: unknown },
	) {
		super(message, options);
		this.name = 'MemoryError';
	}
}

/** Thrown by a compare-and-set whose expected version is not the stored one. */
export class VersionConflictError extends MemoryError {
	constructor(
		readonly key: string,
		readonly expectedVersion: number,
		readonly actualVersion: number,
	) {
		super(
			`Version conflict on "${key}": expected version ${expectedVersion}, found ${actualVersion}. Read it again and retry.`,
			'version_conflict',
		);
		this.name = 'VersionConflictError';
	}
}
