/** Starts the one real queue-mode n8n cluster (main + 2 workers) that every e2e test file shares. */
import { CLUSTER_ENV, N8nCluster } from '../support/n8n/cluster';

export default async function globalSetup(): Promise<void> {
	const started = Date.now();
	const log = (line: string) => process.stdout.write(`[e2e] ${line}\n`);
	const cluster = await N8nCluster.start({ mode: 'queue', workers: 2, name: 'e2e', log });
	(globalThis as Record<string, unknown>).__openAgentsCluster = cluster;
	process.env[CLUSTER_ENV] = JSON.stringify(cluster.info());
	log(`cluster up in ${Math.round((Date.now() - started) / 1000)} s (logs: ${cluster.userFolder}/logs)`);
}
