/**
 * Starts the one real queue-mode n8n cluster (main + 2 workers) that every e2e test file shares, and the OTLP
 * receiver n8n's own tracing (N8N_OTEL_ENABLED) exports to, so the tracing e2e can check that our spans join
 * n8n's traces.
 */
import { join } from 'node:path';

import { CLUSTER_ENV, N8nCluster } from '../../stack/n8n/cluster';
import { REPO_ROOT } from '../../stack/n8n/community-package';
import { OTLP_RECEIVER_ENV, OtlpReceiver } from '../support/otlp-receiver';

export default async function globalSetup(): Promise<void> {
	const started = Date.now();
	const log = (line: string) => process.stdout.write(`[e2e] ${line}\n`);
	const receiver = new OtlpReceiver();
	const receiverUrl = await receiver.start();
	const env = {
		// The Knowledge Base e2e reads the READMEs of our npm dependencies with n8n's Read Files from Disk node.
		N8N_RESTRICT_FILE_ACCESS_TO: join(REPO_ROOT, 'node_modules'),
		N8N_OTEL_ENABLED: 'true',
		N8N_OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
	};
	const cluster = await N8nCluster.start({ mode: 'queue', workers: 2, name: 'e2e', log, env });
	Object.assign(globalThis as Record<string, unknown>, {
		__openAgentsCluster: cluster,
		__openAgentsOtlpReceiver: receiver,
	});
	process.env[CLUSTER_ENV] = JSON.stringify(cluster.info());
	process.env[OTLP_RECEIVER_ENV] = receiverUrl;
	log(
		`cluster up in ${Math.round((Date.now() - started) / 1000)} s (logs: ${cluster.userFolder}/logs)`,
	);
}
