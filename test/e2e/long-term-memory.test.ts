/**
 * Long-term memory across workflows in real queue-mode n8n (main + 2 workers): workflow A's Agent learns a fact about
 * a customer from a conversation (Learn From Conversation), workflow B's Agent, with the same Memory Store credential
 * and subject, recalls it into its prompt (Recall Memories) on the other worker; another subject recalls nothing.
 * Example 10 as shipped: the chat learns, the e-mail follow-up recalls, the Forget webhook erases the customer.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { OfflineModelServer, offlineModelConfig, type ChatRequest } from '../../stack/model-server';
import {
	activateExample,
	importExample,
	loadExample,
	upsertExampleCredentials,
	webhookPath,
	WEBHOOK_KEY_HEADER,
} from '../../stack/examples';
import { clusterFromEnv } from '../../stack/n8n/cluster';
import { agentNode, webhookNode, whereNode } from '../../stack/n8n/workflow-nodes';
import { deleteKeys, redisFromEnv } from '../../stack/services';

const { client } = clusterFromEnv();
const model = new OfflineModelServer();
const prefix = `openagents-e2e-ltm-${randomBytes(4).toString('hex')}`;
const FACT = 'The customer moved to the Enterprise plan.';

beforeAll(() => model.start());
afterAll(async () => {
	await model.stop();
	await deleteKeys(redisFromEnv(), `${prefix}:*`);
});

/** Webhook → Agent (long-term memory of body.customer, `parameters`) → Where (which process ran it). */
async function deploy(
	name: string,
	parameters: Record<string, unknown>,
	credentials: Record<string, { id: string; name: string }>,
): Promise<string> {
	const path = `e2e-ltm-${randomUUID()}`;
	const { id } = await client.createWorkflow({
		name,
		nodes: [
			webhookNode(path),
			agentNode(
				{
					template: 'conversation',
					prompt: '={{ $json.body.message }}',
					systemMessage: 'You are the support agent.',
					longTermMemory: true,
					store: 'credential',
					memorySubject: '={{ $json.body.customer }}',
					options: {},
					...parameters,
				},
				credentials,
			),
			whereNode([440, 0], true),
		],
		connections: {
			Webhook: { main: [[{ node: 'Agent', type: 'main', index: 0 }]] },
			Agent: { main: [[{ node: 'Where', type: 'main', index: 0 }]] },
		},
	});
	await client.activateWorkflow(id, [path]);
	return path;
}

interface Reply {
	output: string;
	processName: string;
	memory?: { recalled?: string[]; learned?: Record<string, number> };
}

const call = async (path: string, body: object) =>
	(await (
		await client.webhook(path, body, 'POST', {}, AbortSignal.timeout(30_000))
	).json()) as Reply;

it('a fact learned in workflow A is recalled in workflow B on another worker, for the same subject only', async () => {
	const llm = await client.createCredential(
		'e2e ltm model',
		'openAgentsLlmApi',
		offlineModelConfig(model),
	);
	const store = await client.createCredential('e2e ltm store', 'openAgentsMemoryStore', {
		backend: 'redis',
		host: '127.0.0.1',
		redisPort: 6379,
		redisDatabase: 0,
		prefix,
	});
	const credentials = {
		openAgentsLlmApi: { id: llm.id, name: 'e2e ltm model' },
		openAgentsMemoryStore: { id: store.id, name: 'e2e ltm store' },
	};
	// The learning call gets the fact to add; every other answer repeats the system message, so the reply shows
	// what was recalled into the prompt.
	model.setHandler((request: ChatRequest) => {
		const system = String(request.messages[0].content);
		const all = request.messages.map((m) => String(m.content)).join('\n');
		if (/long-term memory of an assistant/.test(all))
			return { content: JSON.stringify({ memory: [{ event: 'ADD', text: FACT }] }) };
		return { content: system };
	});
	const chat = await deploy(
		'e2e: support chat (learns)',
		{ recallMemories: false, learnFromConversation: true },
		credentials,
	);
	const followUp = await deploy('e2e: e-mail follow-up (recalls)', { recallTopK: 5 }, credentials);
	const customer = `customer-${randomUUID()}`;

	const learned = await call(chat, { customer, message: 'We moved to the Enterprise plan.' });
	expect(learned.processName).toMatch(/^worker-\d$/);
	expect(learned.memory?.learned).toEqual({ added: 1, updated: 0, deleted: 0, unchanged: 0 });

	// Calls go to whichever worker takes the job: send them until one runs on the other worker.
	let recalled: Reply | undefined;
	for (let i = 0; i < 12 && !recalled; i++) {
		const reply = await call(followUp, { customer, message: 'Which plan is the customer on?' });
		expect(reply.output).toContain(FACT);
		expect(reply.memory?.recalled).toHaveLength(1);
		if (reply.processName !== learned.processName) recalled = reply;
	}
	expect(recalled?.processName).toMatch(/^worker-\d$/);

	const stranger = await call(followUp, {
		customer: `customer-${randomUUID()}`,
		message: 'Which plan is the customer on?',
	});
	expect(stranger.output).not.toContain(FACT);
	expect(stranger.memory?.recalled).toEqual([]);
}, 240_000);

it('example 10: the chat learns about a customer, the e-mail follow-up recalls it, Forget erases it', async () => {
	const { credentials, webhookKey } = await upsertExampleCredentials(client, {
		llm: offlineModelConfig(model),
		chromaUrl: 'http://127.0.0.1:1',
		redis: { host: '127.0.0.1', port: 6379, prefix },
		namePrefix: 'e2e ltm example: ',
	});
	const paths: Record<string, string> = {};
	for (const file of ['10-support-memory-chat.json', '10-support-memory-follow-up.json']) {
		const workflow = loadExample(file, credentials);
		await activateExample(client, await importExample(client, workflow), workflow);
		for (const node of workflow.nodes)
			if (node.type === 'n8n-nodes-base.webhook')
				paths[node.name] = webhookPath(workflow, node.name);
	}
	model.setHandler((request: ChatRequest) => {
		const all = request.messages.map((m) => String(m.content)).join('\n');
		if (/long-term memory of an assistant/.test(all))
			return { content: JSON.stringify({ memory: [{ event: 'ADD', text: FACT }] }) };
		return { content: String(request.messages[0].content) };
	});
	const post = async <T>(name: string, body: object, key = webhookKey) => {
		const res = await client.webhook(paths[name], body, 'POST', { [WEBHOOK_KEY_HEADER]: key });
		return { status: res.status, json: (res.status === 200 ? await res.json() : undefined) as T };
	};
	const customerId = `customer-${randomUUID()}`;
	expect((await post('Chat Message', { customerId, message: 'hi' }, 'wrong')).status).toBe(403);

	const chat = await post<Reply>('Chat Message', {
		customerId,
		message: 'We moved to the Enterprise plan.',
	});
	expect(chat.json.memory?.learned).toMatchObject({ added: 1 });
	const followUp = await post<Reply>('Follow-Up Request', { customerId, topic: 'the renewal' });
	expect(followUp.json.output).toContain(FACT);

	const forgot = await post<{ subject: string; removed: number }>('Forget Request', { customerId });
	expect(forgot.json).toMatchObject({ subject: customerId, removed: 1 });
	const after = await post<Reply>('Follow-Up Request', { customerId, topic: 'the renewal' });
	expect(after.json.output).not.toContain(FACT);
	expect(after.json.memory?.recalled).toEqual([]);
}, 240_000);
