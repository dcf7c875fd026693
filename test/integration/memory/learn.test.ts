/**
 * Learning from a turn: one model call's ADD / UPDATE / DELETE / NOOP decisions applied to the subject's facts;
 * invalid output and IDs that were not given are rejected with nothing applied; the budget skips the call.
 */
import {
	createChatModel,
	StructuredOutputError,
	UsageTracker,
	type LlmConfig,
} from '../../../lib/llm';
import { InProcessMemoryStore, Memory } from '../../../lib/memory';
import { FACT_ACCESS, openFactMemory, type FactMemory } from '../../../lib/memory/facts';
import { learnFromTurn, type LearnRequest } from '../../../lib/memory/facts/learn';
import { FixedDelayRetryPolicy, NoRetryPolicy } from '../../../lib/retry';
import {
	OfflineModelServer,
	offlineModelConfig,
	type ChatRequest,
} from '../../../stack/model-server';

const server = new OfflineModelServer();
let config: LlmConfig;
let facts: FactMemory;
beforeAll(async () => {
	config = offlineModelConfig(await server.start());
});
afterAll(() => server.stop());
beforeEach(() => {
	server.reset();
	// The store is real (the in-process one, as every store behaves the same behind Memory); one tenant per test.
	const memory = new Memory({ store: new InProcessMemoryStore(), policy: FACT_ACCESS });
	facts = openFactMemory(memory, { tenant: 'tenant-a/' });
});

const subject = 'customer-42';
const turn = {
	user: 'I moved from the Pro plan to Enterprise last week.',
	assistant: 'Noted, thanks!',
};
const policy = new NoRetryPolicy();

function learn(extra: Partial<LearnRequest> = {}) {
	return learnFromTurn({
		facts,
		subject,
		turn,
		model: createChatModel(config),
		callOptions: { policy, usage: new UsageTracker() },
		provenance: { workflowId: 'wf-1', executionId: '7' },
		...extra,
	});
}

const reply = (memory: unknown[]) => server.reply({ content: JSON.stringify({ memory }) });
const current = async () => (await facts.list(subject)).facts.map((f) => f.text).sort();
const prompt = (i = 0) =>
	(server.requestsTo('chat')[i].body as ChatRequest).messages
		.map((m) => String(m.content))
		.join('\n');

it('ADD stores a new fact about the subject, marked as learned with its provenance', async () => {
	reply([{ event: 'ADD', text: 'The customer is on the Enterprise plan.' }]);
	const outcome = await learn();
	expect(outcome).toMatchObject({ added: 1, updated: 0, deleted: 0, unchanged: 0, repairs: 0 });
	const [fact] = (await facts.list(subject)).facts;
	expect(fact).toMatchObject({
		id: outcome.changes[0].id,
		text: 'The customer is on the Enterprise plan.',
		provenance: { source: 'learned', workflowId: 'wf-1', executionId: '7' },
	});
	expect(prompt()).toContain(turn.user);
	expect(prompt()).toContain('Stored facts:\n(none)');
	expect(server.requestsTo('chat')).toHaveLength(1);
});

it('UPDATE supersedes the stored fact it names: only the newer text is current', async () => {
	const old = await facts.remember(subject, 'The customer is on the Pro plan.');
	reply([{ event: 'UPDATE', id: 'f1', text: 'The customer is on the Enterprise plan.' }]);
	const outcome = await learn();
	expect(outcome).toMatchObject({ added: 0, updated: 1, deleted: 0 });
	expect(outcome.changes[0]).toMatchObject({ event: 'UPDATE', replaces: old.id });
	expect(prompt()).toContain('f1: The customer is on the Pro plan.');
	expect(await current()).toEqual(['The customer is on the Enterprise plan.']);
	const recalled = await facts.recall({ subject, query: 'Pro plan', topK: 5 });
	expect(recalled.map((f) => f.id)).not.toContain(old.id);
});

