/**
 * The Memory node in real queue-mode n8n (main + 2 workers): a value written by an execution on one worker is read
 * back by executions on the other, and so is a Long-Term Memory fact; n8n tests the Memory Store credential through the
 * node's credentialTest.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { clusterFromEnv } from '../../stack/n8n/cluster';
import { webhookNode, whereNode } from '../../stack/n8n/workflow-nodes';
import { deleteKeys, redisFromEnv } from '../../stack/services';

const { client } = clusterFromEnv();

/**
 * POSTs `body` to a production webhook and returns its JSON answer. n8n 2.41 in queue mode now and then never answers
 * a webhook whose execution succeeded (README, Troubleshooting): a call not answered in 20 s is sent again, at most 3
 * times (a write that ran then counts one version more); `sends` says how often it went out.
 */
async function answered<T>(path: string, body: object): Promise<{ value: T; sends: number }> {
	for (let sends = 1; ; sends++) {
		try {
			const res = await client.webhook(path, body, 'POST', {}, AbortSignal.timeout(20_000));
			return { value: (await res.json()) as T, sends };
		} catch (error) {
			if ((error as Error).name !== 'TimeoutError' || sends === 3) throw error;
		}
	}
}
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

it('Long-Term Memory: a fact remembered on one worker is recalled on the other; Forget erases the subject', async () => {
	const { id: credentialId } = await client.createCredential(
		'e2e long-term memory',
		'openAgentsMemoryStore',
		storeData,
	);
	const ltm = (name: string, parameters: Record<string, unknown>) => {
		const path = `e2e-ltm-${name}-${randomUUID()}`;
		const workflow = memoryWorkflow(`e2e: long-term memory ${name}`, path, credentialId, {
			resource: 'longTermMemory',
			subject: '={{ $json.body.subject }}',
			...parameters,
		});
		return { path, workflow };
	};
	const remember = ltm('remember', { operation: 'remember', factText: '={{ $json.body.fact }}' });
	const recall = ltm('recall', { operation: 'recall', query: '={{ $json.body.query }}', topK: 1 });
	const forget = ltm('forget', { operation: 'forget', forgetWhat: 'subject' });
	for (const { path, workflow } of [remember, recall, forget]) {
		const created = await client.createWorkflow(workflow);
		await client.activateWorkflow(created.id, [path]);
	}
	const subject = `customer-${randomUUID()}`;
	const { value: stored } = await answered<{
		id: string;
		processName: string;
		provenance: { workflowId: string };
	}>(remember.path, { tenant: 'acme', subject, fact: 'Prefers invoices by e-mail' });
	expect(stored.processName).toMatch(/^worker-\d$/);
	expect(stored.provenance.workflowId).toBeTruthy();

	// Recalls go to whichever worker takes the job: send them until one runs on the other worker.
	type Recalled = { id: string; text: string; processName: string; score: number };
	const recalls: Recalled[] = [];
	for (
		let round = 0;
		round < 5 && !recalls.some((r) => r.processName !== stored.processName);
		round++
	) {
		const batch = await Promise.allSettled(
			Array.from({ length: 6 }, () =>
				client
					.webhook(
						recall.path,
						{ tenant: 'acme', subject, query: 'How does the customer want invoices?' },
						'POST',
						{},
						AbortSignal.timeout(20_000),
					)
					.then((r) => r.json() as Promise<Recalled>),
			),
		);
		for (const result of batch) if (result.status === 'fulfilled') recalls.push(result.value);
	}
	expect(recalls.some((r) => r.processName !== stored.processName)).toBe(true);
	for (const recalled of recalls)
		expect(recalled).toMatchObject({ id: stored.id, text: 'Prefers invoices by e-mail' });

	// Another isolation key reaches nothing; the erasure removes the fact once.
	type Removed = { removed: number };
	expect((await answered<Removed>(forget.path, { tenant: 'globex', subject })).value.removed).toBe(
		0,
	);
	const erased = await answered<Removed>(forget.path, { tenant: 'acme', subject });
	// A resent erasure finds nothing left: only a first answer must count the fact.
	expect(erased.sends === 1 ? erased.value.removed === 1 : erased.value.removed <= 1).toBe(true);
	expect((await answered<Removed>(forget.path, { tenant: 'acme', subject })).value.removed).toBe(0);
}, 240_000);
