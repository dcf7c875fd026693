/**
 * The Agent behind the OpenAgents Chat Completions Trigger, in-process: the trigger's item (as its webhook emits it)
 * starts the workflow, n8n-core streams the Agent's chunks, and the trigger's CompletionResponder turns them into the
 * client's response — the same path as in n8n, without the HTTP server. Covers what the e2e suite does not: a memory
 * sub-node (the client's history is not sent twice), Agent failures, nodes between the trigger and the Agent, and a
 * run that does not stream.
 */
import { randomBytes } from 'node:crypto';

import type { INode } from 'n8n-workflow';

import {
	CompletionResponder,
	newCompletionId,
	parseChatCompletionRequest,
	type ResponseSink,
} from '../../lib/chat-completions';
import { OfflineModelServer, type ChatRequest } from '../../stack/model-server';
import { deleteKeys, redisFromEnv } from '../../stack/services';
import { offlineLlmCredential, redisStoreCredential } from '../support/credentials';
import { testNodeTypes } from '../support/test-nodes';
import { PACKAGE_PREFIX, runWorkflow, type WorkflowJson } from '../support/workflow-runner';

const run = randomBytes(4).toString('hex');
const memoryPrefix = `openagents-chat-completions-nodes-${run}`;
const model = new OfflineModelServer();
const CREDENTIALS = {
	openAgentsLlmApi: { id: '1', name: 'llm' },
	openAgentsMemoryStore: { id: '2', name: 'memory' },
};

beforeAll(() => model.start());
afterAll(async () => {
	await model.stop();
	await deleteKeys(redisFromEnv(), `${memoryPrefix}:*`);
});
beforeEach(() => {
	model.reset();
	model.setHandler(undefined);
});

const node = (name: string, type: string, parameters: INode['parameters'], x: number): INode => ({
	id: name,
	name,
	type: type.includes('.') ? type : `${PACKAGE_PREFIX}.${type}`,
	typeVersion: 1,
	position: [x, 0],
	parameters,
	credentials: CREDENTIALS,
});

/**
 * Trigger → (a node replacing the item →) Agent, with a Test Tool (`tool`) and a Chat Memory sub-node keyed by the
 * item's sessionId (`memory`).
 */
function flow({
	memory = false,
	between = false,
	tool = false,
	agent = {} as INode['parameters'],
} = {}): WorkflowJson {
	const nodes = [
		node('Chat Completions', 'openAgentsChatCompletionsTrigger', { path: 'x', modelNames: 'm' }, 0),
		node(
			'Agent',
			'openAgentsAgent',
			{
				template: 'conversation',
				systemMessage: 'Be the test agent.',
				retryPolicy: { type: 'none' },
				...agent,
			},
			400,
		),
	];
	const connections: WorkflowJson['connections'] = {
		'Chat Completions': {
			main: [[{ node: between ? 'Reshape' : 'Agent', type: 'main', index: 0 }]],
		},
	};
	if (between) {
		nodes.push(
			node('Reshape', 'test.items', { items: JSON.stringify([{ note: 'another item' }]) }, 200),
		);
		connections.Reshape = { main: [[{ node: 'Agent', type: 'main', index: 0 }]] };
	}
	if (tool) {
		nodes.push(node('Lookup', 'test.tool', { toolName: 'lookup' }, 400));
		connections.Lookup = { ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]] };
	}
	if (memory) {
		nodes.push(
			node(
				'Chat Memory',
				'openAgentsMemoryChat',
				{ store: 'credential', scope: 'session', scopeId: '={{ $json.sessionId }}' },
				400,
			),
		);
		connections['Chat Memory'] = { ai_memory: [[{ node: 'Agent', type: 'ai_memory', index: 0 }]] };
	}
	return { nodes, connections };
}

/** Runs the flow for `body` (a Chat Completions request) and returns the HTTP response the client would get. */
async function complete(
	workflow: WorkflowJson,
	body: Record<string, unknown>,
	{ streaming = true } = {},
) {
	const request = parseChatCompletionRequest(body);
	const response = { status: 0, body: '' };
	const sink: ResponseSink = {
		start: (status) => void (response.status = status),
		write: (text) => void (response.body += text),
		end: (text = '') => void (response.body += text),
	};
	const id = newCompletionId();
	const responder = new CompletionResponder({
		identity: { id, created: 1, model: request.model },
		stream: request.stream === true,
		includeUsage: false,
		sink,
	});
	const item = {
		...request,
		completionId: id,
		chatInput: 'ignored',
		sessionId: request.user ?? id,
	};
	const result = await runWorkflow(workflow, {
		input: [{ json: item }],
		credentials: {
			openAgentsLlmApi: offlineLlmCredential(model.baseUrl),
			openAgentsMemoryStore: redisStoreCredential(memoryPrefix),
		},
		nodeTypes: testNodeTypes,
		...(streaming ? { onChunkLine: (line: string) => responder.receive(line) } : {}),
	});
	if (streaming) responder.close();
	return { response, json: response.body ? JSON.parse(response.body) : undefined, result };
}

