/**
 * Long-term memory's logic on the in-process store: remember, recall (keywords, and by meaning with an embedding
 * function), update with history, confirm, forget, list, validation, and isolation between subjects and tenants.
 * The same contract on Redis and Postgres: test/integration/memory/facts.test.ts.
 */
import {
	InProcessMemoryStore,
	internalNamespace,
	Memory,
	namespace,
	tenantPath,
	type MemoryStore,
} from '../../../lib/memory';
import { FACT_ACCESS, openFactMemory, type EmbedTexts } from '../../../lib/memory/facts';

const TENANT = tenantPath('acme');

/**
 * A stand-in embedding that knows synonyms: each concept is one dimension, every word of a concept counts on it.
 * Words outside the table count nowhere, so texts without a concept word are orthogonal to everything.
 */
const CONCEPTS = [
	['vegetarian', 'vegan', 'meat', 'plant-based'],
	['invoice', 'billing', 'payment', 'paid'],
	['dog', 'puppy', 'pet'],
	['berlin', 'germany', 'munich'],
];
const conceptEmbed: EmbedTexts = async (texts) =>
	texts.map((text) => {
		const words = text.toLowerCase().match(/[a-z-]+/g) ?? [];
		return CONCEPTS.map((concept) => words.filter((w) => concept.includes(w)).length);
	});

function setup(options: { embed?: EmbedTexts; tenant?: string; store?: MemoryStore } = {}) {
	const store = options.store ?? new InProcessMemoryStore();
	const memory = new Memory({ store, policy: FACT_ACCESS });
	const facts = openFactMemory(memory, { tenant: options.tenant ?? TENANT, embed: options.embed });
	return { store, memory, facts };
}

