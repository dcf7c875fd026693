/**
 * How store failures are named: the errors ioredis and pg throw (built here as those libraries build them, no
 * server involved) → store_unavailable / store_timeout with the store's address, through Memory's retries and when a
 * store cannot be opened.
 */
import Redis, { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError as IoredisMaxRetries } from 'ioredis/built/errors';
import { DatabaseError, Pool } from 'pg';

import {
	InProcessMemoryStore,
	Memory,
	MemoryError,
	namespace,
	openFailure,
	PostgresMemoryStore,
	RedisMemoryStore,
	storeFailureCode,
	type MemoryStore,
} from '../../../lib/memory';
import { AttemptTimeoutError, FixedDelayRetryPolicy } from '../../../lib/retry';

/** ioredis's error for a command whose connection stayed down through its reconnections (its base class is untyped). */
const MaxRetriesPerRequestError = IoredisMaxRetries as unknown as new (maxRetries: number) => Error;

/** A socket error as Node's net module makes it (what ioredis and pg pass on). */
const socketError = (code: string, message: string) =>
	Object.assign(new Error(message), { code, errno: -1, syscall: 'connect' });

/** A Postgres error reply as pg-protocol makes it. */
const pgError = (code: string, message: string) =>
	Object.assign(new DatabaseError(message, message.length, 'error'), { code, severity: 'FATAL' });

/** How n8n hands a sub-node's error to the node that called it (recordCall, getInputConnectionData). */
const wrapped = (cause: Error) => new Error(cause.message, { cause });

describe('storeFailureCode', () => {
	it.each([
		['ioredis MaxRetriesPerRequestError', new MaxRetriesPerRequestError(2)],
		['a refused connection', socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:6390')],
		['a reset connection', socketError('ECONNRESET', 'read ECONNRESET')],
		['an unknown host', socketError('ENOTFOUND', 'getaddrinfo ENOTFOUND redis.invalid')],
		['ioredis "Connection is closed."', new Error('Connection is closed.')],
		[
			'Redis still loading its data',
			new ReplyError('LOADING Redis is loading the dataset in memory'),
		],
		['pg "Connection terminated unexpectedly"', new Error('Connection terminated unexpectedly')],
		[
			'a pg client after a connection error',
			new Error('Client has encountered a connection error and is not queryable'),
		],
		[
			'Postgres admin shutdown (57P01)',
			pgError('57P01', 'terminating connection due to administrator command'),
		],
		['Postgres connection failure (08006)', pgError('08006', 'connection failure')],
		[
			'a refused connection wrapped by n8n',
			wrapped(socketError('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432')),
		],
		['MaxRetriesPerRequestError wrapped by n8n', wrapped(new MaxRetriesPerRequestError(2))],
	])('%s: store_unavailable', (_, error) => {
		expect(storeFailureCode(error)).toBe('store_unavailable');
	});

	it.each([
		['ioredis "Command timed out"', new Error('Command timed out')],
		['ioredis connect timeout', socketError('ETIMEDOUT', 'connect ETIMEDOUT')],
		['pg query_timeout', new Error('Query read timeout')],
		[
			'Postgres statement_timeout (57014)',
			pgError('57014', 'canceling statement due to statement timeout'),
		],
		['pg-pool waiting for a client', new Error('timeout exceeded when trying to connect')],
		[
			'pg-pool connection timeout',
			new Error('Connection terminated due to connection timeout', {
				cause: new Error('Connection terminated unexpectedly'),
			}),
		],
		['pg connectionTimeoutMillis', new Error('timeout expired')],
		['our attempt timeout', new AttemptTimeoutError(1000)],
	])('%s: store_timeout', (_, error) => {
		expect(storeFailureCode(error)).toBe('store_timeout');
	});

	it.each([
		[
			'a unique violation (23505)',
			pgError('23505', 'duplicate key value violates unique constraint'),
		],
		[
			'a wrong Redis type',
			new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'),
		],
		['a Redis password refused', new ReplyError('WRONGPASS invalid username-password pair')],
		['our own error', new MemoryError('too big', 'invalid_value')],
		['a store failure already named', new MemoryError('could not be reached', 'store_unavailable')],
		[
			'a cancellation',
			Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }),
		],
		['an HTTP error', Object.assign(new Error('Service Unavailable'), { status: 503 })],
		['a programming error', new TypeError('x is not a function')],
	])('%s: not a store failure', (_, error) => {
		expect(storeFailureCode(error)).toBeUndefined();
	});
});

