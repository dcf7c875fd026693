/** Structured output: validation with zod, one repair round with the errors, rejection when still invalid. */
import { HumanMessage } from '@langchain/core/messages';
import { z } from 'zod';

import {
	createChatModel,
	extractJson,
	invokeStructured,
	schemaFromFields,
	StructuredOutputError,
	UsageTracker,
	type LlmConfig,
} from '../../../lib/llm';
import { NoRetryPolicy } from '../../../lib/retry';
import {
	OfflineModelServer,
	type ChatRequest,
	offlineModelConfig,
} from '../../../stack/model-server';

const server = new OfflineModelServer();
let config: LlmConfig;
beforeAll(async () => {
	config = offlineModelConfig(await server.start());
});
afterAll(() => server.stop());
beforeEach(() => server.reset());

const schema = z.object({
	title: z.string(),
	priority: z.number().int().min(1).max(5),
	tags: z.array(z.string()),
});
const policy = new NoRetryPolicy();
const lastUser = (request: { body: unknown }) =>
	String((request.body as ChatRequest).messages.at(-1)?.content);

it('accepts a valid reply at once, and puts the JSON Schema in the prompt', async () => {
	server.reply({ content: '{"title": "Fix login", "priority": 2, "tags": ["auth"]}' });
	const result = await invokeStructured(
		createChatModel(config),
		[new HumanMessage('Make a ticket')],
		schema,
		{ policy },
	);
	expect(result).toMatchObject({
		value: { title: 'Fix login', priority: 2, tags: ['auth'] },
		repairs: 0,
	});
	expect(JSON.stringify(server.requestsTo('chat')[0].body)).toContain(
		'\\"priority\\":{\\"type\\":\\"integer\\"',
	);
});

it('asks once more with the validation errors, and accepts the repaired reply', async () => {
	server.reply(
		{ content: 'Sure! {"title": "Fix login", "priority": 9}' },
		{ content: '```json\n{"title": "Fix login", "priority": 5, "tags": []}\n```' },
	);
	const usage = new UsageTracker();
	const result = await invokeStructured(
		createChatModel(config),
		[new HumanMessage('Make a ticket')],
		schema,
		{ policy, usage },
	);
	expect(result).toMatchObject({ value: { priority: 5, tags: [] }, repairs: 1 });
	const repairPrompt = lastUser(server.requestsTo('chat')[1]);
	expect(repairPrompt).toMatch(/priority: Number must be less than or equal to 5/);
	expect(repairPrompt).toMatch(/tags: Required/);
	expect(usage.get().modelCalls).toBe(2);
});

it('rejects output that is still invalid after the repair, with the issues', async () => {
	server.reply({ content: 'no json here' }, { content: '{"title": 3}' });
	const error = await invokeStructured(
		createChatModel(config),
		[new HumanMessage('Make a ticket')],
		schema,
		{ policy },
	).catch((e: unknown) => e);
	expect(error).toBeInstanceOf(StructuredOutputError);
	expect((error as StructuredOutputError).issues).toEqual(
		expect.arrayContaining(['title: Expected string, received number', 'priority: Required']),
	);
	expect((error as StructuredOutputError).raw).toBe('{"title": 3}');
	expect(lastUser(server.requestsTo('chat')[1])).toMatch(/\(root\): the reply is not JSON/);
});

it('builds a schema from a field list', () => {
	const fromFields = schemaFromFields([
		{ name: 'summary', type: 'string' },
		{ name: 'score', type: 'number' },
		{ name: 'notes', type: 'array', required: false },
	]);
	expect(fromFields.safeParse({ summary: 's', score: 1 }).success).toBe(true);
	expect(fromFields.safeParse({ summary: 's' }).success).toBe(false);
	expect(() =>
		schemaFromFields([
			{ name: 'a', type: 'string' },
			{ name: 'a', type: 'number' },
		]),
	).toThrow(/listed twice/);
	expect(extractJson('text {"a": 1} more')).toEqual({ a: 1 });
	expect(extractJson('nothing')).toBeUndefined();
});