it('DELETE removes the stored fact the turn contradicts; NOOP leaves the others as they are', async () => {
	await facts.remember(subject, 'The customer is on the Pro plan.');
	await facts.remember(subject, 'The customer prefers e-mail over phone calls.');
	server.reply((request: ChatRequest) => {
		// The IDs as the model was given them: find which short ID stands for which fact.
		const text = request.messages.map((m) => String(m.content)).join('\n');
		const idOf = (needle: string) => new RegExp(`(f\\d+): [^\\n]*${needle}`).exec(text)![1];
		return {
			content: JSON.stringify({
				memory: [
					{ event: 'DELETE', id: idOf('Pro plan') },
					{ event: 'NOOP', id: idOf('e-mail') },
				],
			}),
		};
	});
	const outcome = await learn({
		turn: {
			user: 'I cancelled the Pro plan. E-mail is still the best way to reach me.',
			assistant: 'OK.',
		},
	});
	expect(outcome).toMatchObject({ added: 0, updated: 0, deleted: 1, unchanged: 1 });
	expect(await current()).toEqual(['The customer prefers e-mail over phone calls.']);
});

it('an empty decision list changes nothing', async () => {
	await facts.remember(subject, 'The customer is on the Pro plan.');
	reply([]);
	expect(await learn()).toMatchObject({
		added: 0,
		updated: 0,
		deleted: 0,
		unchanged: 0,
		changes: [],
	});
	expect(await current()).toEqual(['The customer is on the Pro plan.']);
});

it('rejects output that stays invalid after one repair, applying nothing', async () => {
	await facts.remember(subject, 'The customer is on the Pro plan.');
	server.reply(
		{ content: 'The customer now has Enterprise.' },
		{ content: JSON.stringify({ memory: [{ event: 'REPLACE', id: 'f1' }] }) },
	);
	const error = await learn().catch((e: unknown) => e);
	expect(error).toBeInstanceOf(StructuredOutputError);
	expect(server.requestsTo('chat')).toHaveLength(2);
	expect(await current()).toEqual(['The customer is on the Pro plan.']);
});

it('repairs once: the errors go back to the model and the corrected reply is applied', async () => {
	server.reply(
		{ content: JSON.stringify({ memory: [{ event: 'ADD' }] }) },
		{
			content: JSON.stringify({
				memory: [{ event: 'ADD', text: 'The customer is on Enterprise.' }],
			}),
		},
	);
	expect(await learn()).toMatchObject({ added: 1, repairs: 1 });
	expect(prompt(1)).toMatch(/memory\.0\.text/);
	expect(await current()).toEqual(['The customer is on Enterprise.']);
});

it('rejects an ID that was not given (invented, or a real fact ID of the store), applying nothing', async () => {
	const stored = await facts.remember(subject, 'The customer is on the Pro plan.');
	const other = await facts.remember('customer-7', 'Customer 7 is on the Free plan.');
	server.reply(
		{
			content: JSON.stringify({
				memory: [
					{ event: 'ADD', text: 'The customer is on Enterprise.' },
					{ event: 'DELETE', id: 'f9' },
				],
			}),
		},
		{ content: JSON.stringify({ memory: [{ event: 'DELETE', id: other.id }] }) },
	);
	const error = (await learn().catch((e: unknown) => e)) as StructuredOutputError;
	expect(error).toBeInstanceOf(StructuredOutputError);
	// The first reply's invented ID went back to the model as a validation error; the second's was rejected.
	expect(prompt(1)).toMatch(/memory\.1\.id: "f9" is not one of the given fact IDs \(f1\)/);
	expect(error.issues.join('\n')).toContain(`"${other.id}" is not one of the given fact IDs`);
	expect((await facts.list(subject)).facts.map((f) => f.id)).toEqual([stored.id]);
	expect((await facts.list('customer-7')).facts).toHaveLength(1);
});

it('rejects two decisions on one fact', async () => {
	await facts.remember(subject, 'The customer is on the Pro plan.');
	const twice = [
		{ event: 'UPDATE', id: 'f1', text: 'The customer is on Enterprise.' },
		{ event: 'DELETE', id: 'f1' },
	];
	reply(twice);
	reply(twice);
	const error = (await learn().catch((e: unknown) => e)) as StructuredOutputError;
	expect(error.issues.join('\n')).toMatch(/fact "f1" has more than one decision/);
	expect(await current()).toEqual(['The customer is on the Pro plan.']);
});

