/** The Memory node in workflows run in-process, on real Redis and Postgres. */
import { randomBytes } from 'node:crypto';

import type { INodeParameters } from 'n8n-workflow';

import { memoryStoreCredentialTest } from '../../nodes/shared/clients/memoryStore';
import {
	createDatabaseIfMissing,
	deleteKeys,
	dropDatabase,
	postgresFromEnv,
	redisFromEnv,
} from '../../stack/services';
import { testNodeTypes } from '../support/test-nodes';
import { itemsInto, runWorkflow, type WorkflowJson } from '../support/workflow-runner';

const run = randomBytes(4).toString('hex');
const database = `openagents_nodes_${run}`;
const credentials = {
	redis: {
		backend: 'redis',
		host: '127.0.0.1',
		redisPort: 6379,
		redisDatabase: 0,
		prefix: `openagents-nodes-${run}`,
		allowIsolationKeys: true,
	},
	postgres: {
		backend: 'postgres',
		host: '127.0.0.1',
		postgresPort: 5432,
		postgresDatabase: database,
		allowIsolationKeys: true,
		user: postgresFromEnv().user,
		prefix: 'oa_nodes',
	},
};

beforeAll(() => createDatabaseIfMissing(postgresFromEnv(), database));
afterAll(async () => {
	await deleteKeys(redisFromEnv(), `openagents-nodes-${run}:*`);
	await dropDatabase(postgresFromEnv(), database);
});

/** Items → one Memory node with `parameters`. */
function flow(items: object[], parameters: INodeParameters, continueOnFail = false): WorkflowJson {
	return itemsInto(items, {
		name: 'Memory',
		type: 'openAgentsMemory',
		parameters,
		credentials: { openAgentsMemoryStore: { id: '1', name: 'store' } },
		continueOnFail,
	});
}