/** What the store holds for a subject, read directly (not through the fact memory). */
async function storedKeys(store: MemoryStore, subject: string, tenant = TENANT) {
	return (await store.list(internalNamespace(tenant, 'facts', subject), { limit: 1000 })).keys;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('remember', () => {
	it('stores a fact with its subject, metadata, times and provenance', async () => {
		const { facts } = setup();
		const before = Date.now();
		const fact = await facts.remember('user-1', '  Prefers e-mail over phone calls. ', {
			metadata: { topic: 'contact', priority: 2, verified: true },
			provenance: { source: 'learned', workflowId: 'wf1', executionId: '42', messageId: 'm7' },
		});
		expect(fact).toEqual({
			id: expect.stringMatching(/^[0-9a-f-]{36}$/),
			subject: 'user-1',
			text: 'Prefers e-mail over phone calls.',
			metadata: { topic: 'contact', priority: 2, verified: true },
			createdAt: fact.confirmedAt,
			confirmedAt: expect.any(String),
			provenance: { source: 'learned', workflowId: 'wf1', executionId: '42', messageId: 'm7' },
		});
		expect(Date.parse(fact.createdAt)).toBeGreaterThanOrEqual(before - 1);
		expect((await facts.list('user-1')).facts).toEqual([fact]);
	});

	it('defaults provenance to remember and metadata to none', async () => {
		const { facts } = setup();
		const fact = await facts.remember('u', 'Lives in Lisbon');
		expect(fact.provenance).toEqual({ source: 'remember' });
		expect(fact.metadata).toEqual({});
	});

	it('remembering the same fact again confirms it instead of storing it twice', async () => {
		const { facts, store } = setup();
		const first = await facts.remember('u', 'Has a dog named Rex.');
		await sleep(5);
		const again = await facts.remember('u', '  has a DOG named   rex ');
		expect(again.id).toBe(first.id);
		expect(again.createdAt).toBe(first.createdAt);
		expect(Date.parse(again.confirmedAt)).toBeGreaterThan(Date.parse(first.confirmedAt));
		expect(await storedKeys(store, 'u')).toHaveLength(1);
		// Other metadata makes it another fact.
		await facts.remember('u', 'Has a dog named Rex.', { metadata: { source: 'crm' } });
		expect(await storedKeys(store, 'u')).toHaveLength(2);
	});

	it.each([
		['an empty subject', () => setup().facts.remember('  ', 'x'), 'invalid_address'],
		['empty text', () => setup().facts.remember('u', '   '), 'invalid_value'],
		[
			'text over 10 000 characters',
			() => setup().facts.remember('u', 'a'.repeat(10_001)),
			'invalid_value',
		],
		[
			'nested metadata',
			() => setup().facts.remember('u', 'x', { metadata: { a: { b: 1 } } as never }),
			'invalid_value',
		],
		[
			'an unknown provenance source',
			() => setup().facts.remember('u', 'x', { provenance: { source: 'guess' } as never }),
			'invalid_value',
		],
	])('refuses %s', async (_what, call, code) => {
		await expect(call()).rejects.toMatchObject({ name: 'MemoryError', code });
	});
});

describe('recall', () => {
	async function seeded(embed?: EmbedTexts) {
		const context = setup({ embed });
		const { facts } = context;
		await facts.remember('u', 'Is vegetarian and avoids meat', { metadata: { topic: 'food' } });
		await facts.remember('u', 'The last invoice was paid late', { metadata: { topic: 'billing' } });
		await facts.remember('u', 'Has a puppy called Rex', { metadata: { topic: 'family' } });
		await facts.remember('u', 'Works in Munich', { metadata: { topic: 'work' } });
		await facts.remember('other', 'Is vegetarian too');
		return context;
	}

	it('by keywords: facts sharing a term with the query, best first, with their score; other subjects never', async () => {
		const { facts } = await seeded();
		const recalled = await facts.recall({ subject: 'u', query: 'Which invoice was paid late?' });
		expect(recalled.map((f) => f.text)).toEqual(['The last invoice was paid late']);
		expect(recalled[0].score).toBeGreaterThan(0);
		expect(recalled[0]).toMatchObject({ subject: 'u', provenance: { source: 'remember' } });
		expect(recalled[0]).not.toHaveProperty('vector');
		const vegetarian = await facts.recall({ subject: 'u', query: 'vegetarian' });
		expect(vegetarian.map((f) => f.subject)).toEqual(['u']);
	});

	it('without an embedding model a fact sharing no word with the query is not found; with one it is', async () => {
		const keywordOnly = await seeded();
		expect(
			await keywordOnly.facts.recall({ subject: 'u', query: 'Does the customer eat vegan food?' }),
		).toEqual([]);
		const semantic = await seeded(conceptEmbed);
		const recalled = await semantic.facts.recall({
			subject: 'u',
			query: 'Does the customer eat vegan food?',
			topK: 1,
		});
		expect(recalled.map((f) => f.text)).toEqual(['Is vegetarian and avoids meat']);
	});

	it('keeps at most topK facts and filters on metadata', async () => {
		const { facts } = await seeded(conceptEmbed);
		expect(
			await facts.recall({ subject: 'u', query: 'vegan billing pet germany', topK: 2 }),
		).toHaveLength(2);
		const filtered = await facts.recall({
			subject: 'u',
			query: 'vegetarian invoice puppy munich',
			topK: 10,
			metadata: { topic: 'billing' },
		});
		expect(filtered.map((f) => f.metadata.topic)).toEqual(['billing']);
		await expect(facts.recall({ subject: 'u', query: 'x', topK: 0 })).rejects.toMatchObject({
			code: 'invalid_value',
		});
		await expect(facts.recall({ subject: 'u', query: ' ' })).rejects.toMatchObject({
			code: 'invalid_value',
		});
	});

	it('stores the embedding compactly with the fact; a fact embedded by another model counts by keywords only', async () => {
		const { store } = await seeded(conceptEmbed);
		const [key] = await storedKeys(store, 'other');
		const raw = (await store.get(internalNamespace(TENANT, 'facts', 'other'), key))?.value as {
			vector: string;
		};
		expect(typeof raw.vector).toBe('string');
		expect(Buffer.from(raw.vector, 'base64')).toHaveLength(CONCEPTS.length * 4);
		// Same store, a model of another size: the stored vectors are not compared, keywords still match.
		const otherModel = openFactMemory(new Memory({ store, policy: FACT_ACCESS }), {
			tenant: TENANT,
			embed: async (texts) => texts.map(() => [1, 0]),
		});
		const recalled = await otherModel.recall({ subject: 'u', query: 'puppy', topK: 10 });
		expect(recalled.map((f) => f.text)).toEqual(['Has a puppy called Rex']);
	});
});

describe('update and history', () => {
	it('the newer fact supersedes: the old one is kept as history, never recalled, listed only on request', async () => {
		const { facts } = setup({ embed: conceptEmbed });
		const old = await facts.remember('u', 'Lives in Berlin', { metadata: { topic: 'home' } });
		const next = await facts.update('u', old.id, 'Moved to Munich', {
			provenance: { source: 'learned', executionId: '9' },
		});
		expect(next).toMatchObject({
			text: 'Moved to Munich',
			metadata: { topic: 'home' },
			supersedes: [old.id],
			provenance: { source: 'learned', executionId: '9' },
		});
		expect(next.id).not.toBe(old.id);
		const recalled = await facts.recall({ subject: 'u', query: 'Lives in Berlin', topK: 10 });
		expect(recalled.map((f) => f.id)).toEqual([next.id]);
		expect((await facts.list('u')).facts.map((f) => f.id)).toEqual([next.id]);
		const history = (await facts.list('u', { includeHistory: true })).facts;
		expect(history.find((f) => f.id === old.id)).toMatchObject({
			text: 'Lives in Berlin',
			supersededBy: next.id,
		});
		const third = await facts.update('u', next.id, 'Moved to Hamburg');
		expect(third.supersedes).toEqual([next.id, old.id]);
	});

	it('an ID that is no current fact cannot be updated or confirmed', async () => {
		const { facts } = setup();
		const old = await facts.remember('u', 'Plan: basic');
		await facts.update('u', old.id, 'Plan: pro');
		for (const call of [
			() => facts.update('u', old.id, 'Plan: enterprise'),
			() => facts.confirm('u', old.id),
			() => facts.update('u', 'no-such-id', 'x'),
			() => facts.update('someone-else', old.id, 'x'),
		])
			await expect(call()).rejects.toMatchObject({ code: 'not_found' });
	});

	it('of two concurrent updates of one fact exactly one wins', async () => {
		const { facts } = setup();
		const old = await facts.remember('u', 'Plan: basic');
		const results = await Promise.allSettled([
			facts.update('u', old.id, 'Plan: pro'),
			facts.update('u', old.id, 'Plan: team'),
		]);
		expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
		expect(results.find((r) => r.status === 'rejected')).toMatchObject({
			reason: { code: 'not_found' },
		});
		expect((await facts.list('u')).facts).toHaveLength(1);
	});

	it('confirm moves confirmedAt only', async () => {
		const { facts } = setup();
		const fact = await facts.remember('u', 'Speaks Portuguese');
		await sleep(5);
		const confirmed = await facts.confirm('u', fact.id);
		expect(confirmed).toEqual({ ...fact, confirmedAt: confirmed.confirmedAt });
		expect(Date.parse(confirmed.confirmedAt)).toBeGreaterThan(Date.parse(fact.confirmedAt));
	});
});

describe('forget', () => {
	it('removes the fact, its embedding and its history from the store, returning the count', async () => {
		const { facts, store } = setup({ embed: conceptEmbed });
		const kept = await facts.remember('u', 'Has a dog');
		const old = await facts.remember('u', 'Lives in Berlin');
		const next = await facts.update('u', old.id, 'Lives in Munich');
		expect(await storedKeys(store, 'u')).toHaveLength(3);
		expect(await facts.forget('u', next.id)).toBe(2);
		expect(await storedKeys(store, 'u')).toEqual([`fact/${kept.id}`]);
		expect(await facts.forget('u', next.id)).toBe(0);
		expect(await facts.recall({ subject: 'u', query: 'Munich Berlin', topK: 10 })).toEqual([]);
	});

	it('forgetSubject erases every fact about the subject and nothing else', async () => {
		const { facts, store } = setup();
		for (let i = 0; i < 30; i++) await facts.remember('gdpr', `Fact number ${i}`);
		const first = (await facts.list('gdpr', { limit: 1 })).facts[0];
		await facts.update('gdpr', first.id, 'Fact number zero, corrected');
		await facts.remember('gdpr-2', 'Fact number 1');
		expect(await facts.forgetSubject('gdpr')).toBe(31);
		expect(await storedKeys(store, 'gdpr')).toEqual([]);
		expect(await facts.forgetSubject('gdpr')).toBe(0);
		expect(await storedKeys(store, 'gdpr-2')).toHaveLength(1);
	});
});

describe('list', () => {
	it('pages through the subject in ID order', async () => {
		const { facts } = setup();
		for (let i = 0; i < 7; i++) await facts.remember('u', `fact ${i}`);
		const seen: string[] = [];
		let cursor: string | undefined;
		do {
			const page = await facts.list('u', { limit: 3, cursor });
			expect(page.facts.length).toBeLessThanOrEqual(3);
			seen.push(...page.facts.map((f) => f.id));
			cursor = page.nextCursor;
		} while (cursor);
		expect(seen).toHaveLength(7);
		expect([...seen].sort()).toEqual(seen);
		await expect(facts.list('u', { limit: 0 })).rejects.toMatchObject({ code: 'invalid_value' });
	});
});

describe('isolation', () => {
	it('subjects that look like paths, patterns or other subjects reach nothing of another subject', async () => {
		const { facts, store } = setup();
		await facts.remember('alice', 'Secret of alice');
		for (const subject of [
			'alice/',
			'alice:',
			'alice*',
			'*',
			'alice/fact/',
			'%61lice',
			'ALICE',
			'alice\u0000',
			'facts:alice',
		]) {
			expect(await facts.recall({ subject, query: 'secret alice', topK: 100 })).toEqual([]);
			expect((await facts.list(subject)).facts).toEqual([]);
			expect(await facts.forgetSubject(subject)).toBe(0);
		}
		expect(await storedKeys(store, 'alice')).toHaveLength(1);
	});

	it('a fact ID of another subject is not found, and forgetting it there removes nothing', async () => {
		const { facts, store } = setup();
		const fact = await facts.remember('alice', 'Secret of alice');
		expect(await facts.forget('mallory', fact.id)).toBe(0);
		await expect(facts.confirm('mallory', fact.id)).rejects.toMatchObject({ code: 'not_found' });
		expect(await storedKeys(store, 'alice')).toEqual([`fact/${fact.id}`]);
	});

	it('another tenant (credential) with the same subject sees nothing', async () => {
		const store = new InProcessMemoryStore();
		const acme = setup({ store, tenant: tenantPath('acme') }).facts;
		await acme.remember('alice', 'Secret of alice');
		for (const tenant of [tenantPath('other'), tenantPath('acme', 'x'), tenantPath(''), 'acme']) {
			const other = setup({ store, tenant }).facts;
			expect(await other.recall({ subject: 'alice', query: 'secret', topK: 100 })).toEqual([]);
			expect(await other.forgetSubject('alice')).toBe(0);
		}
		expect(await acme.recall({ subject: 'alice', query: 'secret' })).toHaveLength(1);
	});

	it('the plain Memory operations cannot address facts: no scope parameter names them, list and get see none', async () => {
		const { facts, store } = setup();
		await facts.remember('alice', 'Secret of alice');
		expect(() => namespace(TENANT, 'facts' as never, 'alice')).toThrow(
			expect.objectContaining({ code: 'invalid_address' }),
		);
		const plain = new Memory({ store });
		for (const scope of ['global', 'custom', 'session'] as const) {
			const ns = namespace(TENANT, scope, scope === 'global' ? '' : 'alice');
			expect((await plain.list(ns)).keys).toEqual([]);
		}
		// A Memory with the node's default access cannot read the internal scope either.
		await expect(
			openFactMemory(plain, { tenant: TENANT }).recall({ subject: 'alice', query: 'secret' }),
		).rejects.toMatchObject({ code: 'access_denied' });
	});
});