it("makes no call once the run's budget is used up", async () => {
	const usage = new UsageTracker();
	usage.record({ input_tokens: 900, output_tokens: 200, total_tokens: 1100 }, 'm');
	const outcome = await learn({
		callOptions: { policy, usage },
		budget: { maxTotalTokens: 1000 },
	});
	expect(outcome).toMatchObject({ added: 0, skipped: expect.stringMatching(/1000 tokens/) });
	expect(server.requestsTo('chat')).toHaveLength(0);
});

it('retries a failed model call under the Retry Policy', async () => {
	server.fail({ type: 'status', status: 503 });
	reply([{ event: 'ADD', text: 'The customer is on Enterprise.' }]);
	const usage = new UsageTracker();
	const outcome = await learn({
		callOptions: {
			policy: new FixedDelayRetryPolicy({ maxRetries: 2, delay: 1 }),
			usage,
		},
	});
	expect(outcome.added).toBe(1);
	expect(usage.get().retries).toBe(1);
});

it('shows the model all stored facts when they fit, else the ones most related to the turn', async () => {
	await facts.remember(subject, 'The customer is on the Pro plan.');
	await facts.remember(subject, 'The customer likes dark mode.');
	reply([]);
	reply([]);
	await learn({ existing: 2 });
	expect(prompt(0)).toMatch(/f1: .*\nf2: /);
	await learn({ existing: 1 });
	expect(prompt(1)).toContain('f1: The customer is on the Pro plan.');
	expect(prompt(1)).not.toContain('dark mode');
});

it('shows all current facts when they fit, whatever the number of superseded ones kept as their history', async () => {
	// 120 superseded versions: more keys than one page of the listing holds, the two current facts among them.
	let plan = await facts.remember(subject, 'The customer is on the Free plan.');
	for (let i = 1; i <= 120; i++)
		plan = await facts.update(subject, plan.id, `The customer is on the Free plan, month ${i}.`);
	await facts.update(subject, plan.id, 'The customer is on the Pro plan.');
	await facts.remember(subject, 'The customer likes dark mode.');
	reply([]);
	await learn({ existing: 2, turn: { user: 'Hello.', assistant: 'Hi!' } });
	// Recall would drop facts that share no word with this turn; both are shown, the superseded one is not.
	expect(prompt(0)).toMatch(/f1: .*\nf2: /);
	expect(prompt(0)).toContain('Pro plan');
	expect(prompt(0)).toContain('dark mode');
	expect(prompt(0)).not.toContain('Free plan');
});

it('refuses a fact longer than the store takes before applying any decision of the reply', async () => {
	const tooLong = `The customer wrote ${'a'.repeat(10_000)}.`;
	reply([
		{ event: 'ADD', text: 'The customer is on Enterprise.' },
		{ event: 'ADD', text: tooLong },
	]);
	reply([
		{ event: 'ADD', text: 'The customer is on Enterprise.' },
		{ event: 'ADD', text: tooLong },
	]);
	const error = await learn().catch((e: unknown) => e);
	expect(error).toBeInstanceOf(StructuredOutputError);
	expect(prompt(1)).toMatch(/memory\.1\.text/);
	expect(await current()).toEqual([]);
});

it('recalls the facts to show for a turn longer than a recall query takes', async () => {
	await facts.remember(subject, 'The customer is on the Pro plan.');
	await facts.remember(subject, 'The customer likes dark mode.');
	reply([]);
	const outcome = await learn({
		existing: 1,
		turn: { user: `About my Pro plan: ${'details '.repeat(3_000)}`, assistant: 'Noted.' },
	});
	expect(outcome).toMatchObject({ added: 0, updated: 0, deleted: 0 });
	expect(prompt(0)).toContain('f1: The customer is on the Pro plan.');
});
