import fc from 'fast-check';

import {
	assertSingleInstance,
	checkAccess,
	checkKey,
	decodeComponent,
	encodeComponent,
	LIMITS,
	namespace,
	namespaceId,
	selectRecent,
	serializeValue,
	tenantPath,
	type ConversationMessage,
} from '../../../lib/memory';

describe('key encoding', () => {
	it('property: injective over every UTF-16 string, refusing lone surrogates', () => {
		const utf16 = fc
			.array(
				fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff })),
				{
					maxLength: 6,
				},
			)
			.map((units) => String.fromCharCode(...units));
		const wellFormed = (text: string) => !/\p{Surrogate}/u.test(text);
		fc.assert(
			fc.property(utf16, utf16, (a, b) => {
				if (!wellFormed(a)) {
					expect(() => encodeComponent(a)).toThrow(
						expect.objectContaining({ code: 'invalid_address' }),
					);
					return;
				}
				if (wellFormed(b) && a !== b) expect(encodeComponent(a)).not.toBe(encodeComponent(b));
			}),
			{ numRuns: 2000 },
		);
		expect(() => encodeComponent('\uD800')).toThrow(/unpaired UTF-16 surrogate/);
		expect(encodeComponent('\uFFFD')).toBe('%EF%BF%BD');
	});

	it('property: injective, reversible, and free of separators and glob characters', () => {
		fc.assert(
			fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
				const ea = encodeComponent(a);
				expect(decodeComponent(ea)).toBe(a);
				expect(ea).toMatch(/^[A-Za-z0-9_.%-]*$/);
				if (a !== b) expect(ea).not.toBe(encodeComponent(b));
			}),
			{ numRuns: 5000 },
		);
	});

	it('property: distinct namespaces never share an id', () => {
		const scope = fc.constantFrom(
			'workflow',
			'execution',
			'session',
			'agent',
			'custom',
		) as fc.Arbitrary<'workflow'>;
		fc.assert(
			fc.property(
				fc.string(),
				scope,
				fc.string({ minLength: 1 }),
				fc.string(),
				scope,
				fc.string({ minLength: 1 }),
				(t1, s1, id1, t2, s2, id2) => {
					const same = t1 === t2 && s1 === s2 && id1 === id2;
					expect(namespaceId(namespace(t1, s1, id1)) === namespaceId(namespace(t2, s2, id2))).toBe(
						same,
					);
				},
			),
			{ numRuns: 5000 },
		);
	});

	it('keeps readable characters readable', () => {
		expect(encodeComponent('user-42_a.b')).toBe('user-42_a.b');
		expect(encodeComponent('a:b*c')).toBe('a%3Ab%2Ac');
		expect(encodeComponent('ü')).toBe('%C3%BC');
	});
});

describe('tenantPath', () => {
	it("is injective over (credential tenant, isolation key): no pair reaches another pair's tenant", () => {
		const text = fc.string({
			unit: fc.constantFrom('a', '/', '%', ':', '2F', 'é', ''),
			maxLength: 6,
		});
		fc.assert(
			fc.property(text, text, text, text, (t1, k1, t2, k2) => {
				if (t1 === t2 && k1 === k2) return;
				expect(tenantPath(t1, k1)).not.toBe(tenantPath(t2, k2));
			}),
			{ numRuns: 2000 },
		);
		// e.g. a tenant named "acme/bob" is not tenant "acme" with isolation key "bob".
		expect(tenantPath('acme/bob')).not.toBe(tenantPath('acme', 'bob'));
	});
});

describe('addresses', () => {
	it.each([
		[() => namespace('t', 'global', 'x'), /global scope takes no scope ID/],
		[() => namespace('t', 'session', ''), /session scope needs a scope ID/],
		[() => namespace('t', 'planet' as never, 'x'), /Unknown scope "planet"/],
		[() => namespace('x'.repeat(LIMITS.tenant + 1), 'global'), /at most 1024/],
		[() => namespace('t', 'plan-run' as never, 'x'), /Unknown scope "plan-run"/],
		[() => checkKey(''), /non-empty/],
		[() => checkKey('k'.repeat(513)), /at most 512/],
		[() => checkKey('a\u0000b'), /NUL/],
	])('rejects bad input clearly (%#)', (fn, message) => {
		expect(fn).toThrow(message);
	});
});

