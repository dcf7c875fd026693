/**
 * Runs the chosen operation over the items. Errors become NodeOperationError with the item index and a hint for the
 * cause, or error items ({ error, code }) with continueOnFail; every output item has pairedItem.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { RagErrorCode } from '../../../lib/rag';
import { OPENAGENTS } from '../../../lib/tracing';
import { traceItem } from '../../shared/tracing';
import { failedItem } from '../../shared/itemError';
import { llmConfigFromCredential } from '../../shared/llm';
import { chromaConnection } from '../../shared/chroma';
import * as answer from './answer';
import * as del from './delete';
import * as ingest from './ingest';
import * as query from './query';
import * as stats from './stats';
import type { BatchOperation, ItemOperation, RunContext } from './types';

const perItem: Record<string, ItemOperation> = {
	query: query.execute,
	answer: answer.execute,
	delete: del.execute,
	stats: stats.execute,
};
const batched: Record<string, BatchOperation> = { ingest: ingest.execute };
const USES_LLM = new Set(['ingest', 'query', 'answer']);

const HINTS: Partial<Record<RagErrorCode, string>> = {
	UNKNOWN_KNOWLEDGE_BASE: 'Check the name, or run Ingest first: it creates the knowledge base.',
	STORE_UNAVAILABLE:
		'Check the OpenAgents Chroma credential URL and that the Chroma server is running.',
	DIMENSION_MISMATCH: 'A knowledge base keeps the embedding model it was built with.',
	PDF_WITHOUT_TEXT: 'Scanned PDFs need OCR before they can be ingested.',
	UNSUPPORTED_FORMAT:
		'Supported: plain text, Markdown, HTML, PDF (with a text layer) and JSON. Set "Document Format" if the type is not detected.',
	INVALID_FILTER:
		'Filters use Chroma\'s "where" syntax: {"field": value}, {"field": {"$in": [...]}}, {"$and": [...]}.',
};

export async function route(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const itemCount = this.getInputData().length;
	const operation = this.getNodeParameter('operation', 0) as string;
	const run: RunContext = {
		fn: this,
		connection: await chromaConnection(this),
		llm: USES_LLM.has(operation) ? await llmConfigFromCredential(this) : undefined,
		continueOnFail: this.continueOnFail(),
	};

	let results: Array<IDataObject | Error>;
	if (batched[operation]) {
		results = await batched[operation](run, itemCount);
	} else {
		results = [];
		for (let itemIndex = 0; itemIndex < itemCount; itemIndex++) {
			try {
				results.push(
					await traceItem(
						itemIndex,
						`${operation} ${this.getNode().name}`,
						{ [OPENAGENTS.operation]: operation },
						() => perItem[operation](run, itemIndex),
					),
				);
			} catch (error) {
				results.push(error as Error);
				if (!run.continueOnFail) break;
			}
		}
	}

	const rule = { hints: HINTS, fallback: `Knowledge Base "${operation}" failed.` };
	return [
		results.map((result, itemIndex) =>
			result instanceof Error
				? failedItem(this, result, itemIndex, rule)
				: { json: result, pairedItem: { item: itemIndex } },
		),
	];
}
