/**
 * Every store (in-process, real Redis, real Postgres) against the same contract, then isolation and concurrency
 * properties on the shared stores. Each run uses its own Redis key prefix and its own Postgres database.
 */
import { randomBytes } from 'node:crypto';

import fc from 'fast-check';
import Redis from 'ioredis';
import { Pool } from 'pg';

import {
	InProcessMemoryStore,
	Memory,
	MemoryError,
	messagesToTrim,
	namespace,
	PostgresMemoryStore,
	RedisMemoryStore,
	VersionConflictError,
	type MemoryStore,
	type Namespace,
} from '../../../lib/memory';
import {
	createDatabaseIfMissing,
	deleteKeys,
	dropDatabase,
	postgresFromEnv,
	redisFromEnv,
} from '../../../stack/services';

const run = randomBytes(4).toString('hex');
const redisPrefix = `openagents-test-${run}`;
const database = `openagents_test_${run}`;
let redis: Redis;
let pool: Pool;
const stores: Record<string, MemoryStore> = {};

beforeAll(async () => {
	redis = new Redis({ ...redisFromEnv(), lazyConnect: true });
	await redis.connect();
	await createDatabaseIfMissing(postgresFromEnv(), database);
	pool = new Pool({ ...postgresFromEnv(), database, max: 20 });
	stores['in-process'] = new InProcessMemoryStore();
	stores.redis = new RedisMemoryStore(redis, redisPrefix);
	stores.postgres = new PostgresMemoryStore(pool, 'oa_test');
});

