/**
 * The Memory node's Long-Term Memory resource in workflows run in-process, on real Redis and Postgres, with the
 * offline model server for embeddings: Remember, Recall, List and Forget, provenance, isolation, Match Facts By.
 */
import { randomBytes } from 'node:crypto';

import type { INodeParameters } from 'n8n-workflow';

import { OfflineModelServer } from '../../stack/model-server';
import {
	createDatabaseIfMissing,
	deleteKeys,
	dropDatabase,
	postgresFromEnv,
	redisFromEnv,
} from '../../stack/services';
import { offlineLlmCredential } from '../support/credentials';
import { testNodeTypes } from '../support/test-nodes';
import { itemsInto, runWorkflow } from '../support/workflow-runner';

const run = randomBytes(4).toString('hex');
const database = `openagents_facts_nodes_${run}`;
const prefix = `openagents-facts-nodes-${run}`;
const stores = {
	redis: {
		backend: 'redis',
		host: '127.0.0.1',
		redisPort: 6379,
		redisDatabase: 0,
		prefix,
		tenant: 'acme',
		allowIsolationKeys: true,
	},
	postgres: {
		backend: 'postgres',
		host: '127.0.0.1',
		postgresPort: 5432,
		postgresDatabase: database,
		user: postgresFromEnv().user,
		prefix: 'oa_facts',
		tenant: 'acme',
		allowIsolationKeys: true,
	},
};
const model = new OfflineModelServer();
let llmUrl: string;

beforeAll(async () => {
	[llmUrl] = await Promise.all([
		model.start(),
		createDatabaseIfMissing(postgresFromEnv(), database),
	]);
});
afterAll(async () => {
	await model.stop();
	await deleteKeys(redisFromEnv(), `${prefix}:*`);
	await dropDatabase(postgresFromEnv(), database);
});
beforeEach(() => model.reset());

