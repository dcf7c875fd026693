/**
 * Fault injection on real servers this file starts itself (a private redis-server, a private Chroma, the offline
 * model server; Postgres faults stay inside a database of its own on the shared server). For each fault the node
 * ends within its configured timeout with a per-item error code naming the fault (or rides it out), and reading the
 * data afterwards shows nothing lost or duplicated. Each test adds a row to the README's "Fault tolerance" table
 * (OPENAGENTS_FAULT_TABLE=1 writes it).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';

import type { INode, INodeParameters } from 'n8n-workflow';
import { Client } from 'pg';

import { startChroma, type ChromaServer } from '../../stack/chroma';
import {
	lastUserText,
	OfflineModelServer,
	systemText,
	type ChatRequest,
} from '../../stack/model-server';
import { waitFor } from '../../stack/process';
import { startRedis, type PrivateRedis } from '../../stack/redis';
import { startTcpProxy } from '../../stack/tcp-proxy';
import { createDatabaseIfMissing, dropDatabase, postgresFromEnv } from '../../stack/services';
import { FaultTable } from '../support/fault-table';
import { testNodeTypes } from '../support/test-nodes';
import { chromaCredential, offlineLlmCredential } from '../support/credentials';
import {
	itemsInto,
	PACKAGE_PREFIX,
	runWorkflow,
	type RunResult,
	type WorkflowJson,
} from '../support/workflow-runner';
import { planTask } from '../support/plans';

/**
 * Every test's own time limit: several times what it takes on a machine whose cores are all busy (Jest's default of
 * 5 s was once exceeded under load). Restarting Chroma takes longest.
 */
const TEST_TIMEOUT_MS = 60_000;
const CHROMA_TEST_TIMEOUT_MS = 120_000;

const run = randomBytes(4).toString('hex');
const database = `openagents_faults_${run}`;
const table = new FaultTable('nodes');
const model = new OfflineModelServer();
let redis: PrivateRedis;
let chroma: ChromaServer;
let llmUrl: string;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- outputs are asserted field by field
type Json = Record<string, any>;

const CREDENTIALS = {
	openAgentsMemoryStore: { id: '1', name: 'memory' },
	openAgentsLlmApi: { id: '2', name: 'llm' },
	openAgentsChromaApi: { id: '3', name: 'chroma' },
};

const redisStore = () => ({
	backend: 'redis',
	host: redis.host,
	redisPort: redis.port,
	redisDatabase: 0,
	prefix: `faults-${run}`,
	allowIsolationKeys: true,
});
const postgresStore = () => ({
	backend: 'postgres',
	host: '127.0.0.1',
	postgresPort: 5432,
	postgresDatabase: database,
	user: postgresFromEnv().user,
	prefix: 'faults',
	allowIsolationKeys: true,
});

/** Runs a workflow with this file's servers behind the credentials (`store`: the memory store's data). */
function exec(
	workflow: WorkflowJson,
	store: object = redisStore(),
	cancelAfterMs?: number,
): Promise<RunResult> {
	return runWorkflow(workflow, {
		nodeTypes: testNodeTypes,
		cancelAfterMs,
		credentials: {
			openAgentsMemoryStore: store as never,
			openAgentsLlmApi: offlineLlmCredential(llmUrl),
			openAgentsChromaApi: chromaCredential(chroma.url),
		},
	});
}
const out = (result: RunResult, node: string, output = 0): Json[] =>
	(result.outputs[node]?.[output] ?? []).map((i) => i.json as Json);

/** One Memory node (continue on fail), store from the credential, custom scope `faults`. */
const memoryFlow = (parameters: INodeParameters) =>
	itemsInto([{}], {
		name: 'Memory',
		type: 'openAgentsMemory',
		parameters: { store: 'credential', scope: 'custom', scopeId: 'faults', ...parameters },
		credentials: CREDENTIALS,
		continueOnFail: true,
	});
const memory = async (parameters: INodeParameters, store?: object) => {
	const result = await exec(memoryFlow(parameters), store);
	return out(result, 'Memory')[0];
};

