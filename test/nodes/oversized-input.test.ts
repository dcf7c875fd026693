/**
 * Oversized input, in workflows run in-process on real Chroma, Redis and Postgres: a 10 MB document, a 1 MB memory
 * value, a 100 000-message conversation. Each is handled within its limit or refused with a clear per-item error,
 * and nothing else is lost.
 */
import { randomBytes } from 'node:crypto';

import type { INodeParameters } from 'n8n-workflow';
import Redis from 'ioredis';
import { Pool } from 'pg';

import {
	Memory,
	namespace,
	PostgresMemoryStore,
	RedisMemoryStore,
	tenantPath,
	type MemoryStore,
} from '../../lib/memory';
import { startChroma, type ChromaServer } from '../../stack/chroma';
import { OfflineModelServer } from '../../stack/model-server';
import {
	createDatabaseIfMissing,
	deleteKeys,
	dropDatabase,
	postgresFromEnv,
	redisFromEnv,
} from '../../stack/services';
import { testNodeTypes } from '../support/test-nodes';
import { chromaCredential, offlineLlmCredential } from '../support/credentials';
import { itemsInto, runWorkflow, type RunResult } from '../support/workflow-runner';

const run = randomBytes(4).toString('hex');
const database = `openagents_oversized_${run}`;
const redisPrefix = `openagents-oversized-${run}`;
const model = new OfflineModelServer();
let chroma: ChromaServer;
let llmUrl: string;

const MiB = 1024 * 1024;
const memoryStores = {
	redis: {
		backend: 'redis',
		host: '127.0.0.1',
		redisPort: 6379,
		redisDatabase: 0,
		prefix: redisPrefix,
	},
	postgres: {
		backend: 'postgres',
		host: '127.0.0.1',
		postgresPort: 5432,
		postgresDatabase: database,
		user: postgresFromEnv().user,
		prefix: 'oversized',
	},
};
const credentials = (backend: keyof typeof memoryStores) => ({
	openAgentsChromaApi: chromaCredential(chroma.url),
	openAgentsLlmApi: offlineLlmCredential(llmUrl),
	openAgentsMemoryStore: memoryStores[backend],
});
const CREDENTIALS = {
	openAgentsChromaApi: { id: '1', name: 'chroma' },
	openAgentsLlmApi: { id: '2', name: 'llm' },
	openAgentsMemoryStore: { id: '3', name: 'memory' },
};
const exec = (
	type: string,
	items: object[],
	parameters: INodeParameters,
	backend: keyof typeof memoryStores = 'redis',
) =>
	runWorkflow(
		itemsInto(items, {
			name: 'Node',
			type,
			parameters: { retryPolicy: { type: 'none' }, ...parameters },
			credentials: CREDENTIALS,
			continueOnFail: true,
		}),
		{ nodeTypes: testNodeTypes, credentials: credentials(backend) },
	);
const json = (result: RunResult) =>
	// eslint-disable-next-line @typescript-eslint/no-explicit-any -- outputs are asserted field by field
	result.outputs.Node[0].map((i) => i.json as Record<string, any>);

beforeAll(async () => {
	[chroma, llmUrl] = await Promise.all([startChroma(), model.start()]);
	await createDatabaseIfMissing(postgresFromEnv(), database);
}, 60_000);
afterAll(async () => {
	await Promise.all([chroma?.stop(), model.stop(), deleteKeys(redisFromEnv(), `${redisPrefix}:*`)]);
	await dropDatabase(postgresFromEnv(), database);
});

/** Markdown of about `bytes` bytes: sections of sentences, like a long manual. */
function manual(bytes: number): string {
	const section = (i: number) =>
		`## Section ${i}\n\n${`Setting ${i} controls how the service handles request ${i}. `.repeat(12)}\n\n`;
	let text = '# Manual\n\n';
	for (let i = 0; text.length < bytes; i++) text += section(i);
	return text.slice(0, bytes);
}

