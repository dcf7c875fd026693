/**
 * n8n's own AI Agent keeps its chat history in our Chat Memory sub-node (Redis), in real queue-mode n8n, with
 * n8n's OpenAI Chat Model node pointed at the offline stand-in model: the second turn of a session reaches the
 * model with the first turn in its messages; another session does not.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { OfflineModelServer, type ChatRequest } from '../../stack/model-server';
import { clusterFromEnv } from '../../stack/n8n/cluster';
import { aiAgentNode, openAiChatModelNode, webhookNode } from '../../stack/n8n/workflow-nodes';
import { deleteKeys, redisFromEnv } from '../../stack/services';

const { client } = clusterFromEnv();
const prefix = `openagents-e2e-chat-${randomBytes(4).toString('hex')}`;
const model = new OfflineModelServer();

beforeAll(() => model.start());
afterAll(async () => {
	await model.stop();
	await deleteKeys(redisFromEnv(), `${prefix}:*`);
});

it("n8n's AI Agent holds a two-turn conversation in our memory, per session", async () => {
	const openAi = await client.createCredential('offline stand-in (OpenAI API)', 'openAiApi', {
		apiKey: 'sk-offline',
		url: model.baseUrl,
	});
	const store = await client.createCredential('e2e chat memory', 'openAgentsMemoryStore', {
		backend: 'redis',
		host: '127.0.0.1',
		redisPort: 6379,
		redisDatabase: 0,
		prefix,
		allowIsolationKeys: true,
	});
	const path = `e2e-chat-${randomUUID()}`;
	const { id } = await client.createWorkflow({
		name: 'e2e: n8n AI Agent with OpenAgents Chat Memory',
		nodes: [
			webhookNode(path),
			aiAgentNode('={{ $json.body.message }}'),
			openAiChatModelNode(openAi),
			{
				id: randomUUID(),
				name: 'Chat Memory',
				type: 'n8n-nodes-openagents.openAgentsMemoryChat',
				typeVersion: 1,
				position: [360, 200],
				parameters: {
					store: 'credential',
					scope: 'session',
					scopeId: '={{ $json.body.sessionId }}',
					isolationKey: 'e2e',
					key: 'chat_history',
					maxMessages: 20,
				},
				credentials: { openAgentsMemoryStore: { id: store.id, name: store.name } },
			},
		],
		connections: {
			Webhook: { main: [[{ node: 'AI Agent', type: 'main', index: 0 }]] },
			'Chat Model': {
				ai_languageModel: [[{ node: 'AI Agent', type: 'ai_languageModel', index: 0 }]],
			},
			'Chat Memory': { ai_memory: [[{ node: 'AI Agent', type: 'ai_memory', index: 0 }]] },
		},
	});
	await client.activateWorkflow(id, [path]);

	const say = async (sessionId: string, message: string) => {
		const res = await client.webhook(path, { sessionId, message });
		const body = await res.text();
		expect({ status: res.status, body }).toMatchObject({ status: 200 });
		return JSON.parse(body) as { output: string };
	};
	const contents = (request: { body: unknown }) =>
		(request.body as ChatRequest).messages.map((m) =>
			typeof m.content === 'string' ? m.content : '',
		);

	const first = await say('session-a', 'My name is Ada.');
	expect(first.output).toContain('My name is Ada.');
	await say('session-a', 'What is my name?');
	await say('session-b', 'Who am I?');

	const [turn1, turn2, other] = model.requestsTo('chat');
	expect(contents(turn1)).not.toContain('What is my name?');
	expect(contents(turn2)).toEqual(
		expect.arrayContaining(['My name is Ada.', first.output, 'What is my name?']),
	);
	expect(contents(other)).not.toContain('My name is Ada.');
	expect(contents(other)).toContain('Who am I?');

	const executions = await client.waitForExecutions(id, 3);
	expect(executions.map((e) => e.status)).toEqual(['success', 'success', 'success']);
}, 180_000);
