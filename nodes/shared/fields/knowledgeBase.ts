/** Parameters shared by several Knowledge Base operations (and the Knowledge Base Tool sub-node). */
import type { IDataObject, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { RagError, type Fusion, type RetrievalOptions, type SearchMode } from '../../../lib/rag';
import { embeddingModelOption, knowledgeBasePicker, versionedPicker } from './locators';
import { sortedByName } from './sortedByName';

const knowledgeBaseText: INodeProperties = {
	displayName: 'Knowledge Base',
	name: 'knowledgeBase',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'e.g. product-docs',
	description:
		'Name of the knowledge base (a Chroma collection): 3–512 letters, digits, ".", "_" or "-". Ingest creates it.',
};

/** Knowledge Base: typed at version 1, picked from the Chroma credential's collections from 1.1 (read with locatorValue). */
export const knowledgeBaseFields: INodeProperties[] = versionedPicker(
	knowledgeBaseText,
	knowledgeBasePicker(knowledgeBaseText),
);

export const topKField: INodeProperties = {
	displayName: 'Top K',
	name: 'topK',
	type: 'number',
	typeOptions: { minValue: 1, maxValue: 1000 },
	default: 4,
	description: 'How many chunks to retrieve',
};

/** The search modes, as Search Mode offers them (Evaluate compares several). */
export const SEARCH_MODE_OPTIONS: INodePropertyOptions[] = [
	{
		name: 'Hybrid',
		value: 'hybrid',
		description:
			'Both rankings fused (by default their normalised scores, mostly keyword): finds exact terms and paraphrases',
	},
	{
		name: 'Keyword (BM25)',
		value: 'keyword',
		description: 'Chunks containing the query words; exact names, options and error codes',
	},
	{
		name: 'Vector',
		value: 'vector',
		description: 'Chunks whose embedding is closest to the query',
	},
];

const searchModeField: INodeProperties = {
	displayName: 'Search Mode',
	name: 'searchMode',
	type: 'options',
	options: SEARCH_MODE_OPTIONS,
	default: 'hybrid',
	description:
		'How chunks are found. Hybrid suits most questions; every mode applies the metadata filter.',
};

export const rerankerField: INodeProperties = {
	displayName: 'Rerank Results',
	name: 'reranker',
	type: 'options',
	options: [
		{ name: 'No', value: 'none' },
		{
			name: 'With a Reranker Sub-Node',
			value: 'subNode',
			description: "A reranker connected to the Reranker input (e.g. n8n's Reranker Cohere)",
		},
		{
			name: 'With the LLM API (/Rerank)',
			value: 'api',
			description:
				"The credential's server /rerank endpoint (vLLM, Infinity, Jina, Cohere-compatible); set Options → Rerank Model",
		},
	],
	default: 'none',
	description:
		'Whether a reranker (cross-encoder) reorders the best candidates before the top K are taken',
};

/** Options of Query, Answer and the tool: search tuning, filter, minimum score, reranking, MMR, embedding model. */
export const retrievalOptions: INodeProperties[] = [
	...embeddingModelOption(
		"Overrides the credential's embedding model. Must be the model the knowledge base was built with.",
	),
	{
		displayName: 'Fusion (Hybrid)',
		name: 'fusion',
		type: 'options',
		options: [
			{
				name: 'Convex Combination',
				value: 'convex',
				description:
					'Normalised BM25 and cosine scores added with the keyword weight: a weak vector ranking cannot push a strong keyword match down',
			},
			{
				name: 'Reciprocal Rank Fusion',
				value: 'rrf',
				description: 'Each ranking adds weight / (k + rank): ranks only, scores ignored',
			},
		],
		default: 'convex',
		description: 'Hybrid only: how the keyword and the vector ranking are fused',
		displayOptions: { show: { '/searchMode': ['hybrid'] } },
	},
	{
		displayName: 'Keyword Weight (Hybrid)',
		name: 'keywordWeight',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 },
		default: 0.8,
		description:
			"Hybrid only: the keyword ranking's share of the fused score (0 = vector only, 1 = keyword only). Default 0.8 with Convex Combination, 0.5 with Reciprocal Rank Fusion when not set.",
		displayOptions: { show: { '/searchMode': ['hybrid'] } },
	},
	{
		displayName: 'RRF K (Hybrid)',
		name: 'rrfK',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 60,
		description:
			'Hybrid with Reciprocal Rank Fusion only: a chunk at rank r of a list adds weight / (k + r). Higher k flattens the difference between top ranks.',
		displayOptions: { show: { '/searchMode': ['hybrid'] } },
	},
	{
		displayName: 'Rerank Candidates',
		name: 'rerankCandidates',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 20,
		description: 'How many of the best chunks the reranker scores (at least Top K)',
		displayOptions: { hide: { '/reranker': ['none'] } },
	},
	{
		displayName: 'Rerank Model',
		name: 'rerankModel',
		type: 'string',
		default: '',
		placeholder: 'e.g. BAAI/bge-reranker-v2-m3',
		description: "The reranking model of the LLM API credential's server",
		displayOptions: { show: { '/reranker': ['api'] } },
	},
	{
		displayName: 'Fetch K (MMR)',
		name: 'fetchK',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 20,
		description: 'MMR only: candidates fetched before re-ranking (at least Top K)',
		displayOptions: { show: { useMmr: [true] } },
	},
	{
		displayName: 'Metadata Filter',
		name: 'metadataFilter',
		type: 'json',
		default: '{}',
		description:
			'Chroma "where" filter on chunk metadata, e.g. {"source": "guide.md"} or {"$and": [{"lang": "en"}, {"year": {"$gte": 2024}}]}. Every chunk has source, format, chunkIndex, start, end, headingPath (and page for PDFs) plus your own metadata.',
	},
	{
		displayName: 'Minimum Score',
		name: 'minScore',
		type: 'number',
		typeOptions: { minValue: -1, maxValue: 1, numberPrecision: 2 },
		default: 0,
		description:
			'Leave out chunks whose cosine similarity to the query is lower (−1 to 1; 0 keeps all related chunks), in every search mode',
	},
	{
		displayName: 'MMR Diversity (Lambda)',
		name: 'mmrLambda',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 },
		default: 0.5,
		description: 'MMR only: 1 = relevance only, 0 = diversity only',
		displayOptions: { show: { useMmr: [true] } },
	},
	{
		displayName: 'Use MMR',
		name: 'useMmr',
		type: 'boolean',
		default: false,
		description:
			'Whether to re-rank with Maximal Marginal Relevance, so near-duplicate chunks give way to different ones',
	},
];