afterAll(async () => {
	redis?.disconnect();
	await pool?.end();
	await deleteKeys(redisFromEnv(), `${redisPrefix}:*`);
	await dropDatabase(postgresFromEnv(), database);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let nsCounter = 0;
/** A fresh namespace per test, so tests on the shared stores never see each other's keys. */
const freshNs = (): Namespace => namespace(`tenant-${run}`, 'workflow', `wf-${++nsCounter}`);

describe.each(['in-process', 'redis', 'postgres'])('%s store', (kind) => {
	const store = () => stores[kind];

	it('sets, gets and versions values; a missing key is undefined', async () => {
		const ns = freshNs();
		expect(await store().get(ns, 'a')).toBeUndefined();
		expect(await store().set(ns, 'a', JSON.stringify({ x: [1, 'two', null] }))).toBe(1);
		expect(await store().set(ns, 'a', JSON.stringify('second'))).toBe(2);
		expect(await store().get(ns, 'a')).toEqual({ value: 'second', version: 2 });
	});

	it('compare-and-set: writes on the expected version, conflicts otherwise; 0 means create only', async () => {
		const ns = freshNs();
		expect(await store().set(ns, 'c', '1', { ifVersion: 0 })).toBe(1);
		await expect(store().set(ns, 'c', '2', { ifVersion: 0 })).rejects.toBeInstanceOf(
			VersionConflictError,
		);
		expect(await store().set(ns, 'c', '2', { ifVersion: 1 })).toBe(2);
		const conflict = (await store()
			.set(ns, 'c', '3', { ifVersion: 1 })
			.catch((e: unknown) => e)) as VersionConflictError;
		expect(conflict).toBeInstanceOf(VersionConflictError);
		expect([conflict.expectedVersion, conflict.actualVersion]).toEqual([1, 2]);
		await expect(store().set(ns, 'missing', '1', { ifVersion: 3 })).rejects.toBeInstanceOf(
			VersionConflictError,
		);
		expect(await store().get(ns, 'missing')).toBeUndefined();
		expect((await store().get(ns, 'c'))?.value).toBe(2);
	});

	it('deletes, reporting whether the key existed', async () => {
		const ns = freshNs();
		await store().set(ns, 'd', '1');
		expect(await store().delete(ns, 'd')).toBe(true);
		expect(await store().delete(ns, 'd')).toBe(false);
		expect(await store().get(ns, 'd')).toBeUndefined();
		expect((await store().list(ns)).keys).toEqual([]);
	});

	it('expires keys after their TTL; a plain set makes a key persistent again', async () => {
		const ns = freshNs();
		await store().set(ns, 'short', '"x"', { ttlMs: 150 });
		await store().set(ns, 'kept', '"y"', { ttlMs: 150 });
		await store().set(ns, 'kept', '"y2"');
		expect((await store().get(ns, 'short'))?.value).toBe('x');
		await sleep(400);
		expect(await store().get(ns, 'short')).toBeUndefined();
		expect((await store().get(ns, 'kept'))?.value).toBe('y2');
		expect((await store().list(ns)).keys).toEqual(['kept']);
		expect(await store().set(ns, 'short', '"new"', { ifVersion: 0 })).toBe(1);
	});

	it('lists keys in byte order, by prefix, in pages', async () => {
		const ns = freshNs();
		const keys = ['b', 'a', 'user:2', 'user:10', 'user:1', 'ümlaut', 'Z', 'user'];
		for (const k of keys) await store().set(ns, k, '0');
		const all: string[] = [];
		let cursor: string | undefined;
		do {
			const page = await store().list(ns, { limit: 3, cursor });
			expect(page.keys.length).toBeLessThanOrEqual(3);
			all.push(...page.keys);
			cursor = page.nextCursor;
		} while (cursor);
		expect(all).toEqual(['Z', 'a', 'b', 'user', 'user:1', 'user:10', 'user:2', 'ümlaut']);
		expect((await store().list(ns, { prefix: 'user:' })).keys).toEqual([
			'user:1',
			'user:10',
			'user:2',
		]);
		expect((await store().list(ns, { prefix: 'user:', limit: 2 })).nextCursor).toBe('user:10');
	});

	it('increments numbers (missing = 0) and rejects non-numbers', async () => {
		const ns = freshNs();
		expect(await store().increment(ns, 'n', 5)).toEqual({ value: 5, version: 1 });
		expect(await store().increment(ns, 'n', -2.5)).toEqual({ value: 2.5, version: 2 });
		await store().set(ns, 's', '"5"');
		await expect(store().increment(ns, 's', 1)).rejects.toMatchObject({ code: 'wrong_type' });
		expect((await store().get(ns, 's'))?.value).toBe('5');
	});

	it('appends to lists (missing = []) and rejects non-lists', async () => {
		const ns = freshNs();
		expect(await store().append(ns, 'l', ['1', '{"a":2}'])).toEqual({ length: 2, version: 1 });
		expect(await store().append(ns, 'l', ['"three"'])).toEqual({ length: 3, version: 2 });
		expect((await store().get(ns, 'l'))?.value).toEqual([1, { a: 2 }, 'three']);
		await store().set(ns, 'empty', '[]');
		expect(await store().append(ns, 'empty', ['null'])).toMatchObject({ length: 1 });
		expect((await store().get(ns, 'empty'))?.value).toEqual([null]);
		await store().set(ns, 'obj', '{"a":1}');
		await expect(store().append(ns, 'obj', ['1'])).rejects.toBeInstanceOf(MemoryError);
		expect((await store().get(ns, 'obj'))?.value).toEqual({ a: 1 });
	});

	describe('conversations', () => {
		const msg = (role: string, content: string) => JSON.stringify({ role, content });
		const contents = async (ns: Namespace, key: string, limit?: number) =>
			(await store().readMessages(ns, key, limit)).map((m) => (m as { content: string }).content);

		it('append in order and read from the end; kept apart from values; deleted with the key', async () => {
			const ns = freshNs();
			expect(await store().readMessages(ns, 'chat')).toEqual([]);
			expect(
				await store().appendMessages(ns, 'chat', [msg('user', 'u1'), msg('assistant', 'a1')]),
			).toEqual({
				length: 2,
			});
			expect(await store().appendMessages(ns, 'chat', [msg('user', 'u2')])).toEqual({ length: 3 });
			expect(await contents(ns, 'chat')).toEqual(['u1', 'a1', 'u2']);
			expect(await contents(ns, 'chat', 2)).toEqual(['a1', 'u2']);
			expect(await contents(ns, 'chat', 10)).toEqual(['u1', 'a1', 'u2']);
			// A value under the same key is another thing: neither sees nor changes the conversation.
			expect(await store().get(ns, 'chat')).toBeUndefined();
			await store().set(ns, 'chat', '"value"');
			expect(await contents(ns, 'chat')).toEqual(['u1', 'a1', 'u2']);
			expect(await contents(freshNs(), 'chat')).toEqual([]);
			expect(await store().delete(ns, 'chat')).toBe(true);
			expect(await contents(ns, 'chat')).toEqual([]);
			expect(await store().get(ns, 'chat')).toBeUndefined();
			await store().appendMessages(ns, 'only', [msg('user', 'x')]);
			expect(await store().delete(ns, 'only')).toBe(true);
			expect(await store().delete(ns, 'only')).toBe(false);
		});

		it('Max Stored removes the oldest whole turns, never the latest one', async () => {
			const ns = freshNs();
			const turn = (n: number, tools = 0) => [
				msg('user', `u${n}`),
				...Array.from({ length: tools }, (_, i) => msg('tool', `t${n}.${i}`)),
				msg('assistant', `a${n}`),
			];
			await store().appendMessages(ns, 'c', turn(1), { maxStored: 5 });
			await store().appendMessages(ns, 'c', turn(2), { maxStored: 5 });
			// 7 messages: the first turn goes (cutting inside turn 2 would leave its answer without its question).
			expect(await store().appendMessages(ns, 'c', turn(3, 1), { maxStored: 5 })).toEqual({
				length: 5,
			});
			expect(await contents(ns, 'c')).toEqual(['u2', 'a2', 'u3', 't3.0', 'a3']);
			// A turn longer than the cap is kept whole; the turns before it go.
			expect(await store().appendMessages(ns, 'c', turn(4, 6), { maxStored: 5 })).toEqual({
				length: 8,
			});
			expect((await contents(ns, 'c'))[0]).toBe('u4');
		});

		it('trims exactly as messagesToTrim says, for any roles and cap', async () => {
			await fc.assert(
				fc.asyncProperty(
					fc.array(
						fc.array(fc.constantFrom('user', 'assistant', 'tool', 'system'), {
							minLength: 1,
							maxLength: 4,
						}),
						{
							minLength: 1,
							maxLength: 6,
						},
					),
					fc.integer({ min: 1, max: 8 }),
					async (batches, max) => {
						const ns = freshNs();
						let kept: Array<{ role: string; content: string }> = [];
						let n = 0;
						for (const roles of batches) {
							const batch = roles.map((role) => ({ role, content: String(n++) }));
							await store().appendMessages(
								ns,
								'p',
								batch.map((m) => JSON.stringify(m)),
								{ maxStored: max },
							);
							const all = [...kept, ...batch];
							kept = all.slice(
								messagesToTrim(
									all.map((m) => m.role),
									max,
								),
							);
						}
						const expected = kept.map((m) => m.content);
						expect(await contents(ns, 'p')).toEqual(expected);
					},
				),
				{ numRuns: 25 },
			);
		});

		it('expires with its TTL, renewed by each append', async () => {
			const ns = freshNs();
			await store().appendMessages(ns, 't', [msg('user', 'old')], { ttlMs: 300 });
			await sleep(150);
			await store().appendMessages(ns, 't', [msg('assistant', 'renewed')], { ttlMs: 300 });
			await sleep(200);
			expect(await contents(ns, 't')).toEqual(['old', 'renewed']);
			await sleep(250);
			expect(await contents(ns, 't')).toEqual([]);
			await store().appendMessages(ns, 't', [msg('user', 'new')]);
			expect(await contents(ns, 't')).toEqual(['new']);
		});
	});

	it('stores NUL inside values where the backend can, and says so clearly where it cannot', async () => {
		const ns = freshNs();
		const write = store().set(ns, 'nul', JSON.stringify('a\u0000b'));
		if (kind === 'postgres') await expect(write).rejects.toThrow(/cannot store the NUL character/);
		else expect((await write, await store().get(ns, 'nul'))?.value).toBe('a\u0000b');
	});
});

// Hostile strings: separators, glob and LIKE wildcards, slashes, percent signs, unicode, empty, very long.
const hostile = fc.oneof(
	fc.constantFrom(
		'',
		':',
		'*',
		'?',
		'[a]',
		'%',
		'_',
		'\\',
		'/',
		'..',
		'a:b',
		'%3A',
		'*:*',
		'kv',
		'ix',
		'\u0000',
		'🙂',
		'ä',
		'A',
		'a',
	),
	fc.string({ maxLength: 8, unit: 'grapheme' }),
	fc.string({ minLength: 200, maxLength: 240 }),
);

describe.each(['redis', 'postgres'])('isolation on %s', (kind) => {
	it("property: no read, list or delete in one namespace ever returns or touches another namespace's data", async () => {
		const store = stores[kind];
		const scopes = ['global', 'workflow', 'execution', 'session', 'agent', 'custom'] as const;
		const address = fc.record({
			tenant: hostile,
			scope: fc.constantFrom(...scopes),
			scopeId: hostile.filter((s) => s.length > 0),
			key: hostile.filter((s) => s.length > 0 && !s.includes('\u0000')),
		});
		await fc.assert(
			fc.asyncProperty(address, address, async (a, b) => {
				const nsA = namespace(`${run}${a.tenant}`, a.scope, a.scope === 'global' ? '' : a.scopeId);
				const nsB = namespace(`${run}${b.tenant}`, b.scope, b.scope === 'global' ? '' : b.scopeId);
				const same = JSON.stringify(nsA) === JSON.stringify(nsB);
				await store.set(nsA, a.key, JSON.stringify({ owner: 'A' }));
				await store.set(nsB, b.key, JSON.stringify({ owner: 'B' }));
				const readA = await store.get(nsA, a.key);
				if (!same || a.key !== b.key) expect(readA?.value).toEqual({ owner: 'A' });
				// Listing A never shows B's key unless B is the same namespace.
				const listed = (await store.list(nsA, { limit: 1000 })).keys;
				if (!same) expect(listed).toEqual([a.key]);
				// Deleting A's key (and a wildcard-looking key) never removes B's.
				await store.delete(nsA, a.key);
				await store.delete(nsA, '*');
				if (!same || a.key !== b.key)
					expect((await store.get(nsB, b.key))?.value).toEqual({ owner: 'B' });
				await store.delete(nsB, b.key);
			}),
			{ numRuns: 1000 },
		);
	}, 240_000);
});

describe.each(['redis', 'postgres'])('conversation appends with a request ID on %s', (kind) => {
	const msg = (content: string) => JSON.stringify({ role: 'user', content });

	it('run once however often the same request arrives, also at the same time', async () => {
		const store = stores[kind];
		const ns = freshNs();
		const sent = (requestId: string, content: string) =>
			store.appendMessages(ns, 'chat', [msg(content)], { requestId });
		expect(await sent(`a-${run}`, 'a')).toEqual({ length: 1 });
		// A retry of a request that ran (its answer was lost) changes nothing and reports the length as it is.
		expect(await sent(`a-${run}`, 'a')).toEqual({ length: 1 });
		const both = await Promise.all([sent(`b-${run}`, 'b'), sent(`b-${run}`, 'b')]);
		expect(both.map((r) => r.length).sort()).toEqual([2, 2]);
		expect(await sent(`c-${run}`, 'c')).toEqual({ length: 3 });
		expect(
			(await store.readMessages(ns, 'chat')).map((m) => (m as { content: string }).content),
		).toEqual(['a', 'b', 'c']);
	});

	it('names its server', () => {
		expect(stores[kind].address).toMatch(
			kind === 'redis' ? /^Redis [^ ]+:\d+(\/\d+)?$/ : /^Postgres [^ ]+:\d+\/openagents_test_/,
		);
	});
});

describe('postgres store and server-side disconnects', () => {
	it('an idle connection terminated by the server does not crash the process; the next call reconnects', async () => {
		const ns = freshNs();
		await stores.postgres.set(ns, 'before', '1');
		const admin = new Pool({ ...postgresFromEnv(), database, max: 1 });
		try {
			// Terminates every other session on this run's own database: the store pool's idle clients.
			const { rows } = await admin.query(
				'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
				[database],
			);
			expect(rows[0].n).toBeGreaterThan(0);
		} finally {
			await admin.end();
		}
		await sleep(200); // the FATAL message reaches the idle clients; unhandled, it would fail this test file
		expect(await stores.postgres.get(ns, 'before')).toEqual({ value: 1, version: 1 });
	});
});

describe.each(['redis', 'postgres'])('concurrency on %s', (kind) => {
	it('500 concurrent increments, appends and conversation appends from separate clients lose no update', async () => {
		const ns = freshNs();
		// Two independent clients stand in for two workers.
		const second =
			kind === 'redis'
				? new RedisMemoryStore(new Redis({ ...redisFromEnv() }), redisPrefix, true)
				: new PostgresMemoryStore(
						new Pool({ ...postgresFromEnv(), database, max: 20 }),
						'oa_test',
						true,
					);
		const clients = [new Memory({ store: stores[kind] }), new Memory({ store: second })];
		try {
			await Promise.all(
				Array.from({ length: 500 }, (_, i) =>
					Promise.all([
						clients[i % 2].increment(ns, 'counter', 1),
						clients[(i + 1) % 2].append(ns, 'log', [{ i }]),
						clients[i % 2].appendMessages(ns, 'chat', [{ role: 'user', content: String(i) }]),
					]),
				),
			);
			const chat = await clients[0].readMessages(ns, 'chat', {});
			expect(chat.map((m) => Number(m.content)).sort((x, y) => x - y)).toEqual(
				Array.from({ length: 500 }, (_, i) => i),
			);
			expect(await clients[0].get(ns, 'counter')).toEqual({ value: 500, version: 500 });
			const log = (await clients[1].get(ns, 'log'))!;
			expect(log.version).toBe(500);
			expect((log.value as Array<{ i: number }>).map((e) => e.i).sort((x, y) => x - y)).toEqual(
				Array.from({ length: 500 }, (_, i) => i),
			);
		} finally {
			await second.close();
		}
	}, 60_000);
});