describe('values', () => {
	it.each([
		[undefined, /undefined/],
		[{ a: () => 1 }, /value\.a is a function/],
		[{ n: Number.NaN }, /value\.n is NaN/],
		[[1, Infinity], /value\[1\] is Infinity/],
		[{ d: new Date(0) }, /value\.d is a Date object/],
		[{ big: 1n }, /bigint/],
	])('rejects non-JSON %p', (value, message) => {
		expect(() => serializeValue(value)).toThrow(message);
	});

	it('rejects circular values and oversize values, naming the size', () => {
		const loop: Record<string, unknown> = {};
		loop.self = loop;
		expect(() => serializeValue(loop)).toThrow(/circular/);
		expect(() => serializeValue('x'.repeat(100), 50)).toThrow(/102 bytes as JSON; at most 50/);
	});

	it('accepts plain JSON, including shared (non-circular) references', () => {
		const shared = { a: 1 };
		expect(serializeValue({ x: shared, y: shared, z: [null, true, 'ü'] })).toBe(
			'{"x":{"a":1},"y":{"a":1},"z":[null,true,"ü"]}',
		);
	});
});

describe('access policy', () => {
	const policy = {
		read: ['session', 'global'] as const,
		write: ['session'] as const,
		requireTenant: true,
	};
	it('allows what it lists and names what it refuses', () => {
		expect(() =>
			checkAccess(
				{ ...policy, read: [...policy.read], write: [...policy.write] },
				'read',
				namespace('t', 'global'),
			),
		).not.toThrow();
		expect(() =>
			checkAccess(
				{ ...policy, read: [...policy.read], write: [...policy.write] },
				'write',
				namespace('t', 'global'),
			),
		).toThrow(/may not write the global scope \(allowed to write: session\)/);
		expect(() =>
			checkAccess(
				{ ...policy, read: [...policy.read], write: [...policy.write] },
				'read',
				namespace('', 'session', 's'),
			),
		).toThrow(/isolation key .* is required/);
	});

	it('refuses the in-process store in queue mode', () => {
		expect(() => assertSingleInstance('queue')).toThrow(/Choose the Redis or Postgres store/);
		expect(() => assertSingleInstance('regular')).not.toThrow();
	});
});

describe('selectRecent', () => {
	const m = (
		role: ConversationMessage['role'],
		content: string,
		extra: Partial<ConversationMessage> = {},
	): ConversationMessage => ({ role, content, ...extra });
	const history = [
		m('user', 'q1'),
		m('assistant', 'a1'),
		m('user', 'q2'),
		m('assistant', '', { toolCalls: [{ id: 'c1', name: 'search', args: { q: 'x' } }] }),
		m('tool', 'result', { toolCallId: 'c1' }),
		m('assistant', 'a2'),
	];

	it('keeps whole turns only', () => {
		expect(selectRecent(history, { maxMessages: 5 }).map((x) => x.content)).toEqual([
			'q2',
			'',
			'result',
			'a2',
		]);
		expect(selectRecent(history, { maxMessages: 6 })).toHaveLength(6);
	});

	it('falls back to whole blocks of the last turn, never splitting a tool call from its result', () => {
		expect(selectRecent(history, { maxMessages: 3 }).map((x) => x.content)).toEqual([
			'',
			'result',
			'a2',
		]);
		expect(selectRecent(history, { maxMessages: 2 }).map((x) => x.content)).toEqual(['a2']);
	});

	it('respects a token budget and returns nothing when nothing fits', () => {
		const tokens = selectRecent(history, { maxTokens: 3, countTokens: () => 1 });
		expect(tokens.map((x) => x.content)).toEqual(['', 'result', 'a2']);
		expect(selectRecent(history, { maxTokens: 0 })).toEqual([]);
	});

	it('property: never exceeds the budget and always returns a suffix of the history', () => {
		const message = fc.oneof(
			fc.constant(m('user', 'u')),
			fc.constant(m('assistant', 'a')),
			fc.constant(m('tool', 't')),
			fc.constant(m('system', 's')),
		);
		fc.assert(
			fc.property(
				fc.array(message, { maxLength: 40 }),
				fc.integer({ min: 0, max: 45 }),
				(messages, max) => {
					const out = selectRecent(messages, { maxMessages: max });
					expect(out.length).toBeLessThanOrEqual(max);
					expect(out).toEqual(messages.slice(messages.length - out.length));
					// A cut never lands right before a tool result: a leading tool message can only be the history's own first.
					if (out[0]?.role === 'tool') expect(out.length).toBe(messages.length);
				},
			),
			{ numRuns: 3000 },
		);
	});
});

