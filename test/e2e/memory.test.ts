/**
 * The Memory node in real queue-mode n8n (main + 2 workers): a value written by an execution on one worker is read
 * back by executions on the other; n8n tests the Memory Store credential through the node's credentialTest.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { clusterFromEnv } from '../../stack/n8n/cluster';
import { webhookNode, whereNode } from '../../stack/n8n/workflow-nodes';
import { deleteKeys, redisFromEnv } from '../../stack/services';

const { client } = clusterFromEnv();
const prefix = `openagents-e2e-mem-${randomBytes(4).toString('hex')}`;
const storeData = {
	backend: 'redis',
	host: '127.0.0.1',
	redisPort: 6379,
	redisDatabase: 0,
	prefix,
	allowIsolationKeys: true,
};

afterAll(() => deleteKeys(redisFromEnv(), `${prefix}:*`));

/** Webhook → Memory (parameters) → "Where" (which process ran it, and the Memory output). */
function memoryWorkflow(
	name: string,
	path: string,
	credentialId: string,
	parameters: Record<string, unknown>,
) {
	return {
		name,
		nodes: [
			webhookNode(path),
			{
				id: randomUUID(),
				name: 'Memory',
				type: 'n8n-nodes-openagents.openAgentsMemory',
				typeVersion: 1,
				position: [220, 0],
				parameters: {
					store: 'credential',
					scope: 'custom',
					scopeId: 'e2e-shared',
					isolationKey: '={{ $json.body.tenant }}',
					...parameters,
				},
				credentials: { openAgentsMemoryStore: { id: credentialId, name: 'e2e memory' } },
			},
			whereNode([440, 0], true),
		],
		connections: {
			Webhook: { main: [[{ node: 'Memory', type: 'main', index: 0 }]] },
			Memory: { main: [[{ node: 'Where', type: 'main', index: 0 }]] },
		},
	};
}

it("n8n tests the Memory Store credential with the node's credentialTest", async () => {
	expect(await client.testCredential('openAgentsMemoryStore', storeData)).toMatchObject({
		status: 'OK',
	});
	const down = await client.testCredential('openAgentsMemoryStore', { ...storeData, redisPort: 1 });
	expect(down.status).toBe('Error');
	expect(down.message).toMatch(/Cannot reach the Redis server/);
});

it('a value written on one worker is read back on the other worker', async () => {
	const { id: credentialId } = await client.createCredential(
		'e2e memory',
		'openAgentsMemoryStore',
		storeData,
	);
	const writePath = `e2e-mem-write-${randomUUID()}`;
	const readPath = `e2e-mem-read-${randomUUID()}`;
	const writer = await client.createWorkflow(
		memoryWorkflow('e2e: memory write', writePath, credentialId, {
			operation: 'set',
			key: 'greeting',
			value: '={{ $json.body.value }}',
		}),
	);
	const reader = await client.createWorkflow(
		memoryWorkflow('e2e: memory read', readPath, credentialId, {
			operation: 'get',
			key: 'greeting',
		}),
	);
	await client.activateWorkflow(writer.id, [writePath]);
	await client.activateWorkflow(reader.id, [readPath]);

	// n8n 2.41 in queue mode now and then never answers a webhook whose execution succeeded (README,
	// Troubleshooting): a call not answered in 20 s is sent again (a write that ran then counts one version more).
	const answered = async <T>(path: string, body: object): Promise<{ value: T; sends: number }> => {
		for (let sends = 1; ; sends++) {
			try {
				const res = await client.webhook(path, body, 'POST', {}, AbortSignal.timeout(20_000));
				return { value: (await res.json()) as T, sends };
			} catch (error) {
				if ((error as Error).name !== 'TimeoutError' || sends === 3) throw error;
			}
		}
	};
	const { value: written, sends } = await answered<{ version: number; processName: string }>(
		writePath,
		{ tenant: 'acme', value: { text: 'hello from a worker' } },
	);
	expect(written.version).toBeGreaterThanOrEqual(1);
	expect(written.version).toBeLessThanOrEqual(sends);
	expect(written.processName).toMatch(/^worker-\d$/);

	// Reads go to whichever worker takes the job: send them in rounds until one runs on the other worker. A read n8n
	// does not answer is given up after 20 s and not counted; every answered read must be right.
	type Read = { found: boolean; value: unknown; processName: string };
	const reads: Read[] = [];
	for (
		let round = 0;
		round < 5 && !reads.some((r) => r.processName !== written.processName);
		round++
	) {
		const batch = await Promise.allSettled(
			Array.from({ length: 8 }, () =>
				client
					.webhook(readPath, { tenant: 'acme' }, 'POST', {}, AbortSignal.timeout(20_000))
					.then((r) => r.json() as Promise<Read>),
			),
		);
		for (const result of batch) {
			if (result.status === 'fulfilled') reads.push(result.value);
			else expect((result.reason as Error).name).toBe('TimeoutError');
		}
	}
	expect(
		reads.some((r) => r.processName !== written.processName && /^worker-\d$/.test(r.processName)),
	).toBe(true);
	for (const read of reads)
		expect(read).toMatchObject({ found: true, value: { text: 'hello from a worker' } });

	// Another tenant sees nothing under the same scope and key.
	const { value: other } = await answered<{ found: boolean }>(readPath, { tenant: 'globex' });
	expect(other.found).toBe(false);
}, 240_000);