describe.each(['redis', 'postgres'] as const)('on %s', (backend) => {
	const exec = (items: object[], parameters: INodeParameters, continueOnFail = false) =>
		runWorkflow(
			flow(
				items,
				{ store: 'credential', scope: 'custom', scopeId: `ns-${backend}`, ...parameters },
				continueOnFail,
			),
			{
				nodeTypes: testNodeTypes,
				credentials: { openAgentsMemoryStore: credentials[backend] },
			},
		);
	const json = (result: Awaited<ReturnType<typeof exec>>) =>
		result.outputs.Memory[0].map((i) => i.json);

	it('sets values per item (isolation key from an expression) and reads each back only under its own key', async () => {
		const customers = [
			{ customer: 'acme', plan: 'gold' },
			{ customer: 'globex', plan: 'free' },
		];
		const written = await exec(customers, {
			operation: 'set',
			isolationKey: '={{ $json.customer }}',
			key: 'plan',
			value: '={{ $json.plan }}',
		});
		expect(written.status).toBe('success');
		expect(json(written)).toEqual([
			{ key: 'plan', version: 1, scope: 'custom', scopeId: `ns-${backend}` },
			{ key: 'plan', version: 1, scope: 'custom', scopeId: `ns-${backend}` },
		]);
		expect(written.outputs.Memory[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);

		const read = await exec(
			[{ customer: 'globex' }, { customer: 'acme' }, { customer: 'initech' }],
			{ operation: 'get', isolationKey: '={{ $json.customer }}', key: 'plan' },
		);
		expect(json(read).map((j) => [j.found, j.value])).toEqual([
			[true, 'free'],
			[true, 'gold'],
			[false, null],
		]);
	});

	it('defaults the workflow scope ID to the workflow ID and counts atomically', async () => {
		const result = await exec([{}, {}, {}], {
			operation: 'increment',
			scope: 'workflow',
			scopeId: '',
			key: 'runs',
			by: 2,
		});
		expect(json(result).map((j) => j.value)).toEqual([2, 4, 6]);
		expect(json(result)[0].scopeId).toBe('in-process');
	});

	it('keeps a conversation and returns the latest whole turns', async () => {
		const messages = [
			{ role: 'user', content: 'hi' },
			{ role: 'assistant', content: 'hello' },
			{ role: 'user', content: 'what is n8n?' },
			{ role: 'assistant', content: 'a workflow tool' },
		];
		await exec(messages, {
			resource: 'conversation',
			operation: 'appendMessage',
			scope: 'session',
			scopeId: 'user-7',
			key: 'chat',
			role: '={{ $json.role }}',
			content: '={{ $json.content }}',
		});
		const result = await exec([{}], {
			resource: 'conversation',
			operation: 'getMessages',
			scope: 'session',
			scopeId: 'user-7',
			key: 'chat',
			maxMessages: 3,
		});
		expect(json(result)[0].count).toBe(2);
		expect((json(result)[0].messages as Array<{ content: string }>).map((m) => m.content)).toEqual([
			'what is n8n?',
			'a workflow tool',
		]);
	});

	it('refuses a scope the access policy does not allow, per item, and reports it with continueOnFail', async () => {
		const params = {
			operation: 'set',
			scope: 'global',
			key: 'k',
			value: '1',
			options: { writeScopes: ['session'] },
		};
		const failed = await exec([{}], params);
		expect(failed.status).toBe('error');
		expect(failed.error?.message).toMatch(
			/may not write the global scope \(allowed to write: session\)/,
		);
		const continued = await exec([{}], params, true);
		expect(json(continued)).toEqual([
			{ error: expect.stringMatching(/may not write the global scope/), code: 'access_denied' },
		]);
	});

	it('rejects a compare-and-set on a stale version without writing', async () => {
		await exec([{}], { operation: 'set', key: 'cas', value: '"v1"' });
		const stale = await exec(
			[{}],
			{ operation: 'set', key: 'cas', value: '"v2"', ifVersion: 5 },
			true,
		);
		expect(json(stale)[0]).toMatchObject({
			code: 'version_conflict',
			error: expect.stringMatching(/expected version 5, found 1/),
		});
		const read = await exec([{}], { operation: 'get', key: 'cas' });
		expect(json(read)[0]).toMatchObject({ value: 'v1', version: 1 });
	});
});

describe('the credential draws the tenant boundary', () => {
	const exec = (
		credential: Record<string, unknown>,
		items: object[],
		parameters: INodeParameters,
	) =>
		runWorkflow(
			flow(items, { store: 'credential', scope: 'custom', scopeId: 'shared', ...parameters }, true),
			{
				nodeTypes: testNodeTypes,
				credentials: { openAgentsMemoryStore: { ...credentials.redis, ...credential } },
			},
		);
	const out = (result: Awaited<ReturnType<typeof exec>>) =>
		result.outputs.Memory[0].map((i) => i.json);

	it('no node parameter reaches another tenant: same scope, key and isolation key, other credential tenant', async () => {
		const acme = { tenant: 'acme' };
		const globex = { tenant: 'globex' };
		await exec(acme, [{ customer: 'c1' }], {
			operation: 'set',
			key: 'plan',
			value: '"gold"',
			isolationKey: '={{ $json.customer }}',
		});
		const fromGlobex = await exec(globex, [{ customer: 'c1' }, { customer: 'acme' }], {
			operation: 'get',
			key: 'plan',
			isolationKey: '={{ $json.customer }}',
		});
		expect(out(fromGlobex).map((j) => j.found)).toEqual([false, false]);
		const fromAcme = await exec(acme, [{ customer: 'c1' }], {
			operation: 'get',
			key: 'plan',
			isolationKey: '={{ $json.customer }}',
		});
		expect(out(fromAcme)[0]).toMatchObject({ found: true, value: 'gold' });
		// A tenant named like "tenant/isolation key" is still another tenant.
		const lookalike = await exec({ tenant: 'acme/c1' }, [{}], { operation: 'get', key: 'plan' });
		expect(out(lookalike)[0].found).toBe(false);
	});

	it('refuses an isolation key unless the credential allows them, per item', async () => {
		const result = await exec(
			{ tenant: 'acme', allowIsolationKeys: false },
			[{ c: '' }, { c: 'bob' }],
			{
				operation: 'get',
				key: 'plan',
				isolationKey: '={{ $json.c }}',
			},
		);
		expect(out(result)[0]).toMatchObject({ found: false });
		expect(out(result)[1]).toMatchObject({
			code: 'access_denied',
			error: expect.stringMatching(/does not allow isolation keys/),
		});
	});

	it("cannot address the Planner's checkpoints, even through an expression", async () => {
		const result = await exec({}, [{ s: 'plan-run' }], {
			operation: 'listKeys',
			scope: '={{ $json.s }}',
			scopeId: 'in-process/x',
		});
		expect(out(result)[0]).toMatchObject({
			code: 'invalid_address',
			error: expect.stringMatching(/Unknown scope "plan-run"/),
		});
	});
});

describe('bad input', () => {
	const exec = (parameters: INodeParameters) =>
		runWorkflow(
			flow(
				[{ n: 1 }, { n: 2 }],
				{ store: 'credential', scope: 'custom', scopeId: 'bad', ...parameters },
				true,
			),
			{
				nodeTypes: testNodeTypes,
				credentials: { openAgentsMemoryStore: credentials.redis },
			},
		);

	it('names invalid JSON, empty keys and missing scope IDs per item, losing no item', async () => {
		const badJson = await exec({ operation: 'set', key: 'k', value: '{not json' });
		expect(badJson.outputs.Memory[0].map((i) => i.json.error)).toEqual([
			expect.stringMatching(/"value" is not valid JSON/),
			expect.stringMatching(/not valid JSON/),
		]);
		const emptyKey = await exec({ operation: 'get', key: '={{ "" }}' });
		expect(emptyKey.outputs.Memory[0][0].json.error).toMatch(/key must be a non-empty string/);
		const noScopeId = await exec({ operation: 'get', scope: 'session', scopeId: '', key: 'k' });
		expect(noScopeId.outputs.Memory[0][1].json.error).toMatch(/session scope needs a scope ID/);
		expect(noScopeId.outputs.Memory[0].map((i) => i.pairedItem)).toEqual([
			{ item: 0 },
			{ item: 1 },
		]);
	});

	it('refuses the in-process store in queue mode, and uses it otherwise', async () => {
		const params = {
			store: 'inProcess',
			operation: 'set',
			scope: 'custom',
			scopeId: 'x',
			key: 'k',
			value: '1',
		};
		const previous = process.env.EXECUTIONS_MODE;
		process.env.EXECUTIONS_MODE = 'queue';
		try {
			const refused = await runWorkflow(flow([{}], params), { nodeTypes: testNodeTypes });
			expect(refused.error?.message).toMatch(
				/Cannot open the memory store: .*queue mode.*Choose the Redis or Postgres store/,
			);
		} finally {
			process.env.EXECUTIONS_MODE = previous;
		}
		const ok = await runWorkflow(flow([{}], params), { nodeTypes: testNodeTypes });
		expect(ok.outputs.Memory[0][0].json).toMatchObject({ version: 1 });
	});

	it('fails clearly when the store is unreachable', async () => {
		const result = await runWorkflow(
			flow([{}], { store: 'credential', operation: 'get', scope: 'global', key: 'k' }),
			{
				nodeTypes: testNodeTypes,
				credentials: { openAgentsMemoryStore: { ...credentials.redis, redisPort: 1 } },
			},
		);
		// The message names the server (n8n's own wording of ECONNREFUSED would not), the hint what to check.
		expect(result.error?.message).toMatch(
			/^Item 0: Cannot open the memory store \(Redis [^)]+:1\): connect ECONNREFUSED/,
		);
		expect((result.error as { description?: string }).description).toMatch(
			/could not be reached: check that the Redis or Postgres server is up/,
		);
		expect(result.status).toBe('error');
	});
});

describe('credential test', () => {
	const test = (data: object) =>
		memoryStoreCredentialTest.call(
			{} as never,
			{ id: '1', name: 'x', type: 'openAgentsMemoryStore', data } as never,
		);

	it.each(['redis', 'postgres'] as const)(
		'%s: OK when reachable, a clear error otherwise',
		async (backend) => {
			expect(await test(credentials[backend])).toEqual({
				status: 'OK',
				message: 'Connection successful',
			});
			const bad = await test({ ...credentials[backend], redisPort: 1, postgresPort: 1 });
			expect(bad.status).toBe('Error');
			expect(bad.message).toMatch(
				new RegExp(
					`Cannot reach the ${backend === 'redis' ? 'Redis' : 'Postgres'} server: .*ECONNREFUSED`,
				),
			);
		},
	);
});