describe('LangChain chat memory', () => {
	it('round-trips user, assistant (with tool calls), tool and system messages', async () => {
		const { ScopedChatMemory, InProcessMemoryStore, Memory } = await import('../../../lib/memory');
		const { AIMessage, HumanMessage, SystemMessage, ToolMessage } =
			await import('@langchain/core/messages');
		const chat = new ScopedChatMemory({
			memory: new Memory({ store: new InProcessMemoryStore() }),
			ns: namespace('t', 'session', 's1'),
			key: 'chat',
			maxMessages: 10,
		});
		await chat.chatHistory.addMessages([
			new SystemMessage('be brief'),
			new HumanMessage('find x'),
			new AIMessage({
				content: '',
				tool_calls: [{ id: 'c1', name: 'search', args: { q: 'x' }, type: 'tool_call' }],
			}),
			new ToolMessage({ content: 'x is 1', tool_call_id: 'c1' }),
			new AIMessage('x is 1'),
		]);
		await chat.saveContext({ input: 'thanks' }, { output: 'you are welcome' });
		const { chat_history: history } = await chat.loadMemoryVariables({});
		expect(history.map((m) => [m.getType(), m.content])).toEqual([
			['system', 'be brief'],
			['human', 'find x'],
			['ai', ''],
			['tool', 'x is 1'],
			['ai', 'x is 1'],
			['human', 'thanks'],
			['ai', 'you are welcome'],
		]);
		expect((history[2] as InstanceType<typeof AIMessage>).tool_calls?.[0]).toMatchObject({
			id: 'c1',
			name: 'search',
			args: { q: 'x' },
		});
		expect((history[3] as InstanceType<typeof ToolMessage>).tool_call_id).toBe('c1');
		await chat.clear();
		expect((await chat.loadMemoryVariables()).chat_history).toEqual([]);
	});
});

describe('turnMessages', () => {
	it('keeps answered tool calls with their results in order, and drops a step whose results are missing', async () => {
		const { turnMessages } = await import('../../../lib/memory');
		const { AIMessage, ToolMessage } = await import('@langchain/core/messages');
		const call = (id: string) =>
			new AIMessage({
				content: '',
				tool_calls: [{ id, name: 'search', args: {}, type: 'tool_call' }],
			});
		const result = (id: string) => new ToolMessage({ content: `result ${id}`, tool_call_id: id });
		const produced = [
			call('a'),
			result('a'),
			call('b'),
			result('b'),
			call('c'),
			new AIMessage('final'),
		];
		const turn = turnMessages('question', produced, 'answer');
		expect(turn.map((m) => [m.getType(), m.content])).toEqual([
			['human', 'question'],
			['ai', ''],
			['tool', 'result a'],
			['ai', ''],
			['tool', 'result b'],
			['ai', 'answer'],
		]);
	});
});

describe('Memory retries transient store errors only', () => {
	const failing = async (errors: unknown[]) => {
		const { InProcessMemoryStore, Memory } = await import('../../../lib/memory');
		const { FixedDelayRetryPolicy } = await import('../../../lib/retry');
		const store = new InProcessMemoryStore();
		const calls = { get: 0, increment: 0 };
		const flaky = Object.assign(Object.create(store), {
			get: async (...args: Parameters<typeof store.get>) => {
				calls.get++;
				const error = errors.shift();
				if (error) throw error;
				return store.get(...args);
			},
			increment: async (...args: Parameters<typeof store.increment>) => {
				calls.increment++;
				const error = errors.shift();
				if (error) throw error;
				return store.increment(...args);
			},
		});
		return {
			memory: new Memory({
				store: flaky,
				retry: new FixedDelayRetryPolicy({ maxRetries: 2, delay: 1 }),
			}),
			calls,
		};
	};
	const ns = namespace('t', 'custom', 'retry');
	const err = (props: object) => Object.assign(new Error('store failure'), props);

	it.each([
		['a Postgres serialization failure', { code: '40001' }],
		['a Postgres connection-class error', { code: '08006' }],
		['a reset connection, as a cause', { cause: { code: 'ECONNRESET' } }],
		['ioredis "Connection is closed."', { message: 'Connection is closed.' }],
	])('retries a get after %s', async (_, props) => {
		const { memory, calls } = await failing([err(props)]);
		await expect(memory.get(ns, 'k')).resolves.toBeUndefined();
		expect(calls.get).toBe(2);
	});

	it('does not retry its own errors or unknown ones', async () => {
		const { memory, calls } = await failing([err({ code: '23505' })]);
		await expect(memory.get(ns, 'k')).rejects.toThrow('store failure');
		expect(calls.get).toBe(1);
	});

	it('retries increment only when the request was never sent', async () => {
		const refused = await failing([err({ code: 'ECONNREFUSED' })]);
		await expect(refused.memory.increment(ns, 'n')).resolves.toMatchObject({ value: 1 });
		expect(refused.calls.increment).toBe(2);
		const reset = await failing([err({ code: 'ECONNRESET' })]);
		await expect(reset.memory.increment(ns, 'n')).rejects.toThrow('store failure');
		expect(reset.calls.increment).toBe(1);
	});
});
