/** Why a knowledge-base call failed; nodes put `code` on continueOnFail error items. */
export type RagErrorCode =
	| 'EMPTY_DOCUMENT'
	| 'UNSUPPORTED_FORMAT'
	| 'INVALID_ENCODING'
	| 'PDF_WITHOUT_TEXT'
	| 'DOCUMENT_TOO_LARGE'
	| 'INVALID_DOCUMENT'
	| 'INVALID_NAME'
	| 'INVALID_OPTIONS'
	| 'INVALID_FILTER'
	| 'UNKNOWN_KNOWLEDGE_BASE'
	| 'DIMENSION_MISMATCH'
	| 'STORE_UNAVAILABLE'
	| 'STORE_ERROR';

export class RagError extends Error {
	override name = 'RagError';

	constructor(
		readonly code: RagErrorCode,
		message: string,
		options?: { cause?: unknown },
	) {
		super(message, options);
	}
}
