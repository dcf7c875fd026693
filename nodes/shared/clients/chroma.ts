/** A lib/rag Chroma store from the `OpenAgents Chroma API` credential, with the item's Retry Policy and cancel signal. */
import type { ILoadOptionsFunctions } from 'n8n-workflow';

import {
	chromaAuthHeaders,
	ChromaKnowledgeStore,
	type ChromaConnection,
	type SharedKeywordIndexOptions,
} from '../../../lib/rag';
import type { ItemSettings, NodeFunctions } from '../runtime/itemSettings';

export async function chromaConnection(
	fn: NodeFunctions | ILoadOptionsFunctions,
): Promise<ChromaConnection> {
	const c = await fn.getCredentials('openAgentsChromaApi');
	return {
		url: String(c.url ?? '').replace(/\/+$/, ''),
		headers: chromaAuthHeaders(c),
		tenant: String(c.tenant ?? '') || undefined,
		database: String(c.database ?? '') || undefined,
	};
}

/** `keywordIndex`: keep keyword search's index shared in Redis (see clients/keywordIndex.ts), else in this process. */
export function chromaStore(
	connection: ChromaConnection,
	settings: ItemSettings,
	keywordIndex?: SharedKeywordIndexOptions,
): ChromaKnowledgeStore {
	return new ChromaKnowledgeStore(connection, {
		policy: settings.retryPolicy,
		signal: settings.signal,
		log: settings.log,
		keywordIndex,
	});
}