/**
 * Where Query, Answer, Evaluate and the Knowledge Base Tool keep keyword search's index: in each n8n process (the
 * default), or shared in the Redis of an OpenAgents Memory Store credential (lib/rag/shared-keyword-index.ts).
 */
export const keywordIndexField: INodeProperties = {
	displayName: 'Keyword Index',
	name: 'keywordIndex',
	type: 'options',
	options: [
		{
			name: 'In Each Worker',
			value: 'worker',
			description:
				'Each n8n process builds its own from Chroma at its first keyword search and keeps it in memory',
		},
		{
			name: 'Shared in Redis',
			value: 'redis',
			description:
				"Built once for every worker in the Memory Store credential's Redis; for large knowledge bases and many workers",
		},
	],
	default: 'worker',
	description:
		'Where keyword and hybrid search keep their BM25 index. Shared in Redis spares each new worker the build from Chroma and the memory it holds.',
};

/** Keyword Index on the operations that write (Ingest, Delete): the same choice, said from the writer's side. */
export const keywordIndexWriteField: INodeProperties = {
	...keywordIndexField,
	description:
		"Where keyword search keeps this knowledge base's BM25 index: set it as the nodes that search it do. Shared in Redis: this write updates the shared index as it is made, so no worker re-reads it from Chroma.",
};

/**
 * The retrieval parameters of Query, Answer and the Knowledge Base Tool: Search Mode, Keyword Index, Top K, Rerank Results and
 * Options (the retrieval options plus `moreOptions`, by name).
 */
export function retrievalFields(moreOptions: INodeProperties[] = []): INodeProperties[] {
	return [
		searchModeField,
		keywordIndexField,
		topKField,
		rerankerField,
		{
			displayName: 'Options',
			name: 'options',
			type: 'collection',
			placeholder: 'Add Option',
			default: {},
			options: sortedByName([...moreOptions, ...retrievalOptions]),
		},
	];
}

/** A JSON parameter value (object from an expression, or JSON text) as an object; `{}` and '' mean none. */
export function jsonObject(value: unknown, what: string): IDataObject | undefined {
	if (typeof value === 'string' && !value.trim()) return undefined;
	let parsed = value;
	let invalid: string | undefined;
	if (typeof value === 'string') {
		try {
			parsed = JSON.parse(value);
		} catch (error) {
			invalid = (error as Error).message;
		}
	}
	if (invalid) throw new RagError('INVALID_OPTIONS', `${what} is not valid JSON: ${invalid}`);
	if (parsed === null || parsed === undefined) return undefined;
	if (typeof parsed !== 'object' || Array.isArray(parsed))
		throw new RagError('INVALID_OPTIONS', `${what} must be a JSON object`);
	return Object.keys(parsed).length ? (parsed as IDataObject) : undefined;
}

/** lib/rag retrieval options from the node's Search Mode, Top K and Options values (reranking is added by the caller). */
export function toRetrievalOptions(
	topK: number,
	options: IDataObject,
	mode: SearchMode = 'hybrid',
): RetrievalOptions {
	return {
		topK,
		mode,
		hybrid: {
			fusion: options.fusion as Fusion | undefined,
			keywordWeight: options.keywordWeight as number | undefined,
			rrfK: options.rrfK as number | undefined,
		},
		where: jsonObject(options.metadataFilter, 'Metadata Filter') as RetrievalOptions['where'],
		minScore: typeof options.minScore === 'number' ? options.minScore : undefined,
		mmr: options.useMmr
			? {
					lambda: (options.mmrLambda as number) ?? 0.5,
					fetchK: Math.max(topK, (options.fetchK as number) ?? 20),
				}
			: undefined,
	};
}

/** The Reranker input of Query, Answer and the tool (n8n expression text), present when Rerank Results asks for it. */
export const RERANKER_INPUT = JSON.stringify({
	type: 'ai_reranker',
	displayName: 'Reranker',
	maxConnections: 1,
	required: true,
});
