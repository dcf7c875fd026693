/**
 * Runs the chosen operation over the items (runItems). Errors become NodeOperationError with the item index and a hint
 * for the cause, or error items ({ error, code }) with continueOnFail; every output item has pairedItem.
 */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { RagErrorCode } from '../../../lib/rag';
import { batchOutputs, operationSpan, runItems } from '../../shared/runtime/itemLoop';
import { readItemSettings } from '../../shared/runtime/itemSettings';
import { usageTracker } from '../../shared/runtime/usage';
import { llmConfigFromCredential } from '../../shared/clients/llmApi';
import { chromaConnection } from '../../shared/clients/chroma';
import * as answer from './answer';
import * as del from './delete';
import * as evaluate from './evaluate';
import * as ingest from './ingest';
import * as query from './query';
import * as stats from './stats';
import type { KnowledgeBaseOperation, KnowledgeBaseRun } from './types';

const operations: Record<string, KnowledgeBaseOperation> = {
	query: query.execute,
	answer: answer.execute,
	delete: del.execute,
	stats: stats.execute,
	evaluate: evaluate.execute,
};
const USES_LLM = new Set(['ingest', 'query', 'answer', 'evaluate']);

const HINTS: Partial<Record<RagErrorCode, string>> = {
	UNKNOWN_KNOWLEDGE_BASE: 'Check the name, or run Ingest first: it creates the knowledge base.',
	STORE_UNAVAILABLE:
		'Check the OpenAgents Chroma API credential URL and that the Chroma server is running.',
	DIMENSION_MISMATCH: 'A knowledge base keeps the embedding model it was built with.',
	PDF_WITHOUT_TEXT: 'Scanned PDFs need OCR before they can be ingested.',
	UNSUPPORTED_FORMAT:
		'Supported: plain text, Markdown, HTML, PDF (with a text layer) and JSON. Set "Document Format" if the type is not detected.',
	INVALID_FILTER:
		'Filters use Chroma\'s "where" syntax: {"field": value}, {"field": {"$in": [...]}}, {"$and": [...]}.',
};

/**
 * Ingest is the one batch operation of the package: documents of several items share embedding requests and Chroma
 * writes, so it runs its items itself (see actions/ingest.ts) and its results take the same failed-item rule.
 */
export async function route(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	const run: KnowledgeBaseRun = {
		fn: this,
		connection: await chromaConnection(this),
		llm: USES_LLM.has(operation) ? await llmConfigFromCredential(this) : undefined,
	};
	const errors = { hints: HINTS, fallback: `Knowledge Base "${operation}" failed.` };
	if (operation === 'ingest') return batchOutputs(this, await ingest.execute(run), errors);
	const outputs = await runItems(this, {
		errors,
		span: () => operationSpan(this, operation),
		settings: (itemIndex) => ({
			...readItemSettings(this, itemIndex),
			usage: usageTracker(run.llm),
		}),
		run: (settings) => operations[operation](run, settings),
		// Evaluate: the questions, then a summary of them on its second output.
		outputs: operation === 'evaluate' ? 2 : 1,
	});
	if (operation === 'evaluate') outputs[1].push(evaluate.summaryItem(run, outputs[0]));
	return outputs;
}
