/** Starts the one real queue-mode n8n cluster (main + 2 workers) that every e2e test file shares. */
import { join } from 'node:path';

import { CLUSTER_ENV, N8nCluster } from '../../stack/n8n/cluster';
import { REPO_ROOT } from '../../stack/n8n/community-package';

export default async function globalSetup(): Promise<void> {
	const started = Date.now();
	const log = (line: string) => process.stdout.write(`[e2e] ${line}\n`);
	// The Knowledge Base e2e reads the READMEs of our npm dependencies with n8n's Read Files from Disk node.
	const env = { N8N_RESTRICT_FILE_ACCESS_TO: join(REPO_ROOT, 'node_modules') };
	const cluster = await N8nCluster.start({ mode: 'queue', workers: 2, name: 'e2e', log, env });
	(globalThis as Record<string, unknown>).__openAgentsCluster = cluster;
	process.env[CLUSTER_ENV] = JSON.stringify(cluster.info());
	log(
		`cluster up in ${Math.round((Date.now() - started) / 1000)} s (logs: ${cluster.userFolder}/logs)`,
	);
}
