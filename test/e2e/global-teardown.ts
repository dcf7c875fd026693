import type { N8nCluster } from '../../stack/n8n/cluster';
import type { OtlpReceiver } from '../support/otlp-receiver';

export default async function globalTeardown(): Promise<void> {
	const shared = globalThis as Record<string, unknown>;
	await (shared.__openAgentsCluster as N8nCluster | undefined)?.stop();
	await (shared.__openAgentsOtlpReceiver as OtlpReceiver | undefined)?.stop();
}
