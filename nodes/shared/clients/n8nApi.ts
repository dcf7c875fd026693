/** lib/jobs clients from the node's credentials: the n8n API (OpenAgents Instance API) and, for queue depth, Redis. */
import type Redis from 'ioredis';
import type {
	IExecuteFunctions,
	ILoadOptionsFunctions,
	IPollFunctions,
	IWebhookFunctions,
} from 'n8n-workflow';

import { JobsError, N8nApiClient, type N8nApiOptions } from '../../../lib/jobs';
import { NoRetryPolicy } from '../../../lib/retry';
import type { ItemSettings } from '../runtime/itemSettings';
import { redisClient } from './memoryStore';

/** The item's API client: its Retry Policy, n8n's cancel signal, retries logged to n8n's log. */
export async function apiClient(
	fn: IExecuteFunctions,
	settings: ItemSettings,
): Promise<N8nApiClient> {
	return n8nApiClientWith(fn, { policy: settings.retryPolicy, signal: settings.signal });
}

/** For the polling trigger: no retries (the next poll is the retry). */
export async function pollClient(fn: IPollFunctions): Promise<N8nApiClient> {
	return n8nApiClientWith(fn, { policy: new NoRetryPolicy() });
}

/** A client from the OpenAgents Instance API credential with these call options (retries logged to n8n's log). */
export async function n8nApiClientWith(
	fn: IExecuteFunctions | IPollFunctions | ILoadOptionsFunctions | IWebhookFunctions,
	options: Omit<N8nApiOptions, 'log'>,
): Promise<N8nApiClient> {
	const c = await fn.getCredentials('openAgentsN8nApi');
	return new N8nApiClient(
		{ baseUrl: String(c.baseUrl ?? ''), apiKey: String(c.apiKey ?? '') },
		{ ...options, log: (line) => fn.logger.warn(line) },
	);
}

/** A Redis client from the OpenAgents Memory Store API credential (Redis backend), for Bull's queue keys. */
export async function queueRedis(fn: IExecuteFunctions): Promise<Redis> {
	const c = await fn.getCredentials('openAgentsMemoryStore');
	if (c.backend !== 'redis')
		throw new JobsError(
			'INVALID_OPTIONS',
			'The queue is in Redis: choose an OpenAgents Memory Store API credential with the Redis backend (the Redis of your n8n queue)',
		);
	return redisClient(c);
}
