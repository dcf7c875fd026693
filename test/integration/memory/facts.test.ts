/**
 * Long-term memory on real Redis and Postgres: the contract's core (remember, recall, update with history, forget),
 * Forget checked by reading the servers directly, and hostile subjects and tenants that must reach nothing.
 * Each run uses its own Redis key prefix and its own Postgres database.
 */
import { randomBytes } from 'node:crypto';

import fc from 'fast-check';
import Redis from 'ioredis';
import { Pool } from 'pg';

import {
	encodeComponent,
	internalNamespace,
	Memory,
	PostgresMemoryStore,
	RedisMemoryStore,
	tenantPath,
	type MemoryStore,
} from '../../../lib/memory';
import { FACT_ACCESS, openFactMemory } from '../../../lib/memory/facts';
import {
	createDatabaseIfMissing,
	deleteKeys,
	dropDatabase,
	postgresFromEnv,
	redisFromEnv,
} from '../../../stack/services';

const run = randomBytes(4).toString('hex');
const redisPrefix = `openagents-test-facts-${run}`;
const database = `openagents_test_facts_${run}`;
let redis: Redis;
let pool: Pool;
const stores: Record<string, MemoryStore> = {};

beforeAll(async () => {
	redis = new Redis({ ...redisFromEnv(), lazyConnect: true });
	await redis.connect();
	await createDatabaseIfMissing(postgresFromEnv(), database);
	pool = new Pool({ ...postgresFromEnv(), database, max: 10 });
	stores.redis = new RedisMemoryStore(redis, redisPrefix);
	stores.postgres = new PostgresMemoryStore(pool, 'oa_test');
});

afterAll(async () => {
	redis?.disconnect();
	await pool?.end();
	await deleteKeys(redisFromEnv(), `${redisPrefix}:*`);
	await dropDatabase(postgresFromEnv(), database);
});

let tenantCounter = 0;
/** A fresh tenant per test, so tests on the shared servers never see each other's facts. */
const freshTenant = () => tenantPath(`tenant-${run}-${++tenantCounter}`);

/**
 * The fact keys the server holds for a tenant, read with the server's own client: in Redis the value hashes and,
 * separately, the members of the namespaces' key indexes (both must agree); in Postgres the rows.
 */
async function rawFactKeys(kind: string, tenant: string): Promise<string[]> {
	const marker = `${encodeComponent(tenant)}:facts:`;
	if (kind === 'redis') {
		const keys = await redis.keys(`${redisPrefix}:*`);
		const values = keys
			.filter((key) => key.includes(`:kv:${marker}`))
			.map((key) => decodeURIComponent(key.slice(key.lastIndexOf(':') + 1)));
		const indexed = await Promise.all(
			keys.filter((key) => key.includes(`:ix:${marker}`)).map((key) => redis.zrange(key, 0, -1)),
		);
		expect(indexed.flat().sort()).toEqual(values.sort());
		return values;
	}
	const { rows } = await pool.query<{ key: string }>(
		'SELECT key FROM oa_test_memory WHERE starts_with(namespace, $1) ORDER BY key',
		[marker],
	);
	return rows.map((row) => row.key);
}

const conceptEmbed = async (texts: string[]) =>
	texts.map((text) => [
		/vegetarian|vegan|meat/i.test(text) ? 1 : 0,
		/dog|puppy/i.test(text) ? 1 : 0,
	]);

describe.each(['redis', 'postgres'])('long-term memory on %s', (kind) => {
	const open = (tenant: string, embed?: typeof conceptEmbed) =>
		openFactMemory(new Memory({ store: stores[kind], policy: FACT_ACCESS }), { tenant, embed });

	it('remembers, recalls by keywords and meaning, keeps history out of recall, forgets from the server', async () => {
		const tenant = freshTenant();
		const facts = open(tenant, conceptEmbed);
		const veg = await facts.remember('user-1', 'Is vegetarian', { metadata: { topic: 'food' } });
		const dog = await facts.remember('user-1', 'Has a dog called Rex');
		expect(
			(await facts.remember('user-1', 'is vegetarian.', { metadata: { topic: 'food' } })).id,
		).toBe(veg.id);
		const recalled = await facts.recall({ subject: 'user-1', query: 'Eats vegan?', topK: 1 });
		expect(recalled.map((f) => f.id)).toEqual([veg.id]);
		const next = await facts.update('user-1', dog.id, 'Has two dogs, Rex and Bo');
		const afterUpdate = await facts.recall({ subject: 'user-1', query: 'dog called Rex', topK: 5 });
		expect(afterUpdate.map((f) => f.id)).toEqual([next.id]);
		expect(await rawFactKeys(kind, tenant)).toHaveLength(3);
		expect(await facts.forget('user-1', next.id)).toBe(2);
		const left = await rawFactKeys(kind, tenant);
		expect(left).toHaveLength(1);
		expect(left).toEqual([`fact/${veg.id}`]);
		expect(await facts.forgetSubject('user-1')).toBe(1);
		expect(await rawFactKeys(kind, tenant)).toEqual([]);
	});

	it('forgetSubject over more than one page of keys', async () => {
		const tenant = freshTenant();
		const facts = open(tenant);
		// Written straight into the subject's namespace: 1200 remembers would each read the growing subject.
		const ns = internalNamespace(tenant, 'facts', 'big');
		for (let i = 0; i < 1200; i += 100)
			await Promise.all(
				Array.from({ length: 100 }, (_, j) =>
					stores[kind].set(
						ns,
						`fact/${String(i + j).padStart(5, '0')}`,
						JSON.stringify({ id: String(i + j), text: `fact ${i + j}`, metadata: {} }),
					),
				),
			);
		await facts.remember('big', 'one real fact');
		expect(await facts.forgetSubject('big')).toBe(1201);
		expect(await rawFactKeys(kind, tenant)).toEqual([]);
	}, 60_000);

	it('hostile: subjects with separators, patterns and encodings, and another tenant, reach nothing', async () => {
		const tenant = freshTenant();
		const victim = open(tenant);
		await victim.remember('alice', 'The secret of alice');
		const attacker = open(tenantPath(`evil-${run}`));
		const sameTenantKey = open(tenantPath(tenant));
		const hostileSubjects = fc.oneof(
			fc.constantFrom(
				'alice:',
				'alice*',
				'*',
				'alice/fact/',
				'fact/alice',
				'%61lice',
				'alice%3A',
				`${tenant}:facts:alice`,
				'alice\\',
				'[a]lice',
				'?lice',
			),
			fc.string({ maxLength: 8 }).filter((s) => s.trim() !== '' && s.trim() !== 'alice'),
		);
		await fc.assert(
			fc.asyncProperty(hostileSubjects, async (subject) => {
				expect(await victim.recall({ subject, query: 'secret alice', topK: 100 })).toEqual([]);
				expect((await victim.list(subject)).facts).toEqual([]);
				expect(await victim.forgetSubject(subject)).toBe(0);
			}),
			{ numRuns: 60 },
		);
		for (const other of [attacker, sameTenantKey]) {
			expect(await other.recall({ subject: 'alice', query: 'secret alice', topK: 100 })).toEqual(
				[],
			);
			expect(await other.forgetSubject('alice')).toBe(0);
		}
		expect(await victim.recall({ subject: 'alice', query: 'secret' })).toHaveLength(1);
		expect(await rawFactKeys(kind, tenant)).toHaveLength(1);
	}, 60_000);
});
