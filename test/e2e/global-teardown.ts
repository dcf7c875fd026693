import type { N8nCluster } from '../../stack/n8n/cluster';

export default async function globalTeardown(): Promise<void> {
	const cluster = (globalThis as Record<string, unknown>).__openAgentsCluster as
		N8nCluster | undefined;
	await cluster?.stop();
}