/**
 * Agent (Conversation) with a Chat Memory sub-node on `store`'s credential, session `session`; `memoryParameters`
 * go to the Chat Memory (e.g. its Retry Policy).
 */
function agentFlow(
	session: string,
	parameters: INodeParameters = {},
	memoryParameters: INodeParameters = {},
): WorkflowJson {
	const flow = itemsInto([{ chatInput: `Hello from ${session}`, sessionId: session }], {
		name: 'Agent',
		type: 'openAgentsAgent',
		parameters: { template: 'conversation', retryPolicy: { type: 'none' }, ...parameters },
		credentials: CREDENTIALS,
		continueOnFail: true,
	});
	flow.nodes.push({
		id: 'chat-memory',
		name: 'Chat Memory',
		type: `${PACKAGE_PREFIX}.openAgentsMemoryChat`,
		typeVersion: 1,
		position: [200, 200],
		parameters: {
			store: 'credential',
			scope: 'session',
			scopeId: '={{ $json.sessionId }}',
			...memoryParameters,
		},
		credentials: CREDENTIALS as INode['credentials'],
	});
	flow.connections['Chat Memory'] = {
		ai_memory: [[{ node: 'Agent', type: 'ai_memory', index: 0 }]],
	};
	return flow;
}
/** The messages stored for `session` (Chat Memory's default key), read with the Memory node. */
const storedMessages = async (session: string, store?: object): Promise<Json[]> =>
	(
		await memory(
			{
				resource: 'conversation',
				operation: 'getMessages',
				scope: 'session',
				scopeId: session,
				key: 'chat_history',
				maxMessages: 1000,
			},
			store,
		)
	).messages;

