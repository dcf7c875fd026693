/**
 * Per-item retrieval from a knowledge base: Knowledge Base Query and Answer, the Knowledge Base Tool, the Agent's
 * built-in search. Reads the item's Knowledge Base, Search Mode, Top K, Rerank Results and Options.
 */
import { NodeConnectionTypes, NodeOperationError, type IDataObject } from 'n8n-workflow';

import {
	createEmbeddings,
	rerankWithApi,
	type LlmConfig,
	type UsageTracker,
} from '../../../lib/llm';
import {
	RagError,
	retrieve,
	type ChromaConnection,
	type Reranker,
	type RetrievalOptions,
	type RetrievedChunk,
	type SearchMode,
} from '../../../lib/rag';
import { chromaStore } from '../clients/chroma';
import { sharedKeywordIndexFor } from '../clients/keywordIndex';
import { toRetrievalOptions } from '../fields/knowledgeBase';
import { locatorValue } from '../fields/locators';
import { llmCallOptions } from '../clients/llmApi';
import type { ItemSettings, NodeFunctions } from '../runtime/itemSettings';

/** Which knowledge base to search, and how: by default the item's parameters. */
export interface RetrievalParams {
	knowledgeBase: string;
	topK: number;
	mode: SearchMode;
	/** 'none', 'subNode' (the connected reranker) or 'api' (the LLM API's /rerank). */
	reranker: string;
	options: IDataObject;
}

function retrievalParamsOf(fn: NodeFunctions, settings: ItemSettings): RetrievalParams {
	const { itemIndex } = settings;
	return {
		knowledgeBase: locatorValue(fn.getNodeParameter('knowledgeBase', itemIndex)),
		topK: fn.getNodeParameter('topK', itemIndex, 4) as number,
		mode: fn.getNodeParameter('searchMode', itemIndex, 'hybrid') as SearchMode,
		reranker: fn.getNodeParameter('reranker', itemIndex, 'none') as string,
		options: settings.options,
	};
}

/** What retrieval needs besides the item: the node's context, its Chroma connection and LLM credential (for embeddings). */
interface RetrievalContext {
	fn: NodeFunctions;
	connection: ChromaConnection;
	llm: LlmConfig;
	/** Counts the rerank API's calls. */
	usage?: UsageTracker;
}

/** A LangChain document compressor, as n8n's reranker sub-nodes supply it (Reranker Cohere, …). */
interface DocumentCompressor {
	compressDocuments(
		documents: Array<{ pageContent: string; metadata: Record<string, unknown> }>,
		query: string,
	): Promise<Array<{ pageContent: string; metadata: Record<string, unknown> }>>;
}

/**
 * The reranker the item asks for, or undefined. A sub-node's compressor scores what it returns by
 * metadata.relevanceScore (else by its order); documents it leaves out rank last.
 */
async function rerankerFor(
	{ fn, llm, usage }: RetrievalContext,
	settings: ItemSettings,
	params: RetrievalParams,
): Promise<RetrievalOptions['rerank']> {
	const candidates = Math.max(params.topK, Number(params.options.rerankCandidates ?? 20));
	if (params.reranker === 'api') {
		const model = String(params.options.rerankModel ?? '').trim();
		if (!model)
			throw new RagError(
				'INVALID_OPTIONS',
				'Rerank Results is "With the LLM API": set Options → Rerank Model',
			);
		const options = { ...llmCallOptions(settings, llm), usage };
		const reranker: Reranker = {
			rerank: (query, documents) => rerankWithApi(llm, model, query, documents, options),
		};
		return { reranker, candidates };
	}
	if (params.reranker !== 'subNode') return undefined;
	const connected = (await fn.getInputConnectionData(
		NodeConnectionTypes.AiReranker,
		settings.itemIndex,
	)) as DocumentCompressor | undefined;
	// n8n itself refuses a missing one (the input is required); anything else on that input is not a reranker.
	if (typeof connected?.compressDocuments !== 'function') {
		throw new NodeOperationError(fn.getNode(), 'The node connected to Reranker is not a reranker', {
			itemIndex: settings.itemIndex,
		});
	}
	const reranker: Reranker = {
		async rerank(query, documents) {
			const kept = await connected.compressDocuments(
				documents.map((pageContent, index) => ({ pageContent, metadata: { index } })),
				query,
			);
			const scores = documents.map(() => -Infinity);
			kept.forEach((document, rank) => {
				const score = Number(document.metadata.relevanceScore);
				scores[Number(document.metadata.index)] = Number.isFinite(score)
					? score
					: kept.length - rank;
			});
			return scores;
		},
	};
	return { reranker, candidates };
}

/** Chunks for `query`, best first, under the item's Retry Policy; throws RagError (e.g. UNKNOWN_KNOWLEDGE_BASE). */
export async function retrieveForItem(
	context: RetrievalContext,
	settings: ItemSettings,
	query: string,
	params: RetrievalParams = retrievalParamsOf(context.fn, settings),
): Promise<RetrievedChunk[]> {
	const { connection, llm } = context;
	const keywordIndex = await sharedKeywordIndexFor(context.fn, settings.itemIndex);
	const kb = await chromaStore(connection, settings, keywordIndex).open(params.knowledgeBase);
	const embeddings = createEmbeddings(llm, {
		model: locatorValue(params.options.embeddingModel) || undefined,
		purpose: 'query',
	});
	return retrieve(kb, embeddings, query, {
		...toRetrievalOptions(params.topK, params.options, params.mode),
		rerank: await rerankerFor(context, settings, params),
		embedding: llmCallOptions(settings, llm),
	});
}
