/**
 * List search methods behind the pickers (nodes/shared/locators.ts). A picker asks once and fails fast: no retries
 * and a 15 s limit, and a failure is thrown as a NodeOperationError that n8n shows inside the dropdown (the panel
 * stays usable; By Name / By ID still work).
 */
import {
	NodeOperationError,
	type ILoadOptionsFunctions,
	type INodeListSearchItems,
	type INodeListSearchResult,
} from 'n8n-workflow';

import { listModels, type ListedModel } from '../../../lib/llm';
import { ChromaKnowledgeStore } from '../../../lib/rag';
import { NoRetryPolicy } from '../../../lib/retry';
import { chromaConnection } from '../clients/chroma';
import { llmConfigFromCredential } from '../clients/llmApi';
import { n8nApiClientWith } from '../clients/n8nApi';

const PICKER_TIMEOUT_MS = 15_000;

async function orPickerError<T>(
	fn: ILoadOptionsFunctions,
	credential: string,
	load: () => Promise<T>,
): Promise<T> {
	try {
		return await load();
	} catch (error) {
		const message = error instanceof Error ? error.message : String(error);
		throw new NodeOperationError(fn.getNode(), `Could not load the list: ${message}`, {
			description: `Check the ${credential} credential, or switch to typing the value.`,
		});
	}
}

/** Knowledge bases of the Chroma credential, "name (N chunks)", filtered by name. */
export async function searchKnowledgeBases(
	this: ILoadOptionsFunctions,
	filter?: string,
): Promise<INodeListSearchResult> {
	return orPickerError(this, 'Chroma', async () => {
		const store = new ChromaKnowledgeStore(await chromaConnection(this), {
			policy: new NoRetryPolicy(),
			timeoutMs: PICKER_TIMEOUT_MS,
		});
		const found = await store.summaries(filter);
		return {
			results: found.map(({ name, chunks }) => ({
				name: `${name} (${chunks} ${chunks === 1 ? 'chunk' : 'chunks'})`,
				value: name,
			})),
		};
	});
}

/**
 * The server's models filtered by id; the ones that look like the kind asked for come first (ids with "embed" are
 * embedding models by every provider's naming), and the credential's default is marked.
 */
async function searchModels(
	fn: ILoadOptionsFunctions,
	kind: 'chat' | 'embedding',
	filter = '',
): Promise<INodeListSearchResult> {
	return orPickerError(fn, 'LLM API', async () => {
		const llm = await llmConfigFromCredential(fn);
		const models = await listModels(llm, {
			policy: new NoRetryPolicy(),
			timeoutMs: PICKER_TIMEOUT_MS,
		});
		const needle = filter.trim().toLowerCase();
		const isEmbedding = (m: ListedModel) => /embed/i.test(m.id);
		const wanted = (m: ListedModel) => isEmbedding(m) === (kind === 'embedding');
		const preset = kind === 'chat' ? llm.chatModel : llm.embeddingModel;
		const results: INodeListSearchItems[] = models
			.filter((m) => m.id.toLowerCase().includes(needle))
			.sort((a, b) => Number(wanted(b)) - Number(wanted(a)))
			.map((m) => ({
				name: m.id === preset ? `${m.id} (credential default)` : m.id,
				value: m.id,
				description: m.ownedBy,
			}));
		return { results };
	});
}

export async function searchChatModels(
	this: ILoadOptionsFunctions,
	filter?: string,
): Promise<INodeListSearchResult> {
	return searchModels(this, 'chat', filter);
}

export async function searchEmbeddingModels(
	this: ILoadOptionsFunctions,
	filter?: string,
): Promise<INodeListSearchResult> {
	return searchModels(this, 'embedding', filter);
}

/** Workflows the n8n API credential sees, by name (page by page: n8n's cursor is the pagination token). */
export async function searchWorkflows(
	this: ILoadOptionsFunctions,
	filter?: string,
	paginationToken?: string,
): Promise<INodeListSearchResult> {
	return orPickerError(this, 'n8n API', async () => {
		const client = await n8nApiClientWith(this, {
			policy: new NoRetryPolicy(),
			timeoutMs: PICKER_TIMEOUT_MS,
		});
		const page = await client.listWorkflows({ name: filter, cursor: paginationToken });
		const n8nUrl = client.n8nUrl();
		return {
			results: page.data.map((w) => ({
				name: w.name,
				value: w.id,
				url: `${n8nUrl}/workflow/${w.id}`,
				description: w.active ? 'Active' : undefined,
			})),
			paginationToken: page.nextCursor,
		};
	});
}
