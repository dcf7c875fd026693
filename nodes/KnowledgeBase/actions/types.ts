import type { IExecuteFunctions } from 'n8n-workflow';

import type { LlmConfig } from '../../../lib/llm';
import type { ChromaConnection } from '../../../lib/rag';
import type { Operation } from '../../shared/runtime/itemLoop';
import type { ModelItemSettings } from '../../shared/runtime/itemSettings';

/** What the Knowledge Base reads once per run: its Chroma connection and, for operations that embed, its LLM API. */
export interface KnowledgeBaseRun {
	fn: IExecuteFunctions;
	connection: ChromaConnection;
	/** Loaded for operations that embed or answer. */
	llm?: LlmConfig;
}

export type KnowledgeBaseOperation = Operation<KnowledgeBaseRun, ModelItemSettings>;