const sentMessages = (i: number) =>
	(model.requestsTo('chat')[i].body as ChatRequest).messages.map(
		(m) => `${m.role}: ${String(m.content)}`,
	);

describe('Agent behind the Chat Completions Trigger', () => {
	it('takes the history from a connected memory instead of the request, so no turn reaches the model twice', async () => {
		model.reply({ content: 'Hello Ada.' }, { content: 'You are Ada.' });
		const user = `ada-${run}`;
		const first = await complete(flow({ memory: true }), {
			model: 'm',
			user,
			messages: [{ role: 'user', content: 'I am Ada.' }],
		});
		expect(first.json.choices[0].message.content).toBe('Hello Ada.');
		await complete(flow({ memory: true }), {
			model: 'm',
			user,
			messages: [
				{ role: 'user', content: 'I am Ada.' },
				{ role: 'assistant', content: 'Hello Ada.' },
				{ role: 'user', content: 'Who am I?' },
			],
		});
		expect(sentMessages(1)).toEqual([
			'system: Be the test agent.',
			'user: I am Ada.',
			'assistant: Hello Ada.',
			'user: Who am I?',
		]);
	});

	it('reads the request from the trigger when a node in between replaces the item', async () => {
		const { json } = await complete(flow({ between: true }), {
			model: 'm',
			messages: [{ role: 'user', content: 'through a Set node' }],
		});
		expect(json.object).toBe('chat.completion');
		expect(sentMessages(0)).toEqual(['system: Be the test agent.', 'user: through a Set node']);
	});

	it('turns a failed Agent item into an OpenAI error with its message, also with continueOnFail', async () => {
		model.fail({ type: 'status', status: 500 }, { times: 5 });
		for (const onError of [undefined, 'continueRegularOutput'] as const) {
			const workflow = flow();
			workflow.nodes[1].onError = onError;
			const { response, json } = await complete(workflow, {
				model: 'm',
				messages: [{ role: 'user', content: 'fail please' }],
			});
			expect(response.status).toBe(500);
			expect(json.error).toMatchObject({
				type: 'server_error',
				message: expect.stringMatching(/500/),
			});
		}
	});

	it('finishes with "length" and the usage so far when the Agent budget runs out', async () => {
		model.reply({ toolCalls: [{ name: 'lookup', arguments: { input: 'x' } }] });
		const { json } = await complete(
			flow({ tool: true, agent: { options: { maxModelCalls: 1 } } }),
			{
				model: 'm',
				messages: [{ role: 'user', content: 'look it up' }],
			},
		);
		expect(json.choices[0].finish_reason).toBe('length');
		expect(json.usage.total_tokens).toBeGreaterThan(0);
		expect(model.requestsTo('chat')).toHaveLength(1);
	});

	it('answers JSON for response_format json_object, and an error when the model never gives an object', async () => {
		model.reply({ content: '{"answer": 42}' });
		const ok = await complete(flow(), {
			model: 'm',
			response_format: { type: 'json_object' },
			messages: [{ role: 'user', content: 'as JSON' }],
		});
		expect(JSON.parse(ok.json.choices[0].message.content)).toEqual({ answer: 42 });
		model.reply({ content: 'forty-two' }, { content: 'still forty-two' });
		const bad = await complete(flow(), {
			model: 'm',
			response_format: { type: 'json_object' },
			messages: [{ role: 'user', content: 'as JSON' }],
		});
		expect(bad.response.status).toBe(500);
		expect(bad.json.error.code).toBe('invalid_output');
	});

	it("validates against the node's own Output Format when it is structured, not the request's schema", async () => {
		model.reply({ content: '{"city": "Paris"}' });
		const { json } = await complete(
			flow({
				agent: {
					outputFormat: 'fields',
					outputFields: { field: [{ name: 'city', type: 'string', required: true }] },
				},
			}),
			{
				model: 'm',
				response_format: {
					type: 'json_schema',
					json_schema: {
						name: 'other',
						schema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
					},
				},
				messages: [{ role: 'user', content: 'which city?' }],
			},
		);
		expect(JSON.parse(json.choices[0].message.content)).toEqual({ city: 'Paris' });
		expect(model.requestsTo('chat')).toHaveLength(1);
	});

	it('answers from the request without streaming when the run does not stream (e.g. a manual run)', async () => {
		model.reply({ content: 'Plain output.' });
		const { response, result } = await complete(
			flow(),
			{ model: 'm', messages: [{ role: 'user', content: 'no stream' }] },
			{ streaming: false },
		);
		expect(response.status).toBe(0);
		expect(result.outputs.Agent[0][0].json.output).toBe('Plain output.');
		expect(sentMessages(0)).toEqual(['system: Be the test agent.', 'user: no stream']);
	});
});