describe('Memory names store failures with the store and the attempts', () => {
	const ns = namespace('t', 'custom', 'failures');
	const address = 'Redis 127.0.0.1:6390';

	/** An in-process store that says it is `address` and whose calls first throw `errors` (one per call). */
	function failing(errors: unknown[]) {
		const store = new InProcessMemoryStore();
		const requests: Array<string | undefined> = [];
		const next = () => {
			const error = errors.shift();
			if (error) throw error;
		};
		const flaky: MemoryStore = Object.assign(Object.create(store) as MemoryStore, {
			address,
			get: async (...args: Parameters<MemoryStore['get']>) => {
				next();
				return store.get(...args);
			},
			appendMessages: async (...args: Parameters<MemoryStore['appendMessages']>) => {
				requests.push(args[3]?.requestId);
				next();
				return store.appendMessages(...args);
			},
		});
		return { store, requests, flaky };
	}
	const memoryOver = (store: MemoryStore, maxRetries = 2) =>
		new Memory({ store, retry: new FixedDelayRetryPolicy({ maxRetries, delay: 1, jitter: 0 }) });

	it('retries ioredis MaxRetriesPerRequestError, then fails with store_unavailable naming the server', async () => {
		const { flaky } = failing([1, 2, 3].map(() => new MaxRetriesPerRequestError(2)));
		const failure = await memoryOver(flaky)
			.get(ns, 'k')
			.catch((error: unknown) => error);
		expect(failure).toBeInstanceOf(MemoryError);
		expect(failure).toMatchObject({
			code: 'store_unavailable',
			message: `The memory store (${address}) could not be reached (3 attempts): Reached the max retries per request limit (which is 2). Refer to "maxRetriesPerRequest" option for details.`,
		});
	});

	it('names a timeout store_timeout', async () => {
		const { flaky } = failing([pgError('57014', 'canceling statement due to statement timeout')]);
		await expect(memoryOver(flaky, 0).get(ns, 'k')).rejects.toMatchObject({
			code: 'store_timeout',
			message: `The memory store (${address}) did not answer in time (1 attempt): canceling statement due to statement timeout`,
		});
	});

	it('retries appending a conversation after a lost connection, with one request ID for every attempt', async () => {
		const { flaky, requests, store } = failing([
			new MaxRetriesPerRequestError(2),
			new Error('Connection is closed.'),
		]);
		await expect(
			memoryOver(flaky).appendMessages(ns, 'chat', [
				{ role: 'user', content: 'hi' },
				{ role: 'assistant', content: 'hello' },
			]),
		).resolves.toEqual({ length: 2 });
		expect(requests).toHaveLength(3);
		expect(new Set(requests).size).toBe(1);
		expect(requests[0]).toMatch(/^[0-9a-f-]{36}$/);
		expect(await store.readMessages(ns, 'chat')).toHaveLength(2);
	});

	it('gives every append its own request ID', async () => {
		const { flaky, requests } = failing([]);
		const memory = memoryOver(flaky);
		await memory.appendMessages(ns, 'chat', [{ role: 'user', content: 'one' }]);
		await memory.appendMessages(ns, 'chat', [{ role: 'user', content: 'two' }]);
		expect(requests[0]).not.toBe(requests[1]);
	});
});

describe('openFailure', () => {
	const address = 'Redis 127.0.0.1:6390';

	it.each([
		[socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:6390'), 'store_unavailable'],
		[new Error('Command timed out'), 'store_timeout'],
		[new ReplyError('WRONGPASS invalid username-password pair'), 'store_unavailable'],
		[new Error('self-signed certificate in certificate chain'), 'store_unavailable'],
	])('%s → %s, naming the store', (error, code) => {
		expect(openFailure(error, address)).toMatchObject({
			code,
			message: `Cannot open the memory store (${address}): ${error.message}`,
		});
	});

	it('keeps our own errors', () => {
		const own = new MemoryError('A Redis key prefix is required', 'invalid_address');
		expect(openFailure(own, address)).toBe(own);
	});
});

describe('store addresses', () => {
	it('come from the client and pool options', async () => {
		const redis = new Redis({ host: '127.0.0.1', port: 6390, lazyConnect: true });
		const onDb = new Redis({ host: 'cache.internal', port: 6379, db: 3, lazyConnect: true });
		const pool = new Pool({ host: '127.0.0.1', port: 5432, database: 'n8n' });
		try {
			expect(new RedisMemoryStore(redis, 'p').address).toBe('Redis 127.0.0.1:6390');
			expect(new RedisMemoryStore(onDb, 'p').address).toBe('Redis cache.internal:6379/3');
			expect(new PostgresMemoryStore(pool, 'p').address).toBe('Postgres 127.0.0.1:5432/n8n');
			expect(new InProcessMemoryStore().address).toBe('in-process');
		} finally {
			redis.disconnect();
			onDb.disconnect();
			await pool.end();
		}
	});
});