/** The number of script calls (EVALSHA and EVAL: every write of the Redis store is a script) the server ran. */
async function scriptCalls(): Promise<number> {
	const admin = redis.client();
	try {
		const info = await admin.info('commandstats');
		return [...info.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce(
			(sum, m) => sum + Number(m[1]),
			0,
		);
	} finally {
		admin.disconnect();
	}
}

beforeAll(async () => {
	[redis, chroma, llmUrl] = await Promise.all([
		startRedis(),
		startChroma(),
		model.start(),
		createDatabaseIfMissing(postgresFromEnv(), database),
	]).then(([r, c, u]) => [r, c, u] as const);
}, 60_000);
afterAll(async () => {
	table.writeIfAsked();
	await Promise.all([redis?.stop(), chroma?.stop(), model.stop()]);
	// The Chroma test restarts the server on its data directory, which then is no longer a temporary one of stop()'s.
	if (chroma) rmSync(chroma.dataDir, { recursive: true, force: true });
	await dropDatabase(postgresFromEnv(), database);
}, 60_000);
beforeEach(() => {
	model.reset();
	model.setHandler(undefined);
});

describe('Redis', () => {
	it(
		'paused mid-write: the node ends at its timeout with store_timeout, and the increment is not repeated',
		async () => {
			await memory({ operation: 'set', key: 'counter', value: '0' });
			const before = await scriptCalls();
			await redis.pause(3000, 'WRITE');
			const { value: failed, ms } = await FaultTable.timed(() =>
				memory({ operation: 'increment', key: 'counter', by: 1, options: { timeoutSeconds: 1 } }),
			);
			expect(failed).toMatchObject({
				code: 'store_timeout',
				error: expect.stringMatching(/did not answer in time \(1 attempt\)/),
			});
			expect(ms).toBeLessThan(2500);
			// The increment reached the server before the pause held it, so the default policy must not send it again
			// (the caller cannot know whether it ran). After the pause: the server ran the script at most once, and the
			// counter shows exactly the increments the server ran.
			await new Promise((resolve) => setTimeout(resolve, 2500));
			const ran = (await scriptCalls()) - before;
			expect(ran).toBeLessThanOrEqual(1);
			expect((await memory({ operation: 'get', key: 'counter' })).value).toBe(ran);
			table.record({
				fault: 'Redis paused (CLIENT PAUSE WRITE, 3 s) during an Increment',
				node: 'Memory (Timeout 1 s, default Retry Policy)',
				outcome: '`store_timeout`, 1 attempt (an increment that was sent is not retried)',
				ms,
				dataCheck: `counter = increments the server ran (${ran}), never doubled`,
			});
		},
		TEST_TIMEOUT_MS,
	);

	it(
		'not answering: Retry Policy None sends the Set once, Fixed with 2 retries three times',
		async () => {
			const proxy = await startTcpProxy(redis.port);
			const store = { ...redisStore(), redisPort: proxy.port };
			try {
				await memory({ operation: 'set', key: 'retried', value: '"warm"' }, store); // loads the scripts
				const sendsWith = async (retryPolicy: INodeParameters) => {
					const before = proxy.count('eval');
					proxy.hold('eval');
					const { value, ms } = await FaultTable.timed(() =>
						memory(
							{
								operation: 'set',
								key: 'retried',
								value: '"new"',
								retryPolicy,
								options: { timeoutSeconds: 0.5 },
							},
							store,
						),
					);
					proxy.release();
					return { value, ms, sends: proxy.count('eval') - before };
				};
				const none = await sendsWith({ type: 'none' });
				expect(none.value).toMatchObject({
					code: 'store_timeout',
					error: expect.stringMatching(/\(1 attempt\)/),
				});
				expect(none.sends).toBe(1);
				const fixed = await sendsWith({ type: 'fixed', maxRetries: 2, delay: 100, jitter: 0 });
				expect(fixed.value).toMatchObject({
					code: 'store_timeout',
					error: expect.stringMatching(/\(3 attempts\)/),
				});
				expect(fixed.sends).toBe(3);
				table.record({
					fault: 'Redis not answering (a proxy holds every request)',
					node: 'Memory Set (Timeout 0.5 s, Retry Policy None)',
					outcome: '`store_timeout` after 1 attempt',
					ms: none.ms,
					dataCheck: 'the request went out once (3 times with Fixed, 2 retries)',
				});
			} finally {
				await proxy.close();
			}
		},
		TEST_TIMEOUT_MS,
	);

	it(
		'restarted between loading and saving a conversation: Chat Memory reconnects and saves the turn once',
		async () => {
			const session = `restart-${run}`;
			let restarted = false;
			model.setHandler(async () => {
				await redis.restart();
				restarted = true;
				return { content: 'Answered while Redis restarted.' };
			});
			const { value: result, ms } = await FaultTable.timed(() => exec(agentFlow(session)));
			expect(restarted).toBe(true);
			expect(out(result, 'Agent')[0]).toMatchObject({ output: 'Answered while Redis restarted.' });
			const messages = await storedMessages(session);
			expect(messages.map((m) => [m.role, m.content])).toEqual([
				['user', `Hello from ${session}`],
				['assistant', 'Answered while Redis restarted.'],
			]);
			table.record({
				fault: 'Redis restarted between Chat Memory load and save',
				node: 'Agent + Chat Memory',
				outcome: 'success (the client reconnected)',
				ms,
				dataCheck: 'the turn stored once: 2 messages',
			});
		},
		TEST_TIMEOUT_MS,
	);

	it(
		'a TLS server is trusted only with its CA or when self-signed is allowed',
		async () => {
			const secure = await startRedis({ tls: true });
			try {
				const store = {
					...redisStore(),
					redisPort: secure.port,
					ssl: true,
				};
				const set = { operation: 'set', key: 'tls', value: '"secret"' };
				// Opening the store is part of each item's work: with Continue On Fail the item carries the error.
				const unverified = await memory(set, store);
				expect(unverified.error).toMatch(
					/^Item 0: Cannot open the memory store \(Redis 127\.0\.0\.1:\d+\): .*(self[- ]signed|unable to verify|certificate)/i,
				);
				expect(unverified.code).toBe('store_unavailable');
				expect(await memory(set, { ...store, ca: secure.ca })).toMatchObject({ version: 1 });
				expect(
					await memory({ operation: 'get', key: 'tls' }, { ...store, allowSelfSigned: true }),
				).toMatchObject({ value: 'secret' });
			} finally {
				await secure.stop();
			}
		},
		TEST_TIMEOUT_MS,
	);
});

describe('Redis down', () => {
	// A server of its own, killed and frozen here (the other Redis tests keep theirs).
	let down: PrivateRedis;
	const store = () => ({ ...redisStore(), redisPort: down.port });
	const address = () => `Redis 127.0.0.1:${down.port}`;
	beforeAll(async () => {
		down = await startRedis();
	}, 30_000);
	afterAll(async () => {
		await down?.stop();
	}, 30_000);

	it(
		'killed: Memory Get fails with store_unavailable naming the server',
		async () => {
			expect(await memory({ operation: 'set', key: 'k', value: '1' }, store())).toMatchObject({
				version: 1,
			});
			await down.kill();
			try {
				const { value: failed, ms } = await FaultTable.timed(() =>
					memory({ operation: 'get', key: 'k', retryPolicy: { type: 'none' } }, store()),
				);
				expect(failed).toMatchObject({
					code: 'store_unavailable',
					error: expect.stringContaining(`Cannot open the memory store (${address()}): `),
				});
				expect(failed.error).toMatch(/ECONNREFUSED/);
				table.record({
					fault: 'Redis killed (SIGKILL) before the node runs',
					node: 'Memory Get (Continue On Fail)',
					outcome: '`store_unavailable`, the message naming the server (host:port)',
					ms,
					dataCheck: 'the value is there again after a restart',
				});
			} finally {
				await down.start();
			}
			expect(await memory({ operation: 'get', key: 'k' }, store())).toMatchObject({ value: 1 });
		},
		TEST_TIMEOUT_MS,
	);

	it(
		'hanging (SIGSTOP): Memory Get fails at its timeout with store_timeout naming the server',
		async () => {
			down.freeze();
			try {
				const { value: failed, ms } = await FaultTable.timed(() =>
					memory(
						{
							operation: 'get',
							key: 'k',
							retryPolicy: { type: 'none' },
							options: { timeoutSeconds: 1 },
						},
						store(),
					),
				);
				expect(failed).toMatchObject({
					code: 'store_timeout',
					error: expect.stringContaining(address()),
				});
				expect(ms).toBeLessThan(2500);
				table.record({
					fault: 'Redis hanging (SIGSTOP: connections accepted, nothing answered)',
					node: 'Memory Get (Timeout 1 s, Continue On Fail)',
					outcome: '`store_timeout`, the message naming the server (host:port)',
					ms,
					dataCheck: 'the value is unchanged once the server runs again',
				});
			} finally {
				down.thaw();
			}
			expect(await memory({ operation: 'get', key: 'k' }, store())).toMatchObject({ value: 1 });
		},
		TEST_TIMEOUT_MS,
	);

	it(
		'killed before the run: the Agent fails with store_unavailable and its hint before calling the model, the Planner with store_unavailable',
		async () => {
			await down.kill();
			try {
				// Without Continue On Fail: the error the Agent throws, with the hint for the code.
				const flow = agentFlow(`down-${run}`, {}, { retryPolicy: { type: 'none' } });
				delete flow.nodes.find((node) => node.name === 'Agent')!.onError;
				const { value: agent, ms } = await FaultTable.timed(() => exec(flow, store()));
				expect(agent.error?.message).toMatch(
					new RegExp(`^Item 0: Cannot open the memory store \\(${address()}\\): .*ECONNREFUSED`),
				);
				expect((agent.error as { description?: string }).description).toMatch(
					/^The memory store named in the message could not be reached: check that the Redis or Postgres server is up/,
				);
				expect(model.requestsTo('chat')).toHaveLength(0);
				const planner = await exec(
					itemsInto([{}], {
						name: 'Planner',
						type: 'openAgentsPlanner',
						parameters: {
							operation: 'executePlan',
							plan: JSON.stringify({ goal: 'g', tasks: [planTask('a')] }),
							planRunId: `down-${run}`,
							store: 'credential',
							retryPolicy: { type: 'none' },
						},
						credentials: CREDENTIALS,
						continueOnFail: true,
					}),
					store(),
				);
				expect(out(planner, 'Planner')[0]).toMatchObject({
					code: 'store_unavailable',
					error: expect.stringContaining(`Cannot open the memory store (${address()})`),
				});
				table.record({
					fault: 'Redis killed (SIGKILL) before the run',
					node: 'Agent + Chat Memory; Planner (Checkpoint Store)',
					outcome: '`store_unavailable` naming the server, with its hint; no model call made',
					ms,
					dataCheck: 'nothing stored',
				});
			} finally {
				await down.start();
			}
		},
		TEST_TIMEOUT_MS,
	);

	it(
		'killed between loading and saving a conversation: the Agent returns the answer and says the turn was not saved',
		async () => {
			const session = `killed-${run}`;
			model.setHandler(async () => {
				await down.kill();
				return { content: 'Answered while Redis was down.' };
			});
			let item: Json;
			try {
				const { value: result, ms } = await FaultTable.timed(() =>
					exec(agentFlow(session, {}, { retryPolicy: { type: 'none' } }), store()),
				);
				[item] = out(result, 'Agent');
				table.record({
					fault: 'Redis killed (SIGKILL) between Chat Memory load and save, not back',
					node: 'Agent + Chat Memory (Retry Policy None)',
					outcome: 'the answer, with `memory: { saved: false, code: store_unavailable }`',
					ms,
					dataCheck: 'no message stored for the turn',
				});
			} finally {
				await down.start();
			}
			expect(item).toMatchObject({
				output: 'Answered while Redis was down.',
				status: 'completed',
				memory: {
					saved: false,
					code: 'store_unavailable',
					error: expect.stringContaining(`The memory store (${address()}) could not be reached`),
				},
			});
			expect(item).not.toHaveProperty('code');
			expect(model.requestsTo('chat')).toHaveLength(1);
			expect(await storedMessages(session, store())).toEqual([]);
		},
		TEST_TIMEOUT_MS,
	);

	it(
		'killed between loading and saving, back within the Retry Policy: the turn is saved, once',
		async () => {
			const session = `back-${run}`;
			let back: Promise<void> | undefined;
			model.setHandler(async () => {
				await down.kill();
				// Longer than ioredis rides out by itself (its 2 reconnections per request): the Retry Policy has to.
				back = new Promise((resolve) => setTimeout(resolve, 1500)).then(() => down.start());
				return { content: 'Answered while Redis restarted.' };
			});
			const retryPolicy = { type: 'fixed', maxRetries: 20, delay: 500, jitter: 0 };
			const { value: result, ms } = await FaultTable.timed(() =>
				exec(agentFlow(session, {}, { retryPolicy }), store()),
			);
			await back;
			expect(out(result, 'Agent')[0]).toMatchObject({
				output: 'Answered while Redis restarted.',
				memory: { saved: true },
			});
			expect(ms).toBeGreaterThan(1500);
			const messages = await storedMessages(session, store());
			expect(messages.map((m) => [m.role, m.content])).toEqual([
				['user', `Hello from ${session}`],
				['assistant', 'Answered while Redis restarted.'],
			]);
			table.record({
				fault: 'Redis killed (SIGKILL) between Chat Memory load and save, back after 1.5 s',
				node: 'Agent + Chat Memory (Retry Policy Fixed, 0.5 s)',
				outcome: 'success, `memory: { saved: true }` (the save retried)',
				ms,
				dataCheck: 'the turn stored once: 2 messages',
			});
		},
		TEST_TIMEOUT_MS,
	);
});

describe('Postgres', () => {
	const admin = () => new Client({ ...postgresFromEnv(), database });

	it(
		'a row locked by another session: the Set ends at its timeout with store_timeout and the value is unchanged',
		async () => {
			const store = postgresStore();
			await memory({ operation: 'set', key: 'locked', value: '"before"' }, store);
			const locker = admin();
			await locker.connect();
			try {
				await locker.query('BEGIN');
				await locker.query(`SELECT * FROM faults_memory WHERE key = 'locked' FOR UPDATE`);
				const { value: failed, ms } = await FaultTable.timed(() =>
					memory(
						{
							operation: 'set',
							key: 'locked',
							value: '"after"',
							retryPolicy: { type: 'none' },
							options: { timeoutSeconds: 1 },
						},
						store,
					),
				);
				expect(failed).toMatchObject({
					code: 'store_timeout',
					error: expect.stringMatching(/did not answer in time \(1 attempt\)/),
				});
				expect(ms).toBeLessThan(2500);
				// The client gave up at its timeout; the server ends the statement at its statement timeout (the same 1 s,
				// counted from when the statement arrived). Release the lock only then: before it, on a loaded machine, the
				// waiting UPDATE could still run.
				await waitFor(
					'the server to cancel the waiting Set',
					async () => {
						const { rows } = await locker.query<{ n: number }>(
							`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
							[database],
						);
						return rows[0].n === 0 ? true : undefined;
					},
					5000,
					20,
				);
				await locker.query('ROLLBACK');
				expect(await memory({ operation: 'get', key: 'locked' }, store)).toMatchObject({
					value: 'before',
					version: 1,
				});
				table.record({
					fault: 'Postgres row locked by another session (SELECT … FOR UPDATE)',
					node: 'Memory (Timeout 1 s, Retry Policy None)',
					outcome: '`store_timeout` (statement timeout)',
					ms,
					dataCheck: 'value and version unchanged after the lock is released',
				});
			} finally {
				await locker.end();
			}
		},
		TEST_TIMEOUT_MS,
	);

	it(
		"its connections terminated between loading and saving a conversation: Chat Memory's pool reconnects",
		async () => {
			const store = postgresStore();
			const session = `terminated-${run}`;
			let terminated = 0;
			model.setHandler(async () => {
				const killer = admin();
				await killer.connect();
				try {
					const { rowCount } = await killer.query(
						'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
						[database],
					);
					terminated = rowCount ?? 0;
				} finally {
					await killer.end();
				}
				return { content: 'Answered after the connections were cut.' };
			});
			const { value: result, ms } = await FaultTable.timed(() => exec(agentFlow(session), store));
			expect(terminated).toBeGreaterThan(0);
			expect(out(result, 'Agent')[0]).toMatchObject({
				output: 'Answered after the connections were cut.',
			});
			const messages = await storedMessages(session, store);
			expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
			table.record({
				fault:
					"Postgres sessions terminated (pg_terminate_backend) between Chat Memory's load and save",
				node: 'Agent + Chat Memory',
				outcome: 'success (the pool opened a new connection)',
				ms,
				dataCheck: 'the turn stored once: 2 messages',
			});
		},
		TEST_TIMEOUT_MS,
	);
});

describe('Chroma', () => {
	const docs = Array.from({ length: 40 }, (_, i) => ({
		sourceId: `doc-${i}.md`,
		text: `# Topic ${i}\n\nParagraph one of document ${i} about subject ${i}.\n\n## Details\n\nMore about ${i}: ${'detail '.repeat(60)}`,
	}));
	const ingest = (knowledgeBase: string) =>
		itemsInto(docs, {
			name: 'KB',
			type: 'openAgentsKnowledgeBase',
			parameters: {
				operation: 'ingest',
				knowledgeBase,
				inputType: 'text',
				text: '={{ $json.text }}',
				sourceId: '={{ $json.sourceId }}',
				format: 'markdown',
				retryPolicy: { type: 'none' },
				options: { documentsPerBatch: 5 },
			},
			credentials: CREDENTIALS,
			continueOnFail: true,
		});
	const stats = async (knowledgeBase: string) =>
		out(
			await exec(
				itemsInto([{}], {
					name: 'KB',
					type: 'openAgentsKnowledgeBase',
					parameters: { operation: 'stats', knowledgeBase },
					credentials: CREDENTIALS,
				}),
			),
			'KB',
		)[0];

	it(
		'killed mid-ingest and restarted on its data: the batches after the kill fail with STORE_UNAVAILABLE, and re-running the ingest completes without a duplicate chunk',
		async () => {
			const kb = `faults-${run}`;
			model.embeddingLatencyMs = 300;
			const running = FaultTable.timed(() => exec(ingest(kb)));
			await waitFor(
				'three batches embedded',
				async () => (model.requestsTo('embeddings').length >= 3 ? true : undefined),
				30_000,
				20,
			);
			await chroma.process.stop('SIGKILL', 5000);
			const { value: broken, ms } = await running;
			const items = out(broken, 'KB');
			expect(items).toHaveLength(docs.length);
			const failed = items.filter((i) => i.code);
			expect(failed.length).toBeGreaterThan(0);
			expect(new Set(failed.map((i) => i.code))).toEqual(new Set(['STORE_UNAVAILABLE']));
			const storedBefore = items.filter((i) => !i.code).reduce((n, i) => n + i.added, 0);

			chroma = await startChroma({ port: chroma.port, dataDir: chroma.dataDir });
			model.embeddingLatencyMs = 0;
			const again = out(await exec(ingest(kb)), 'KB');
			expect(again.filter((i) => i.code)).toEqual([]);
			// What survived the kill is found unchanged; the rest is added; nothing is there twice.
			expect(again.reduce((n, i) => n + i.unchanged, 0)).toBe(storedBefore);
			const reference = `faults-clean-${run}`;
			await exec(ingest(reference));
			const [recovered, clean] = [await stats(kb), await stats(reference)];
			expect(recovered).toMatchObject({ chunks: clean.chunks, sources: docs.length });
			table.record({
				fault: 'Chroma killed (SIGKILL) mid-ingest, restarted on the same data',
				node: 'Knowledge Base Ingest (Continue On Fail)',
				outcome: `\`STORE_UNAVAILABLE\` on the ${failed.length} items after the kill; re-run succeeds`,
				ms,
				dataCheck: `${clean.chunks} chunks, as many as a clean ingest: no duplicate`,
			});
		},
		CHROMA_TEST_TIMEOUT_MS,
	);
});

describe('model server', () => {
	const faults = [
		{
			name: 'stalls (no answer for 5 s)',
			fault: { type: 'delay', ms: 5000 },
			code: 'model_timeout',
		},
		{ name: 'drops the connection', fault: { type: 'drop' }, code: 'model_unavailable' },
		{
			name: 'answers 500',
			fault: { type: 'status', status: 500, message: 'upstream failed' },
			code: 'model_error',
		},
		{
			name: 'cuts its answer off halfway',
			fault: { type: 'truncate' },
			code: 'model_unavailable',
		},
	] as const;

	it.each(faults)(
		'$name during an Agent run: the item fails with $code, and no half turn is stored',
		async ({ name, fault, code }) => {
			const session = `agent-${code}-${fault.type}-${run}`;
			model.fail(fault);
			const { value: result, ms } = await FaultTable.timed(() =>
				exec(agentFlow(session, { options: { modelTimeoutSeconds: 1 } })),
			);
			expect(out(result, 'Agent')[0]).toMatchObject({ code });
			expect(ms).toBeLessThan(4000);
			expect(await storedMessages(session)).toEqual([]);
			table.record({
				fault: `Model server ${name}`,
				node: 'Agent + Chat Memory (Model Call Timeout 1 s, Retry Policy None)',
				outcome: `\`${code}\``,
				ms,
				dataCheck: 'no message stored for the failed turn',
			});
		},
		TEST_TIMEOUT_MS,
	);

	it.each(faults)(
		'$name during a Planner task: that task fails with $code, its dependent is skipped, the rest completes and is checkpointed',
		async ({ name, fault, code }) => {
			// Concurrency 1 in plan order: b meets the fault (the first model request), a completes, c is skipped.
			const plan = { goal: 'g', tasks: [planTask('b'), planTask('a'), planTask('c', ['b'])] };
			const planner = (planRunId: string) =>
				itemsInto([{}], {
					name: 'Planner',
					type: 'openAgentsPlanner',
					parameters: {
						operation: 'executePlan',
						plan: JSON.stringify(plan),
						planRunId,
						store: 'credential',
						retryPolicy: { type: 'none' },
						options: { concurrency: 1, modelTimeoutSeconds: 1 },
					},
					credentials: CREDENTIALS,
					continueOnFail: true,
				});
			const planRunId = `planner-${fault.type}-${run}`;
			const sent: string[] = [];
			model.setHandler((request: ChatRequest) => {
				if (/Combine the results/.test(systemText(request.messages))) return { content: 'done' };
				const id = /Your task \(([^)]+)\)/.exec(lastUserText(request.messages))?.[1] ?? '';
				sent.push(id);
				return { content: `${id} done` };
			});
			model.fail(fault);
			const { value: result, ms } = await FaultTable.timed(() => exec(planner(planRunId)));
			const [item] = out(result, 'Planner');
			expect(item.tasks.map((t: Json) => [t.id, t.status, t.code])).toEqual([
				['b', 'failed', code],
				['a', 'completed', undefined],
				['c', 'skipped', undefined],
			]);
			expect(ms).toBeLessThan(4000);
			// The checkpoint holds a (and only a): a re-run does not ask for it again and completes b and c.
			sent.length = 0;
			const [again] = out(await exec(planner(planRunId)), 'Planner');
			expect(again).toMatchObject({ status: 'completed', resumed: 1 });
			expect(sent).toEqual(['b', 'c']);
			table.record({
				fault: `Model server ${name}`,
				node: 'Planner task (Model Call Timeout 1 s, Retry Policy None)',
				outcome: `task \`${code}\`, its dependent skipped`,
				ms,
				dataCheck: 'checkpoint holds only the completed task; the re-run resumes it',
			});
		},
		TEST_TIMEOUT_MS,
	);
});

describe('an execution cancelled in n8n', () => {
	it(
		'stops the model call it is waiting for',
		async () => {
			model.fail({ type: 'delay', ms: 20_000 });
			const { value: result, ms } = await FaultTable.timed(() =>
				exec(
					agentFlow(`cancel-${run}`, { options: { modelTimeoutSeconds: 60 } }),
					redisStore(),
					500,
				),
			);
			expect(result.status).toBe('canceled');
			expect(model.requestsTo('chat')).toHaveLength(1);
			// The request itself was aborted (its connection closed before the answer), not left running.
			await waitFor(
				'the model request to be abandoned',
				async () => (model.requestsTo('chat')[0].abandoned ? true : undefined),
				2000,
				20,
			);
			table.record({
				fault: 'Execution cancelled while the model stalls (20 s)',
				node: 'Agent (Model Call Timeout 60 s)',
				outcome: 'run `canceled`; the model request aborted (its connection closed)',
				ms,
				dataCheck: 'one model request made, none after the cancel',
			});
		},
		TEST_TIMEOUT_MS,
	);

	it(
		'stops the store call it is waiting for',
		async () => {
			const proxy = await startTcpProxy(redis.port);
			try {
				proxy.hold('eval');
				const { value: result, ms } = await FaultTable.timed(() =>
					exec(
						memoryFlow({
							operation: 'set',
							key: 'cancelled',
							value: '1',
							options: { timeoutSeconds: 30 },
						}),
						{ ...redisStore(), redisPort: proxy.port },
						500,
					),
				);
				expect(result.status).toBe('canceled');
				expect(proxy.count('eval')).toBe(1);
				// The node let go of the call and closed its connection, instead of waiting 30 s for the timeout.
				await waitFor(
					'the store connection to close',
					async () => (proxy.connections() === 0 ? true : undefined),
					2000,
					20,
				);
				table.record({
					fault: 'Execution cancelled while Redis does not answer',
					node: 'Memory Set (Timeout 30 s)',
					outcome: 'run `canceled`; the store connection closed without waiting for the timeout',
					ms,
					dataCheck: 'the write was sent once, never retried',
				});
			} finally {
				proxy.release();
				await proxy.close();
			}
		},
		TEST_TIMEOUT_MS,
	);
});