describe('a 10 MB document', () => {
	it('is ingested whole at the default 10 MB limit; one byte over, it fails alone with DOCUMENT_TOO_LARGE', async () => {
		const big = manual(10 * MiB);
		const items = [
			{ text: big, sourceId: 'manual.md' },
			{ text: `${big}x`, sourceId: 'too-big.md' },
			{ text: '# Small\n\nA small note.', sourceId: 'small.md' },
		];
		const result = await exec('openAgentsKnowledgeBase', items, {
			operation: 'ingest',
			knowledgeBase: `oversized-${run}`,
			inputType: 'text',
			text: '={{ $json.text }}',
			sourceId: '={{ $json.sourceId }}',
			format: 'markdown',
		});
		const [manualOut, tooBig, small] = json(result);
		expect(manualOut).toMatchObject({ source: 'manual.md', added: manualOut.chunks });
		expect(manualOut.chunks).toBeGreaterThan(5000);
		expect(tooBig).toMatchObject({
			code: 'DOCUMENT_TOO_LARGE',
			error: expect.stringMatching(
				/Item 1: Document "too-big\.md" is 10485761 bytes, over the limit/,
			),
		});
		expect(small).toMatchObject({ source: 'small.md', chunks: 1 });
		const [stats] = json(
			await exec('openAgentsKnowledgeBase', [{}], {
				operation: 'stats',
				knowledgeBase: `oversized-${run}`,
			}),
		);
		expect(stats).toMatchObject({ chunks: manualOut.chunks + 1, sources: 2 });
	}, 300_000);
});

describe('a 1 MB memory value', () => {
	const set = (value: string) =>
		exec('openAgentsMemory', [{ value }], {
			store: 'credential',
			operation: 'set',
			scope: 'custom',
			scopeId: 'oversized',
			key: 'big',
			value: '={{ JSON.stringify($json.value) }}',
		});

	it('is stored and read back intact up to 1 MiB of JSON; over it, the item fails with invalid_value and the old value stays', async () => {
		const fits = 'v'.repeat(MiB - 2); // its JSON (with quotes) is exactly 1 MiB
		expect(json(await set(fits))[0]).toMatchObject({ version: 1 });
		const [refused] = json(await set(`${fits}v`));
		expect(refused).toMatchObject({
			code: 'invalid_value',
			error: expect.stringMatching(/1048577 bytes.*1048576/),
		});
		const [read] = json(
			await exec('openAgentsMemory', [{}], {
				store: 'credential',
				operation: 'get',
				scope: 'custom',
				scopeId: 'oversized',
				key: 'big',
			}),
		);
		expect(read).toMatchObject({ version: 1 });
		expect(read.value).toBe(fits);
	});
});

describe.each(['redis', 'postgres'] as const)('a 100 000-message conversation on %s', (backend) => {
	let store: MemoryStore;
	beforeAll(() => {
		store =
			backend === 'redis'
				? new RedisMemoryStore(new Redis(redisFromEnv()), redisPrefix, true)
				: new PostgresMemoryStore(new Pool({ ...postgresFromEnv(), database }), 'oversized', true);
	});
	afterAll(() => store.close());

	it('reads its latest turns without loading it; an append with Max Stored Messages trims it to whole turns', async () => {
		const memory = new Memory({ store });
		const ns = namespace(tenantPath('', ''), 'session', `long-${backend}`);
		for (let batch = 0; batch < 50; batch++) {
			const messages = Array.from({ length: 2000 }, (_, i) => {
				const n = batch * 2000 + i;
				return { role: n % 2 ? 'assistant' : 'user', content: `message ${n}` } as const;
			});
			await memory.appendMessages(ns, 'chat', messages);
		}
		const latest = await memory.readMessages(ns, 'chat', { maxMessages: 3 });
		// The last three messages begin with an answer (99 997): whole turns only, so the last turn alone.
		expect(latest.map((m) => m.content)).toEqual(['message 99998', 'message 99999']);

		const read = await exec(
			'openAgentsMemory',
			[{}],
			{
				store: 'credential',
				resource: 'conversation',
				operation: 'getMessages',
				scope: 'session',
				scopeId: `long-${backend}`,
				key: 'chat',
				maxMessages: 20,
			},
			backend,
		);
		expect(json(read)[0]).toMatchObject({ count: 20 });
		expect(json(read)[0].messages[19]).toMatchObject({ content: 'message 99999' });

		const appended = await memory.appendMessages(
			ns,
			'chat',
			[{ role: 'user', content: 'one more' }],
			{ maxStored: 1000 },
		);
		// 100 001 messages; keeping ≤ 1 000 starts at a user message: 999 kept would start at an answer.
		expect(appended.length).toBe(999);
		const all = await memory.readMessages(ns, 'chat', {});
		expect(all).toHaveLength(999);
		expect(all[0]).toMatchObject({ role: 'user', content: 'message 99002' });
		expect(all[998]).toMatchObject({ content: 'one more' });
	}, 120_000);
});
