/**
 * The foundation in a real queue-mode n8n (main + 2 workers, Postgres, Redis): our package installed the way
 * n8n installs community packages, our credential types loaded and testable, executions run by workers.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Redis from 'ioredis';

import { startChroma, type ChromaServer } from '../../stack/chroma';
import { OfflineModelServer } from '../../stack/model-server';
import { clusterFromEnv } from '../../stack/n8n/cluster';
import { nodeOutput } from '../../stack/n8n/client';
import { webhookNode, whereNode } from '../../stack/n8n/workflow-nodes';
import { redisFromEnv } from '../../stack/services';

const { info, client } = clusterFromEnv();

describe('credential types', () => {
	it('are all four loaded by n8n', async () => {
		const names = await client.credentialTypeNames();
		expect(names).toEqual(
			expect.arrayContaining([
				'openAgentsLlmApi',
				'openAgentsChromaApi',
				'openAgentsMemoryStore',
				'openAgentsN8nApi',
			]),
		);
	});

	describe('credential tests run by n8n', () => {
		const model = new OfflineModelServer({ apiKey: 'sk-e2e-secret-key' });
		let chroma: ChromaServer;
		beforeAll(async () => {
			await model.start();
			chroma = await startChroma();
		}, 60_000);
		afterAll(async () => {
			await model.stop();
			await chroma?.stop();
		});

		it('LLM API: accepts the right key via GET /models, rejects a wrong one without showing it', async () => {
			const ok = await client.testCredential('openAgentsLlmApi', {
				baseUrl: model.baseUrl,
				apiKey: 'sk-e2e-secret-key',
			});
			expect(ok.status).toBe('OK');
			expect(model.requestsTo('models')).toHaveLength(1);

			const bad = await client.testCredential('openAgentsLlmApi', {
				baseUrl: model.baseUrl,
				apiKey: 'sk-wrong-e2e-key',
			});
			expect(bad.status).toBe('Error');
			expect(bad.message).not.toContain('sk-wrong-e2e-key');
		});

		it('Chroma: finds the configured database, reports a missing one', async () => {
			const base = { url: chroma.url, authentication: 'none', tenant: 'default_tenant' };
			expect(
				(
					await client.testCredential('openAgentsChromaApi', {
						...base,
						database: 'default_database',
					})
				).status,
			).toBe('OK');
			const missing = await client.testCredential('openAgentsChromaApi', {
				...base,
				database: 'no_such_db',
			});
			expect(missing.status).toBe('Error');
		});

		it('n8n API: lists workflows with the key, rejects a wrong key', async () => {
			const baseUrl = `${info.connection.url}/api/v1`;
			expect(
				(
					await client.testCredential('openAgentsN8nApi', {
						baseUrl,
						apiKey: info.connection.apiKey,
					})
				).status,
			).toBe('OK');
			expect(
				(await client.testCredential('openAgentsN8nApi', { baseUrl, apiKey: 'not-a-key' })).status,
			).toBe('Error');
		});
	});
});

describe('queue mode', () => {
	it('runs webhook executions on workers, never on main, and reads them back through the public API', async () => {
		const path = `e2e-worker-${randomUUID()}`;
		const { id } = await client.createWorkflow({
			name: 'e2e: which process runs me',
			nodes: [webhookNode(path), whereNode([220, 0])],
			connections: { Webhook: { main: [[{ node: 'Where', type: 'main', index: 0 }]] } },
		});
		await client.activateWorkflow(id, [path]);

		const responses = await Promise.all(
			Array.from({ length: 4 }, () => client.webhook(path, { hello: 'world' })),
		);
		const bodies = await Promise.all(
			responses.map((r) => r.json() as Promise<{ processName: string }>),
		);
		expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
		for (const body of bodies) expect(body.processName).toMatch(/^worker-\d$/);

		const executions = await client.waitForExecutions(id, 4);
		expect(executions.map((e) => e.status)).toEqual(['success', 'success', 'success', 'success']);
		for (const execution of executions) {
			expect(nodeOutput(execution, 'Where')[0].processName).toMatch(/^worker-\d$/);
		}

		const workerLogs = info.workers
			.map((w) => readFileSync(join(info.userFolder, 'logs', `${w.name}.log`), 'utf8'))
			.join('\n');
		const mainLog = readFileSync(join(info.userFolder, 'logs', 'main.log'), 'utf8');
		for (const execution of executions) {
			expect(workerLogs).toMatch(new RegExp(`Worker started execution ${execution.id}\\b`));
			expect(mainLog).not.toMatch(new RegExp(`Worker started execution ${execution.id}\\b`));
		}
	}, 120_000);

	it('keeps finished jobs in Bull, so main learns every outcome (KEPT_FINISHED_JOBS)', async () => {
		const path = `e2e-kept-jobs-${randomUUID()}`;
		const { id } = await client.createWorkflow({
			name: 'e2e: kept jobs',
			nodes: [webhookNode(path), whereNode([220, 0])],
			connections: { Webhook: { main: [[{ node: 'Where', type: 'main', index: 0 }]] } },
		});
		await client.activateWorkflow(id, [path]);
		await Promise.all(Array.from({ length: 3 }, () => client.webhook(path, {})));
		const executionIds = (await client.waitForExecutions(id, 3)).map((e) => String(e.id));

		const redis = new Redis({ ...redisFromEnv(), lazyConnect: true });
		await redis.connect();
		try {
			const jobs = `${info.queuePrefix}:jobs`;
			const completed = await redis.zrange(`${jobs}:completed`, 0, -1);
			const executionOfJob = await Promise.all(
				completed.map(async (jobId) => {
					const data = JSON.parse((await redis.hget(`${jobs}:${jobId}`, 'data')) ?? '{}');
					return String((data as { executionId?: unknown }).executionId);
				}),
			);
			// n8n's default removes a job as it finishes; then none of these would be found.
			expect(executionOfJob).toEqual(expect.arrayContaining(executionIds));
		} finally {
			redis.disconnect();
		}
	}, 120_000);
});
