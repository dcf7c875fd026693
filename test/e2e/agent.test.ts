/**
 * The Agent in real queue-mode n8n (main + 2 workers): with n8n's own OpenAI Chat Model sub-node and HTTP Request
 * Tool (a tool node nobody here wrote), and with the OpenAgents LLM API credential running Task steps in parallel.
 * Token usage is read back from the execution's custom data through n8n's public API.
 */
import { randomUUID } from 'node:crypto';

import {
	lastUserText,
	OfflineModelServer,
	type ChatRequest,
	offlineModelConfig,
} from '../../stack/model-server';
import { clusterFromEnv } from '../../stack/n8n/cluster';
import {
	agentNode,
	openAiChatModelNode,
	webhookNode,
	whereNode,
} from '../../stack/n8n/workflow-nodes';

const { client } = clusterFromEnv();
const model = new OfflineModelServer();

beforeAll(() => model.start());
afterAll(() => model.stop());
beforeEach(() => {
	model.reset();
	model.setHandler(undefined);
});

async function activate(
	name: string,
	nodes: Array<{ name: string } & Record<string, unknown>>,
	connections: Record<string, unknown>,
	path: string,
) {
	const { id } = await client.createWorkflow({ name, nodes, connections });
	await client.activateWorkflow(id, [path]);
	return id;
}

/** The newest execution of `workflowId`, with its custom data. */
async function latestExecution(workflowId: string) {
	const [latest] = await client.executions({ workflowId, limit: 1 });
	return client.execution(latest.id, true);
}

describe('Agent in queue-mode n8n', () => {
	it("calls n8n's HTTP Request Tool through n8n's OpenAI Chat Model and records token usage on the execution", async () => {
		const openAi = await client.createCredential(
			'e2e agent offline model (OpenAI API)',
			'openAiApi',
			{ apiKey: 'sk-offline', url: model.baseUrl },
		);
		// The model calls the only tool it is given, then answers with what the tool returned.
		model.setHandler((request: ChatRequest) => {
			const result = request.messages.find((m) => m.role === 'tool');
			if (result) return { content: `The API serves: ${String(result.content)}` };
			return { toolCalls: [{ name: request.tools![0].function.name, arguments: {} }] };
		});
		const path = `e2e-agent-http-${randomUUID()}`;
		const workflowId = await activate(
			'e2e: Agent with n8n chat model and HTTP Request Tool',
			[
				webhookNode(path),
				agentNode({
					template: 'conversation',
					prompt: '={{ $json.body.question }}',
					options: {},
					retryPolicy: { type: 'none' },
				}),
				whereNode([440, 0], true),
				openAiChatModelNode(openAi),
				{
					id: randomUUID(),
					name: 'List Models',
					type: 'n8n-nodes-base.httpRequestTool',
					typeVersion: 4.2,
					position: [360, 200],
					parameters: {
						toolDescription: 'Lists the models the model API serves',
						url: `${model.baseUrl}/models`,
						options: {},
					},
				},
			],
			{
				Webhook: { main: [[{ node: 'Agent', type: 'main', index: 0 }]] },
				Agent: { main: [[{ node: 'Where', type: 'main', index: 0 }]] },
				'Chat Model': {
					ai_languageModel: [[{ node: 'Agent', type: 'ai_languageModel', index: 0 }]],
				},
				'List Models': { ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]] },
			},
			path,
		);
		const res = await client.webhook(path, { question: 'Which models does the API serve?' });
		const text = await res.text();
		expect({ status: res.status, text }).toMatchObject({ status: 200 });
		const reply = JSON.parse(text) as {
			processName: string;
			output: string;
			status: string;
			steps: Array<{ tool: string; output: string }>;
			usage: { modelCalls: number; totalTokens: number };
		};
		expect(reply.status).toBe('completed');
		expect(reply.processName).toMatch(/^worker-/);
		expect(reply.steps).toHaveLength(1);
		expect(reply.steps[0].tool).toBe('List_Models');
		// n8n's HTTP Request node really ran: its GET /models response reached the model and the answer.
		expect(reply.steps[0].output).toContain('offline-embedding');
		expect(reply.output).toContain('offline-embedding');
		expect(model.requestsTo('models')).toHaveLength(1);
		expect(reply.usage.modelCalls).toBe(2);

		const execution = await latestExecution(workflowId);
		expect(execution.customData).toMatchObject({
			openagents_model_calls: '2',
			openagents_total_tokens: String(reply.usage.totalTokens),
		});
	}, 120_000);

	it('runs Task steps in parallel on a worker with the OpenAgents LLM API credential', async () => {
		const llm = await client.createCredential(
			'e2e agent offline model',
			'openAgentsLlmApi',
			offlineModelConfig(model),
		);
		model.latencyMs = 400;
		model.setHandler((request: ChatRequest) => {
			const user = lastUserText(request.messages);
			return {
				content: `${/"([^"]+)":\n/.exec(user)?.[1]} for ${/Task input:\n(.*)/.exec(user)?.[1]}`,
			};
		});
		const path = `e2e-agent-task-${randomUUID()}`;
		const step = (name: string) => ({
			name,
			instruction: `Write the ${name}`,
			timeoutSeconds: 30,
			retries: 0,
		});
		await activate(
			'e2e: Agent Task with parallel steps',
			[
				webhookNode(path),
				agentNode(
					{
						template: 'task',
						taskInput: '={{ $json.body.topic }}',
						steps: { step: [step('title'), step('summary'), step('tags')] },
						stepExecution: 'parallel',
						strict: true,
						options: {},
					},
					{ openAgentsLlmApi: llm },
				),
				whereNode([440, 0], true),
			],
			{
				Webhook: { main: [[{ node: 'Agent', type: 'main', index: 0 }]] },
				Agent: { main: [[{ node: 'Where', type: 'main', index: 0 }]] },
			},
			path,
		);
		const res = await client.webhook(path, { topic: 'queue mode' });
		const reply = JSON.parse(await res.text()) as {
			processName: string;
			output: Record<string, string>;
			status: string;
			taskSteps: Array<{ startedAt: string; finishedAt: string }>;
		};
		expect(reply.processName).toMatch(/^worker-/);
		expect(reply).toMatchObject({
			status: 'completed',
			output: {
				title: 'title for queue mode',
				summary: 'summary for queue mode',
				tags: 'tags for queue mode',
			},
		});
		// Every pair of steps overlapped in time: each began before the other ended.
		const spans = reply.taskSteps.map((s) => [Date.parse(s.startedAt), Date.parse(s.finishedAt)]);
		for (const [i, a] of spans.entries())
			for (const b of spans.slice(i + 1)) expect(a[0] < b[1] && b[0] < a[1]).toBe(true);
	}, 120_000);
});
