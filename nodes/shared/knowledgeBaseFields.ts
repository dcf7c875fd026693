/** Parameters shared by several Knowledge Base operations (and the Knowledge Base Tool sub-node). */
import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { RagError, type RetrievalOptions } from '../../lib/rag';

export const knowledgeBaseField: INodeProperties = {
	displayName: 'Knowledge Base',
	name: 'knowledgeBase',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'e.g. product-docs',
	description:
		'Name of the knowledge base (a Chroma collection): 3–512 letters, digits, ".", "_" or "-". Ingest creates it.',
};

export const topKField: INodeProperties = {
	displayName: 'Top K',
	name: 'topK',
	type: 'number',
	typeOptions: { minValue: 1, maxValue: 1000 },
	default: 4,
	description: 'How many chunks to retrieve',
};

/** Options of Query, Answer and the tool: filter, minimum score, MMR, embedding model. */
export const retrievalOptions: INodeProperties[] = [
	{
		displayName: 'Embedding Model',
		name: 'embeddingModel',
		type: 'string',
		default: '',
		description:
			"Overrides the credential's embedding model. Must be the model the knowledge base was built with.",
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
			'Leave out chunks whose cosine similarity to the query is lower (−1 to 1; 0 keeps all related chunks)',
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

/** lib/rag retrieval options from the node's Top K and Options values. */
export function toRetrievalOptions(topK: number, options: IDataObject): RetrievalOptions {
	return {
		topK,
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
