/** Why a Job Monitor call failed; nodes put `code` on continueOnFail error items. */
export type JobsErrorCode =
	| 'UNAUTHORIZED'
	| 'FORBIDDEN'
	| 'NOT_FOUND'
	| 'CONFLICT'
	| 'API_UNAVAILABLE'
	| 'API_ERROR'
	| 'NOT_RETRYABLE'
	| 'WAIT_TIMEOUT'
	| 'QUEUE_UNAVAILABLE'
	| 'INVALID_OPTIONS';

export class JobsError extends Error {
	override name = 'JobsError';

	constructor(
		readonly code: JobsErrorCode,
		message: string,
		options?: { cause?: unknown; status?: number },
	) {
		super(message, options);
		this.status = options?.status;
	}

	/** HTTP status of the n8n API response, when there was one. */
	readonly status?: number;
}
