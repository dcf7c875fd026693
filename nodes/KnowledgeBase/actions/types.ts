import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { LlmConfig } from '../../../lib/llm';
import type { ChromaConnection } from '../../../lib/rag';

/** Resources read once per node run. */
export interface RunContext {
	fn: IExecuteFunctions;
	connection: ChromaConnection;
	/** Loaded for operations that embed or answer. */
	llm?: LlmConfig;
	continueOnFail: boolean;
}

/** Per-item operations return the item's output JSON. */
export type ItemOperation = (run: RunContext, itemIndex: number) => Promise<IDataObject>;

/** Batch operations (Ingest) return per input item its output JSON or the Error it failed with, in item order; without continueOnFail they stop at the first failure (later items unset). */
export type BatchOperation = (
	run: RunContext,
	itemCount: number,
) => Promise<Array<IDataObject | Error>>;
