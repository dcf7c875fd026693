/** A lib/rag Chroma store from the `OpenAgents Chroma` credential, with the item's retry policy and n8n's cancel signal. */
import type { IExecuteFunctions, ILoadOptionsFunctions, ISupplyDataFunctions } from 'n8n-workflow';

import { ChromaKnowledgeStore, type ChromaConnection } from '../../lib/rag';
import { chromaAuthHeaders } from '../../lib/rag/chroma-auth';
import { getRetryPolicy } from './retryPolicy';

type Context = IExecuteFunctions | ISupplyDataFunctions;

export async function chromaConnection(
	fn: Context | ILoadOptionsFunctions,
): Promise<ChromaConnection> {
	const c = await fn.getCredentials('openAgentsChromaApi');
	return {
		url: String(c.url ?? '').replace(/\/+$/, ''),
		headers: chromaAuthHeaders(c),
		tenant: String(c.tenant ?? '') || undefined,
		database: String(c.database ?? '') || undefined,
	};
}

export function chromaStore(
	fn: Context,
	connection: ChromaConnection,
	itemIndex: number,
): ChromaKnowledgeStore {
	return new ChromaKnowledgeStore(connection, {
		policy: getRetryPolicy(fn, itemIndex),
		signal: fn.getExecutionCancelSignal?.(),
		log: (line) => fn.logger.warn(line),
	});
}