describe.each(['redis', 'postgres'] as const)('Long-Term Memory on %s', (backend) => {
	let subjectCounter = 0;
	/** A fresh subject per test, so tests on the shared servers never see each other's facts. */
	const freshSubject = () => `user-${run}-${++subjectCounter}`;
	const exec = async (
		items: object[],
		parameters: INodeParameters,
		options: { store?: object; continueOnFail?: boolean; executionId?: string } = {},
	) => {
		const result = await runWorkflow(
			itemsInto(items, {
				name: 'Memory',
				type: 'openAgentsMemory',
				parameters: { store: 'credential', resource: 'longTermMemory', ...parameters },
				credentials: {
					openAgentsMemoryStore: { id: '1', name: 'store' },
					openAgentsLlmApi: { id: '2', name: 'llm' },
				},
				continueOnFail: options.continueOnFail,
			}),
			{
				nodeTypes: testNodeTypes,
				executionId: options.executionId,
				credentials: {
					openAgentsMemoryStore: { ...stores[backend], ...options.store },
					openAgentsLlmApi: offlineLlmCredential(llmUrl),
				},
			},
		);
		return { ...result, json: (result.outputs.Memory?.[0] ?? []).map((i) => i.json) };
	};

	it('remembers with provenance, recalls one item per fact with score and times, lists, forgets one fact and a subject', async () => {
		const subject = freshSubject();
		const remembered = await exec(
			[
				{ text: 'Prefers e-mail over phone calls', topic: 'contact', messageId: 'm-1' },
				{ text: 'Is on the Pro plan since March', topic: 'billing', messageId: 'm-2' },
				{ text: 'Reported a billing error with invoice 1042', topic: 'billing', messageId: 'm-3' },
			],
			{
				operation: 'remember',
				subject,
				factText: '={{ $json.text }}',
				factMetadata: '={{ { topic: $json.topic } }}',
				messageId: '={{ $json.messageId }}',
			},
			{ executionId: 'exec-77' },
		);
		expect(remembered.status).toBe('success');
		expect(remembered.json).toHaveLength(3);
		expect(remembered.json[2]).toEqual({
			id: expect.any(String),
			subject,
			text: 'Reported a billing error with invoice 1042',
			metadata: { topic: 'billing' },
			createdAt: expect.any(String),
			confirmedAt: expect.any(String),
			provenance: {
				source: 'remember',
				workflowId: 'in-process',
				executionId: 'exec-77',
				messageId: 'm-3',
			},
		});

		const recalled = await exec([{}], {
			operation: 'recall',
			subject,
			query: 'Was there a billing error?',
			topK: 5,
			metadataFilter: '{"topic": "billing"}',
		});
		expect(
			recalled.outputs.Memory[0].every((i) => (i.pairedItem as { item: number }).item === 0),
		).toBe(true);
		expect(recalled.json.map((j) => j.text)).toEqual([
			'Reported a billing error with invoice 1042',
		]);
		expect(recalled.json[0]).toMatchObject({
			score: expect.any(Number),
			createdAt: expect.any(String),
			confirmedAt: expect.any(String),
			provenance: { executionId: 'exec-77', messageId: 'm-3' },
		});

		const listed = await exec([{}], { operation: 'listFacts', subject, returnAll: true });
		expect(listed.json.map((j) => j.text).sort()).toEqual(
			remembered.json.map((j) => j.text as string).sort(),
		);
		const limited = await exec([{}], { operation: 'listFacts', subject, limit: 2 });
		expect(limited.json).toHaveLength(2);

		const forgotten = await exec([{ id: remembered.json[0].id }], {
			operation: 'forget',
			subject,
			forgetWhat: 'fact',
			factId: '={{ $json.id }}',
		});
		expect(forgotten.json).toEqual([{ subject, id: remembered.json[0].id, removed: 1 }]);
		const erased = await exec([{}], { operation: 'forget', subject, forgetWhat: 'subject' });
		expect(erased.json).toEqual([{ subject, removed: 2 }]);
		expect((await exec([{}], { operation: 'listFacts', subject, returnAll: true })).json).toEqual(
			[],
		);
	});

	it('isolation: another isolation key or tenant recalls nothing; the Value operations see no fact', async () => {
		const subject = freshSubject();
		await exec([{}], {
			operation: 'remember',
			subject,
			isolationKey: 'team-a',
			factText: 'The door code is 4711',
		});
		const ask = (extra: INodeParameters, store?: object) =>
			exec(
				[{}],
				{ operation: 'recall', subject, query: 'door code', topK: 100, ...extra },
				{ store },
			);
		expect((await ask({ isolationKey: 'team-a' })).json).toHaveLength(1);
		expect((await ask({ isolationKey: 'team-b' })).json).toEqual([]);
		expect((await ask({ isolationKey: '' })).json).toEqual([]);
		expect((await ask({ isolationKey: 'team-a' }, { tenant: 'other' })).json).toEqual([]);
		for (const scope of ['global', 'custom', 'session'])
			for (const isolationKey of ['', 'team-a']) {
				const listed = await exec([{}], {
					resource: 'value',
					operation: 'listKeys',
					scope,
					scopeId: scope === 'global' ? '' : subject,
					isolationKey,
				});
				expect(listed.json[0].keys).toEqual([]);
			}
	});

	it('Options: Require Isolation Key applies; Readable and Writable Scopes do not', async () => {
		const subject = freshSubject();
		const options = { requireIsolationKey: true, readScopes: [], writeScopes: [] };
		const refused = await exec(
			[{}],
			{ operation: 'remember', subject, factText: 'Owns a boat', options },
			{ continueOnFail: true },
		);
		expect(refused.json[0]).toMatchObject({ code: 'access_denied' });
		const remembered = await exec([{}], {
			operation: 'remember',
			subject,
			isolationKey: 'team-a',
			factText: 'Owns a boat',
			options,
		});
		expect(remembered.json[0]).toMatchObject({ text: 'Owns a boat' });
		const recalled = await exec([{}], {
			operation: 'recall',
			subject,
			isolationKey: 'team-a',
			query: 'boat',
			options,
		});
		expect(recalled.json.map((j) => j.text)).toEqual(['Owns a boat']);
	});

	it('Match Facts By: keywords sends nothing to the model; meaning embeds the fact and the query', async () => {
		const subject = freshSubject();
		await exec([{}], { operation: 'remember', subject, factText: 'Keeps two cats at home' });
		expect(model.requestsTo('embeddings')).toHaveLength(0);
		const meaning = { matchBy: 'meaning' };
		await exec([{}], {
			operation: 'remember',
			subject,
			factText: 'Drives an electric car',
			...meaning,
		});
		expect(model.requestsTo('embeddings')).toHaveLength(1);
		const recalled = await exec([{}], {
			operation: 'recall',
			subject,
			query: 'electric car',
			topK: 1,
			...meaning,
		});
		expect(model.requestsTo('embeddings')).toHaveLength(2);
		expect(recalled.json.map((j) => j.text)).toEqual(['Drives an electric car']);
		// Hybrid scores are the convex combination's, 0…1: the best keyword match holds at least the keyword share (0.7).
		expect(recalled.json[0].score).toBeGreaterThanOrEqual(0.7);
		expect(recalled.json[0].score).toBeLessThanOrEqual(1);
		const keywords = await exec([{}], {
			operation: 'recall',
			subject,
			query: 'electric car',
			topK: 1,
		});
		expect(keywords.json.map((j) => j.text)).toEqual(['Drives an electric car']);
		expect(model.requestsTo('embeddings')).toHaveLength(2);
		// Embedding Model names the model of the embedding requests (else the credential's).
		await exec([{}], {
			operation: 'recall',
			subject,
			query: 'electric car',
			...meaning,
			embeddingModel: 'my-embedder',
		});
		const models = model.requestsTo('embeddings').map((r) => (r.body as { model?: string }).model);
		expect(models[2]).toBe('my-embedder');
		expect(models[1]).not.toBe('my-embedder');
	});

	it('a bad item fails alone with Continue On Fail; errors name the cause', async () => {
		const subject = freshSubject();
		const result = await exec(
			[{ text: 'Lives in Porto' }, { text: '   ' }, { text: 'Speaks Portuguese' }],
			{ operation: 'remember', subject, factText: '={{ $json.text }}' },
			{ continueOnFail: true },
		);
		expect(result.json.map((j) => j.code ?? j.text)).toEqual([
			'Lives in Porto',
			'invalid_value',
			'Speaks Portuguese',
		]);
		const missing = await exec([{}], {
			operation: 'recall',
			subject: ' ',
			query: 'x',
		});
		expect(missing.status).toBe('error');
		expect(String(missing.error?.message)).toMatch(/subject/i);
	});
});
