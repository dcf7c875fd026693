import {
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { nodeCodex } from '../shared/fields/codex';
import codex from './OpenAgentsKnowledgeBase.node.json';
import * as answer from './actions/answer';
import * as del from './actions/delete';
import * as evaluate from './actions/evaluate';
import * as ingest from './actions/ingest';
import * as query from './actions/query';
import { route } from './actions/router';
import { traced } from '../shared/runtime/nodeTracing';
import { llmApiCredentialTest } from '../shared/clients/llmApi';
import { memoryStoreCredentialTest } from '../shared/clients/memoryStore';
import * as stats from './actions/stats';
import { knowledgeBaseFields, RERANKER_INPUT } from '../shared/fields/knowledgeBase';
import {
	searchKnowledgeBases,
	searchChatModels,
	searchEmbeddingModels,
} from '../shared/methods/listSearch';
import { KNOWLEDGE_BASE_IN_SUBTITLE, PICKER_NODE_VERSIONS } from '../shared/fields/locators';
import { retryPolicyProperty } from '../shared/fields/retryPolicy';

/** Evaluate's outputs (n8n expression text): the questions, then their summary. */
const EVALUATE_OUTPUTS = JSON.stringify([
	{ type: 'main', displayName: 'Questions' },
	{ type: 'main', displayName: 'Summary' },
]);

// Not usableAsTool: agents search through the Knowledge Base Tool sub-node, and n8n would name this node's generated
// tool variant openAgentsKnowledgeBaseTool too; its editor then shows that variant in place of the sub-node
// (an exception to n8n's rule, listed in scripts/n8n-rule-exceptions.json).
export class OpenAgentsKnowledgeBase implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'OpenAgents Knowledge Base',
		name: 'openAgentsKnowledgeBase',
		icon: { light: 'file:knowledgeBase.svg', dark: 'file:knowledgeBase.dark.svg' },
		group: ['transform'],
		version: PICKER_NODE_VERSIONS,
		subtitle: `={{ $parameter["operation"] + ": " + ${KNOWLEDGE_BASE_IN_SUBTITLE} }}`,
		description:
			'RAG on ChromaDB: ingest documents idempotently, search them, and answer questions with citations',
		defaults: { name: 'Knowledge Base' },
		codex: nodeCodex(codex),
		// Query, Answer and Evaluate take a reranker sub-node when Rerank Results asks for one.
		inputs: `={{ ['query', 'answer', 'evaluate'].includes($parameter.operation) && $parameter.reranker === 'subNode' ? ['main', ${RERANKER_INPUT}] : ['main'] }}`,
		// Evaluate: per-question items (one metric row each, as n8n's Set Metrics takes them) apart from their summary.
		outputs: `={{ $parameter.operation === 'evaluate' ? ${EVALUATE_OUTPUTS} : ['main'] }}`,
		credentials: [
			{ name: 'openAgentsChromaApi', displayName: 'Chroma', required: true },
			{
				name: 'openAgentsLlmApi',
				displayName: 'LLM API (Embeddings and Answers)',
				required: true,
				testedBy: 'openAgentsLlmApiTest',
				displayOptions: { show: { operation: ['ingest', 'query', 'answer', 'evaluate'] } },
			},
			{
				name: 'openAgentsMemoryStore',
				displayName: 'Memory Store (Shared Keyword Index)',
				required: true,
				testedBy: 'openAgentsMemoryStoreTest',
				displayOptions: {
					show: {
						keywordIndex: ['redis'],
						operation: ['ingest', 'delete', 'query', 'answer', 'evaluate'],
					},
				},
			},
			{ name: 'openAgentsTracingApi', displayName: 'Tracing (Optional)', required: false },
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Answer',
						value: 'answer',
						action: 'Answer a question with citations',
						description:
							'Retrieve chunks, then have the chat model answer from them only, citing [n]',
					},
					{
						name: 'Delete',
						value: 'delete',
						action: 'Delete chunks or a knowledge base',
						description: 'Delete by source, by metadata filter, or everything',
					},
					{
						name: 'Evaluate',
						value: 'evaluate',
						action: 'Evaluate retrieval on test questions',
						description:
							'Rank of the expected sources per search mode for each question, then hit@1/4/10, MRR and latency per mode',
					},
					{
						name: 'Ingest',
						value: 'ingest',
						action: 'Ingest a document',
						description: 'Load, chunk, embed and store a document; unchanged chunks are skipped',
					},
					{
						name: 'Query',
						value: 'query',
						action: 'Search the knowledge base',
						description: 'Top-k similarity search with filters, minimum score and MMR',
					},
					{
						name: 'Stats',
						value: 'stats',
						action: 'Get knowledge base stats',
						description: 'Count chunks and sources',
					},
				],
				default: 'ingest',
			},
			...knowledgeBaseFields,
			...ingest.description,
			...query.description,
			...answer.description,
			...del.description,
			...evaluate.description,
			...stats.description,
			retryPolicyProperty,
		],
	};

	methods = {
		credentialTest: {
			openAgentsLlmApiTest: llmApiCredentialTest,
			openAgentsMemoryStoreTest: memoryStoreCredentialTest,
		},
		listSearch: { searchKnowledgeBases, searchChatModels, searchEmbeddingModels },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return traced(this, () => route.call(this));
	}
}
