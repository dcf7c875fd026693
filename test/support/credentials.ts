/**
 * Credential data for tests on the local stack (credential type → data, as runWorkflow and n8n's API take it):
 * Chroma without auth, the offline model server, the shared Redis under a test's own key prefix.
 */
import { offlineModelConfig } from '../../stack/model-server';

export const chromaCredential = (url: string) => ({
	url,
	authentication: 'none',
	tenant: 'default_tenant',
	database: 'default_database',
});

/** An offline model server's `openAgentsLlmApi` credential: its base URL, its default models and `apiKey`. */
export const offlineLlmCredential = (baseUrl: string, apiKey = '') =>
	offlineModelConfig(baseUrl, { apiKey });

/** A Memory Store credential on the shared Redis (127.0.0.1:6379, database 0) under `prefix`. */
export const redisStoreCredential = (prefix: string) => ({
	backend: 'redis',
	host: '127.0.0.1',
	redisPort: 6379,
	redisDatabase: 0,
	prefix,
});
