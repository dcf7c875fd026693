/**
 * The Redis of a shared keyword index (Keyword Index "Shared in Redis", see fields/knowledgeBase.ts): the OpenAgents
 * Memory Store credential's server (lib/rag/shared-keyword-index.ts).
 */
import type Redis from 'ioredis';
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { RagError, type SharedKeywordIndexOptions } from '../../../lib/rag';
import type { NodeFunctions } from '../runtime/itemSettings';
import { redisClient } from './memoryStore';

/**
 * Redis clients of the shared index, one per credential server in this n8n process, kept open for every execution:
 * a query reads a few keys, so connecting per execution would cost more than the query, and the index handle keeps
 * what it read of the document lengths between executions.
 */
const clients = new Map<string, Redis>();

function clientFor(c: ICredentialDataDecryptedObject): Redis {
	const key = JSON.stringify(
		['host', 'redisPort', 'redisDatabase', 'user', 'password', 'ssl', 'ca', 'allowSelfSigned'].map(
			(field) => c[field],
		),
	);
	let redis = clients.get(key);
	if (!redis) {
		redis = redisClient(c); // connects at its first command, and reconnects by itself
		redis.on('error', () => undefined); // a failed command reports it to its caller
		clients.set(key, redis);
	}
	return redis;
}

/**
 * The shared index's options for the item (undefined: each worker keeps its own). Throws RagError INVALID_OPTIONS for
 * a Memory Store credential whose backend is Postgres.
 */
export async function sharedKeywordIndexFor(
	fn: NodeFunctions,
	itemIndex: number,
): Promise<SharedKeywordIndexOptions | undefined> {
	if (fn.getNodeParameter('keywordIndex', itemIndex, 'worker') !== 'redis') return undefined;
	const c = await fn.getCredentials('openAgentsMemoryStore');
	if (c.backend === 'postgres') {
		throw new RagError(
			'INVALID_OPTIONS',
			'Keyword Index "Shared in Redis" needs an OpenAgents Memory Store credential with the Redis backend; this one uses Postgres',
		);
	}
	return { redis: clientFor(c), prefix: `${String(c.prefix ?? 'openagents')}:keywords:` };
}

/** Closes the clients (for tests and a clean process exit). */
export function closeKeywordIndexClients(): void {
	for (const redis of clients.values()) redis.disconnect();
	clients.clear();
}
