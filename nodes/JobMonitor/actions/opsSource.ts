/** What Render Dashboard and Get Prometheus Metrics share: their options, and the snapshot from the credentials. */
import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { indexNamespace, type OpsSnapshotOptions, type Part } from '../../../lib/jobs';
import { InProcessMemoryStore, type MemoryStore } from '../../../lib/memory';
import { redisClient, storeFromCredential } from '../../shared/clients/memoryStore';
import { nodeLog, type ItemSettings } from '../../shared/runtime/itemSettings';
import { apiClient } from '../../shared/clients/n8nApi';

/** Options of both operations (alphabetical), shown for `operation`. */
export function snapshotOptions(operation: string, extra: INodeProperties[] = []): INodeProperties {
	return {
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { operation: [operation] } },
		options: [
			{
				displayName: 'Cache Seconds',
				name: 'cacheSeconds',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 10,
				description:
					'Viewers and scrapes within this many seconds of the last refresh share it, without asking n8n again',
			},
			{
				displayName: 'Currency',
				name: 'currency',
				type: 'string',
				default: 'USD',
				description:
					'ISO 4217 code of the costs your OpenAgents LLM API credentials record (their Currency field)',
			},
			...extra,
			{
				displayName: 'Max Executions',
				name: 'maxExecutions',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 10000,
				description:
					'Most executions one refresh of the shared index lists, newest first (the first lists the whole window); the page says when the window held more',
			},
			{
				displayName: 'Queue Prefix',
				name: 'bullPrefix',
				type: 'string',
				default: 'bull',
				description: 'QUEUE_BULL_PREFIX of your n8n (default "bull")',
			},
			{
				displayName: 'Redis Key Prefix',
				name: 'redisPrefix',
				type: 'string',
				default: 'n8n',
				description:
					"N8N_REDIS_KEY_PREFIX of your n8n: workers are asked on n8n's pub/sub channels",
			},
			{
				displayName: 'Worker Answer Wait (Ms)',
				name: 'workerWaitMs',
				type: 'number',
				typeOptions: { minValue: 50 },
				default: 500,
				description: 'Longest wait for the workers to answer the status request',
			},
		],
	};
}

/** What the operations read, opened from the item's credentials and options (see withOpsSources). */
type OpsSources = Omit<OpsSnapshotOptions, 'from' | 'workflowId'> & {
	/** n8n's own URL, for links into the editor. */
	n8nUrl: string;
	/** Set when the Memory Store could not be opened and the view is not shared. */
	cacheError?: string;
};

/**
 * Runs `work` with the item's n8n API client, shared cache and queue Redis, and closes them after. The shared index
 * lives in the Memory Store credential's tenant, in a namespace of its own per n8n URL and API key (a key never sees
 * another key's cache). A Memory Store that cannot be opened leaves the view working, unshared.
 */
export async function withOpsSources<T>(
	fn: IExecuteFunctions,
	settings: ItemSettings,
	work: (sources: OpsSources) => Promise<T>,
): Promise<T> {
	const { options } = settings;
	const api = await fn.getCredentials('openAgentsN8nApi');
	const c = await fn.getCredentials('openAgentsMemoryStore');
	const client = await apiClient(fn, settings);
	const log = nodeLog(fn);
	let cacheError: string | undefined;
	const store: MemoryStore = await storeFromCredential(c, { log }).catch((error: Error) => {
		cacheError = `The shared cache (Memory Store) cannot be reached, so nothing is shared between viewers: ${error.message}`;
		log(cacheError);
		return new InProcessMemoryStore();
	});
	const redis = c.backend === 'redis' ? redisClient(c, 5_000) : undefined;
	let reported = false;
	redis?.on('error', (error: Error) => {
		if (!reported) log(`Redis of the n8n queue: ${error.message}`);
		reported = true;
	});
	try {
		return await work({
			client,
			store,
			namespace: indexNamespace(String(c.tenant ?? ''), String(api.baseUrl), String(api.apiKey)),
			redis,
			queuePrefix: String(options.bullPrefix ?? 'bull'),
			redisPrefix: String(options.redisPrefix ?? 'n8n'),
			maxExecutions: Number(options.maxExecutions ?? 10000),
			cacheMs: Number(options.cacheSeconds ?? 10) * 1000,
			workerWaitMs: Number(options.workerWaitMs ?? 500),
			signal: settings.signal,
			n8nUrl: client.n8nUrl(),
			cacheError,
		});
	} finally {
		redis?.disconnect();
		await store.close();
	}
}

/** 'ok', or the message of why a part is missing (for the item's `panels`). */
export const partStatus = (part: Part<unknown> | { error: string } | { data: unknown }): string =>
	'error' in part ? part.error : 'ok';
