/**
 * Tracing: workflows run in-process with the OpenAgents Tracing API credential (or OTEL_EXPORTER_OTLP_* variables)
 * export their spans to an OTLP/HTTP receiver, which decodes them with the OpenTelemetry transformer's types. The
 * checks are on the span tree, attributes, token sums against the items' usage, and error statuses.
 */
import { randomBytes } from 'node:crypto';

import { Logger } from '@n8n/backend-common';
import { Container } from '@n8n/di';
import type { INode } from 'n8n-workflow';

import { executionTraceId } from '../../lib/tracing';
import { startChroma, type ChromaServer } from '../../stack/chroma';
import {
	lastUserText,
	OfflineModelServer,
	offlineModel,
	systemText,
	type ChatRequest,
	type ModelReply,
} from '../../stack/model-server';
import { deleteKeys, redisFromEnv } from '../../stack/services';
import {
	chromaCredential,
	offlineLlmCredential,
	redisStoreCredential,
} from '../support/credentials';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver';
import { testNodeTypes } from '../support/test-nodes';
import {
	itemsInto,
	runWorkflow,
	type RunOptions,
	type WorkflowJson,
} from '../support/workflow-runner';
import { planTask } from '../support/plans';

const run = randomBytes(4).toString('hex');
const model = new OfflineModelServer({ apiKey: 'sk-tracing-secret-key' });
const receiver = new OtlpReceiver();
const memoryPrefix = `openagents-tracing-${run}`;
let chroma: ChromaServer;
let llmUrl: string;
let endpoint: string;
let recordContent = false;
const warnings: string[] = [];

const CREDENTIALS = {
	openAgentsLlmApi: { id: '1', name: 'llm' },
	openAgentsChromaApi: { id: '2', name: 'chroma' },
	openAgentsMemoryStore: { id: '3', name: 'memory' },
	openAgentsTracingApi: { id: '4', name: 'tracing' },
};
const credentialData = () => ({
	openAgentsLlmApi: offlineLlmCredential(llmUrl, 'sk-tracing-secret-key'),
	openAgentsChromaApi: chromaCredential(chroma.url),
	openAgentsMemoryStore: redisStoreCredential(memoryPrefix),
	openAgentsTracingApi: {
		endpoint,
		headers: 'x-tracing-key=tk-123',
		serviceName: 'tracing-tests',
		recordContent,
	},
});

beforeAll(async () => {
	[chroma, llmUrl, endpoint] = await Promise.all([startChroma(), model.start(), receiver.start()]);
	// The logger n8n gives nodes (fn.logger).
	jest
		.spyOn(Container.get(Logger), 'warn')
		.mockImplementation((message: string) => void warnings.push(message));
});
afterAll(async () => {
	await Promise.all([
		chroma.stop(),
		model.stop(),
		receiver.stop(),
		deleteKeys(redisFromEnv(), `${memoryPrefix}:*`),
	]);
});
beforeEach(() => {
	model.reset();
	model.setHandler(undefined);
	receiver.reset();
	recordContent = false;
	warnings.length = 0;
});

let executions = 0;
function exec(workflow: WorkflowJson, options: Partial<RunOptions> = {}) {
	const executionId = `exec-${run}-${++executions}`;
	return runWorkflow(workflow, {
		nodeTypes: testNodeTypes,
		credentials: credentialData(),
		workflowId: `wf-${run}`,
		executionId,
		...options,
	}).then((result) => ({ ...result, executionId }));
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- output shapes are asserted field by field below
type Json = Record<string, any>;
const jsonOf = (
	result: { outputs: Record<string, Array<Array<{ json: unknown }>>> },
	node: string,
) => result.outputs[node][0].map((i) => i.json as Json);

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
const one = (spans: ReceivedSpan[], name: string) => {
	const found = byName(spans, name);
	expect(found.map((s) => s.name)).toEqual([name]);
	return found[0];
};
const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
	spans.filter((s) => s.parentSpanId === parent.spanId);
/**
 * The SDK anchors each span's clock to Date.now() (whole milliseconds) when it starts, so times of different spans
 * can disagree by up to 1 ms; a span that starts after another ended may show a start up to 1 ms before that end.
 */
const CLOCK_ANCHOR_NS = 1_000_000n;
/** Each span began after the one before it ended (within the clock's anchoring). */
const expectCallOrder = (spans: ReceivedSpan[]) => {
	for (let i = 1; i < spans.length; i++)
		expect({
			span: spans[i].name,
			startsAfterPrevious: spans[i].startNs >= spans[i - 1].endNs - CLOCK_ANCHOR_NS,
		}).toEqual({ span: spans[i].name, startsAfterPrevious: true });
};
const sum = (spans: ReceivedSpan[], attribute: string) =>
	spans.reduce((total, s) => total + Number(s.attributes[attribute] ?? 0), 0);
const ERROR = 2;
async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error('Timed out waiting for the condition');
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

/** Items → Agent (conversation) with two Test Tool sub-nodes: `lookup` (answers) and `broken` (always fails). */
function agentWithTools(prompt: string): WorkflowJson {
	const workflow = itemsInto([{ chatInput: prompt }], {
		name: 'Agent',
		type: 'openAgentsAgent',
		parameters: { template: 'conversation', retryPolicy: { type: 'none' } },
		credentials: CREDENTIALS as INode['credentials'],
	});
	for (const [i, [name, behaviour]] of [
		['lookup', 'echo'],
		['broken', 'fail'],
	].entries()) {
		workflow.nodes.push({
			id: `tool${i}`,
			name: `Tool ${name}`,
			type: 'test.tool',
			typeVersion: 1,
			position: [200, 200],
			parameters: { toolName: name, behaviour },
		});
		workflow.connections[`Tool ${name}`] = {
			ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]],
		};
	}
	return workflow;
}

const SECRET_PROMPT = 'The passphrase is plum-kettle-42; look up the zebra-crossing-7 record.';
const twoToolCalls = () =>
	model.reply(
		{ toolCalls: [{ name: 'lookup', arguments: { input: 'zebra-crossing-7' } }] },
		{ toolCalls: [{ name: 'broken', arguments: { input: 'second' } }] },
		{ content: 'Found the record; the other backend is down.' },
	);

describe('Tracing: Agent', () => {
	it('exports one trace per execution: node span → invoke_agent → chat and execute_tool spans, tokens equal to the usage', async () => {
		twoToolCalls();
		const result = await exec(agentWithTools(SECRET_PROMPT));
		expect(result.status).toBe('success');
		const [item] = jsonOf(result, 'Agent');
		const spans = receiver.spans();

		const root = one(spans, 'Agent');
		expect(root.parentSpanId).toBeUndefined();
		expect(root.traceId).toBe(executionTraceId(`wf-${run}`, result.executionId));
		expect(item.traceId).toBe(root.traceId);
		expect(root.attributes).toMatchObject({
			'n8n.execution.id': result.executionId,
			'n8n.workflow.id': `wf-${run}`,
			'n8n.node.name': 'Agent',
			'n8n.node.type': 'n8n-nodes-openagents.openAgentsAgent',
			'n8n.node.items.output': 1,
		});
		expect(root.resource['service.name']).toBe('tracing-tests');
		expect(spans.every((s) => s.traceId === root.traceId)).toBe(true);

		const agent = one(spans, 'invoke_agent Agent');
		expect(agent.parentSpanId).toBe(root.spanId);
		expect(agent.attributes).toMatchObject({
			'gen_ai.operation.name': 'invoke_agent',
			'gen_ai.agent.name': 'Agent',
			'n8n.item.index': 0,
			'openagents.usage.model_calls': 3,
		});

		const chats = byName(spans, 'chat offline-chat');
		expect(chats).toHaveLength(3);
		for (const chat of chats) {
			expect(chat.parentSpanId).toBe(agent.spanId);
			expect(chat.attributes).toMatchObject({
				'gen_ai.operation.name': 'chat',
				'gen_ai.request.model': 'offline-chat',
				'gen_ai.response.model': 'offline-chat',
			});
			expect(chat.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
		}
		expect(chats.map((c) => c.attributes['gen_ai.response.finish_reasons'])).toEqual([
			['tool_calls'],
			['tool_calls'],
			['stop'],
		]);
		expect(sum(chats, 'gen_ai.usage.input_tokens')).toBe(item.usage.promptTokens);
		expect(sum(chats, 'gen_ai.usage.output_tokens')).toBe(item.usage.completionTokens);

		const lookup = one(spans, 'execute_tool lookup');
		const broken = one(spans, 'execute_tool broken');
		for (const tool of [lookup, broken]) expect(tool.parentSpanId).toBe(agent.spanId);
		expect(lookup.attributes).toMatchObject({
			'gen_ai.operation.name': 'execute_tool',
			'gen_ai.tool.name': 'lookup',
		});
		expect(lookup.status.code).not.toBe(ERROR);
		expect(broken.status.code).toBe(ERROR);
		expect(broken.status.message).toContain('broken backend unavailable');
		expect(broken.events.map((e) => e.name)).toContain('exception');
		expectCallOrder([chats[0], lookup, chats[1], broken, chats[2]]);
	});

	it('Task template: one span per step, each holding its model call; a failed step in error', async () => {
		model.setHandler((request: ChatRequest): ModelReply => {
			if (lastUserText(request.messages).includes('"check"')) throw new Error('check failed');
			return { content: 'done' };
		});
		const workflow = agentWithTools('');
		workflow.nodes[1].parameters = {
			template: 'task',
			taskInput: 'the report',
			steps: {
				step: ['summary', 'check'].map((name) => ({
					name,
					instruction: `Do ${name}`,
					timeoutSeconds: 10,
					retries: 1,
				})),
			},
			stepExecution: 'sequential',
			strict: false,
			retryPolicy: { type: 'none' },
		};
		const result = await exec(workflow);
		expect(result.status).toBe('success');
		const spans = receiver.spans();
		const agent = one(spans, 'invoke_agent Agent');
		expect(agent.attributes['openagents.agent.template']).toBe('task');
		const summary = one(spans, 'step summary');
		const check = one(spans, 'step check');
		for (const step of [summary, check]) expect(step.parentSpanId).toBe(agent.spanId);
		expect(summary.attributes).toMatchObject({
			'openagents.status': 'completed',
			'openagents.attempts': 1,
		});
		expect(check.attributes).toMatchObject({
			'openagents.status': 'failed',
			'openagents.attempts': 2,
		});
		expect(check.status.code).toBe(ERROR);
		expect(childrenOf(spans, summary).map((s) => s.name)).toEqual(['chat offline-chat']);
		expect(childrenOf(spans, check).map((s) => s.status.code)).toEqual([ERROR, ERROR]);
	});

	it('sends no prompt, completion or tool argument, and no API key, unless Record Content is on', async () => {
		twoToolCalls();
		expect((await exec(agentWithTools(SECRET_PROMPT))).status).toBe('success');
		const sent = receiver.bytes().toString('utf8');
		expect(sent.length).toBeGreaterThan(1000);
		for (const text of [
			'plum-kettle-42',
			'zebra-crossing-7',
			'Found the record',
			'sk-tracing-secret-key',
		])
			expect(sent).not.toContain(text);
		// The credential's headers went with the export.
		expect(receiver.requests[0].headers['x-tracing-key']).toBe('tk-123');

		receiver.reset();
		recordContent = true;
		twoToolCalls();
		expect((await exec(agentWithTools(SECRET_PROMPT))).status).toBe('success');
		const spans = receiver.spans();
		const [firstChat] = byName(spans, 'chat offline-chat');
		expect(JSON.parse(String(firstChat.attributes['gen_ai.input.messages']))).toEqual(
			expect.arrayContaining([
				expect.objectContaining({
					role: 'user',
					parts: [{ type: 'text', content: SECRET_PROMPT }],
				}),
			]),
		);
		const lastChat = byName(spans, 'chat offline-chat')[2];
		expect(String(lastChat.attributes['gen_ai.output.messages'])).toContain(
			'Found the record; the other backend is down.',
		);
		expect(one(spans, 'execute_tool lookup').attributes).toMatchObject({
			'gen_ai.tool.call.arguments': '{"input":"zebra-crossing-7"}',
			'gen_ai.tool.call.result': 'lookup got zebra-crossing-7',
		});
		expect(receiver.bytes().toString('utf8')).not.toContain('sk-tracing-secret-key');
	});

	it("joins n8n's own trace when n8n's tracing is on: the node span is a child of n8n's node span", async () => {
		const n8nTrace = randomBytes(16).toString('hex');
		const n8nSpan = randomBytes(8).toString('hex');
		const asked: string[] = [];
		model.reply({ content: 'Hello.' });
		const result = await exec(agentWithTools('Say hello'), {
			otel: {
				injectTraceHeaders(executionId, nodeName, headers) {
					asked.push(`${executionId}/${nodeName}`);
					headers.traceparent = `00-${n8nTrace}-${n8nSpan}-01`;
				},
			},
		});
		expect(result.status).toBe('success');
		expect(asked).toEqual([`${result.executionId}/Agent`]);
		const root = one(receiver.spans(), 'Agent');
		expect(root.traceId).toBe(n8nTrace);
		expect(root.parentSpanId).toBe(n8nSpan);
		expect(jsonOf(result, 'Agent')[0].traceId).toBe(n8nTrace);
	});

	it('adds nothing to the output when tracing is not configured', async () => {
		model.reply({ content: 'Hello.' });
		const workflow = agentWithTools('Say hello');
		workflow.nodes[1].credentials = { openAgentsLlmApi: CREDENTIALS.openAgentsLlmApi };
		const result = await exec(workflow);
		expect(result.status).toBe('success');
		expect(jsonOf(result, 'Agent')[0]).not.toHaveProperty('traceId');
		expect(receiver.requests).toEqual([]);
	});
});

describe('Tracing: retries', () => {
	it('records a retried model call as one chat span with a retry event', async () => {
		model.fail({ type: 'status', status: 503, message: 'overloaded' });
		model.reply({ content: 'Hello.' });
		const workflow = agentWithTools('Say hello');
		workflow.nodes[1].parameters.retryPolicy = {
			type: 'fixed',
			maxRetries: 1,
			delay: 0,
		};
		const result = await exec(workflow);
		expect(result.status).toBe('success');
		const chat = one(receiver.spans(), 'chat offline-chat');
		expect(chat.events.map((e) => e.name)).toEqual(['retry']);
		expect(chat.events[0].attributes).toMatchObject({ attempt: 1 });
		expect(String(chat.events[0].attributes.error)).toContain('503');
		expect(chat.attributes['openagents.attempts']).toBe(2);
		expect(chat.status.code).not.toBe(ERROR);
	});
});

describe('Tracing: Planner', () => {
	it('one span per task with its dependencies as links; a failed task in error, its dependent skipped; synthesis', async () => {
		model.setHandler(async (request: ChatRequest): Promise<ModelReply> => {
			const id = /Your task \(([^)]+)\)/.exec(lastUserText(request.messages))?.[1];
			if (id === 'b') throw new Error('task b cannot be done');
			if (id) return { content: `${id} done` };
			if (/Combine the results/.test(systemText(request.messages)))
				return { content: 'Summary of a and d.' };
			return offlineModel(request);
		});
		const plan = {
			goal: 'g',
			tasks: [planTask('a'), planTask('b'), planTask('c', ['b']), planTask('d', ['a'])],
		};
		const executePlan = () =>
			exec(
				itemsInto([{}], {
					name: 'Planner',
					type: 'openAgentsPlanner',
					parameters: {
						operation: 'executePlan',
						plan: JSON.stringify(plan),
						planRunId: `trace-${run}`,
						store: 'credential',
						retryPolicy: { type: 'none' },
					},
					credentials: CREDENTIALS as INode['credentials'],
				}),
			);
		const result = await executePlan();
		expect(result.status).toBe('success');
		const [item] = jsonOf(result, 'Planner');
		expect(item.tasks.map((t: Json) => t.status)).toEqual([
			'completed',
			'failed',
			'skipped',
			'completed',
		]);
		const spans = receiver.spans();
		const root = one(spans, 'Planner');
		const planRun = one(spans, 'executePlan Planner');
		expect(planRun.parentSpanId).toBe(root.spanId);

		const tasks = Object.fromEntries(
			['a', 'b', 'c', 'd'].map((id) => [id, one(spans, `task ${id}`)]),
		);
		for (const span of Object.values(tasks)) expect(span.parentSpanId).toBe(planRun.spanId);
		expect(tasks.a.attributes).toMatchObject({
			'openagents.task.id': 'a',
			'openagents.status': 'completed',
			'openagents.task.resumed': false,
		});
		expect(tasks.b.status.code).toBe(ERROR);
		expect(tasks.b.status.message).toContain('task b cannot be done');
		expect(tasks.c.attributes['openagents.status']).toBe('skipped');
		expect(tasks.c.status.code).not.toBe(ERROR);
		expect(tasks.c.links.map((l) => l.spanId)).toEqual([tasks.b.spanId]);
		expect(tasks.d.links.map((l) => l.spanId)).toEqual([tasks.a.spanId]);
		// Each task's model call is inside its task span; the synthesis has its own.
		expect(childrenOf(spans, tasks.a).map((s) => s.name)).toEqual(['chat offline-chat']);
		const synthesis = one(spans, 'synthesize');
		expect(synthesis.parentSpanId).toBe(planRun.spanId);
		expect(childrenOf(spans, synthesis)).toHaveLength(1);

		const chats = byName(spans, 'chat offline-chat');
		expect(sum(chats, 'gen_ai.usage.input_tokens')).toBe(item.usage.promptTokens);
		expect(sum(chats, 'gen_ai.usage.output_tokens')).toBe(item.usage.completionTokens);
		// Task b's one failed call: counted in no usage, its span in error.
		expect(chats.filter((c) => c.status.code === ERROR)).toHaveLength(1);

		// A re-run with the same plan run ID resumes a and d from their checkpoints: their spans say so.
		receiver.reset();
		await executePlan();
		const again = receiver.spans();
		expect(one(again, 'task a').attributes['openagents.task.resumed']).toBe(true);
		expect(one(again, 'task d').attributes['openagents.task.resumed']).toBe(true);
		expect(childrenOf(again, one(again, 'task a'))).toEqual([]);
	});

	it('Plan and Execute: the planning call has its own span, before the tasks', async () => {
		const result = await exec(
			itemsInto([{ goal: 'Compare Redis and Postgres for a job queue' }], {
				name: 'Planner',
				type: 'openAgentsPlanner',
				parameters: {
					operation: 'planAndExecute',
					goal: '={{ $json.goal }}',
					store: 'credential',
					retryPolicy: { type: 'none' },
				},
				credentials: CREDENTIALS as INode['credentials'],
			}),
		);
		expect(result.status).toBe('success');
		const [item] = jsonOf(result, 'Planner');
		const spans = receiver.spans();
		const planRun = one(spans, 'planAndExecute Planner');
		const planning = one(spans, 'create_plan');
		expect(planning.parentSpanId).toBe(planRun.spanId);
		expect(planning.attributes['openagents.plan.tasks']).toBe(item.tasks.length);
		expect(childrenOf(spans, planning).map((s) => s.name)).toEqual(['chat offline-chat']);
		const tasks = spans.filter((s) => s.name.startsWith('task '));
		expect(tasks).toHaveLength(item.tasks.length);
		for (const task of tasks) expectCallOrder([planning, task]);
	});
});

describe('Tracing: Knowledge Base and Memory', () => {
	const kb = `tracing-${run}`;

	it('ingest: documents, chunks and one embeddings span per request; query: a retrieval span with the scores returned', async () => {
		const docs = [
			{ text: '# Pools\n\nThe pool keeps ten idle connections.', sourceId: 'pools.md' },
			{ text: '# Logs\n\nLogs are kept for thirty days.', sourceId: 'logs.md' },
		];
		const ingest = await exec(
			itemsInto(docs, {
				name: 'KB',
				type: 'openAgentsKnowledgeBase',
				parameters: {
					operation: 'ingest',
					knowledgeBase: kb,
					inputType: 'text',
					text: '={{ $json.text }}',
					sourceId: '={{ $json.sourceId }}',
					options: { embeddingBatchSize: 1 },
				},
				credentials: CREDENTIALS as INode['credentials'],
			}),
		);
		expect(ingest.status).toBe('success');
		const ingested = jsonOf(ingest, 'KB');
		const spans = receiver.spans();
		const span = one(spans, `ingest ${kb}`);
		expect(span.parentSpanId).toBe(one(spans, 'KB').spanId);
		const chunks = ingested.reduce((n: number, i: Json) => n + i.chunks, 0);
		expect(span.attributes).toMatchObject({
			'gen_ai.data_source.id': kb,
			'openagents.kb.documents': 2,
			'openagents.kb.chunks': chunks,
			'openagents.kb.added': chunks,
		});
		const embeddings = byName(spans, 'embeddings offline-embedding');
		expect(embeddings.length).toBe(span.attributes['openagents.kb.embedding_calls']);
		expect(embeddings.length).toBe(chunks); // batch size 1
		for (const e of embeddings) expect(e.parentSpanId).toBe(span.spanId);

		receiver.reset();
		const query = await exec(
			itemsInto([{ q: 'idle connections' }], {
				name: 'KB',
				type: 'openAgentsKnowledgeBase',
				parameters: {
					operation: 'query',
					knowledgeBase: kb,
					query: '={{ $json.q }}',
					topK: 2,
				},
				credentials: CREDENTIALS as INode['credentials'],
			}),
		);
		expect(query.status).toBe('success');
		const [answer] = jsonOf(query, 'KB');
		const retrieval = one(receiver.spans(), `retrieval ${kb}`);
		expect(retrieval.attributes).toMatchObject({
			'gen_ai.operation.name': 'retrieval',
			'openagents.kb.top_k': 2,
			'openagents.kb.scores': answer.results.map((r: Json) => r.score),
			'openagents.kb.sources': answer.results.map((r: Json) => r.source),
		});
		expect(retrieval.attributes).not.toHaveProperty('gen_ai.retrieval.query.text');
	});

	it("a search by the Agent's built-in knowledge base tool nests under its tool call span", async () => {
		model.reply(
			{ toolCalls: [{ name: 'search_knowledge_base', arguments: { query: 'idle connections' } }] },
			{ content: 'Ten [1].' },
		);
		const workflow = agentWithTools('How many idle connections?');
		Object.assign(workflow.nodes[1].parameters, { knowledgeBaseSearch: true, knowledgeBase: kb });
		const result = await exec(workflow);
		expect(result.status).toBe('success');
		const spans = receiver.spans();
		const tool = one(spans, 'execute_tool search_knowledge_base');
		const retrieval = one(spans, `retrieval ${kb}`);
		expect(retrieval.parentSpanId).toBe(tool.spanId);
		expect(one(spans, 'embeddings offline-embedding').parentSpanId).toBe(retrieval.spanId);
	});

	it('Memory: one span per operation; two traced nodes of one execution share its trace', async () => {
		const workflow = itemsInto([{ v: 1 }], {
			name: 'Write',
			type: 'openAgentsMemory',
			parameters: {
				operation: 'set',
				store: 'credential',
				scope: 'global',
				key: 'k',
				value: '={{ $json.v }}',
			},
			credentials: {
				openAgentsMemoryStore: CREDENTIALS.openAgentsMemoryStore,
				openAgentsTracingApi: CREDENTIALS.openAgentsTracingApi,
			},
		});
		workflow.nodes.push({
			...workflow.nodes[1],
			id: '3',
			name: 'Read',
			position: [400, 0],
			parameters: { operation: 'get', store: 'credential', scope: 'global', key: 'k' },
		});
		workflow.connections.Write = { main: [[{ node: 'Read', type: 'main', index: 0 }]] };
		const result = await exec(workflow);
		expect(result.status).toBe('success');
		const spans = receiver.spans();
		const [write, read] = [one(spans, 'Write'), one(spans, 'Read')];
		expect(write.traceId).toBe(executionTraceId(`wf-${run}`, result.executionId));
		expect(read.traceId).toBe(write.traceId);
		expect(jsonOf(result, 'Read')[0]).toMatchObject({ value: 1, traceId: write.traceId });
		const set = one(spans, 'memory set');
		expect(set.parentSpanId).toBe(write.spanId);
		expect(set.attributes).toMatchObject({
			'openagents.memory.operation': 'set',
			'openagents.memory.scope': 'global',
			'n8n.item.index': 0,
		});
		expect(one(spans, 'memory get').parentSpanId).toBe(read.spanId);
	});

	it("Chat Memory: the agent's history read and its turn saved, as spans inside the agent run", async () => {
		model.reply({ content: 'Hello again.' });
		const workflow = agentWithTools('Hello');
		workflow.nodes.push({
			id: 'memory',
			name: 'Chat Memory',
			type: 'n8n-nodes-openagents.openAgentsMemoryChat',
			typeVersion: 1,
			position: [200, 300],
			parameters: { store: 'credential', scope: 'session', scopeId: `chat-${run}`, key: 'chat' },
			credentials: { openAgentsMemoryStore: CREDENTIALS.openAgentsMemoryStore },
		});
		workflow.connections['Chat Memory'] = {
			ai_memory: [[{ node: 'Agent', type: 'ai_memory', index: 0 }]],
		};
		const result = await exec(workflow);
		expect(result.status).toBe('success');
		const spans = receiver.spans();
		const agent = one(spans, 'invoke_agent Agent');
		// The history is read for the model, the turn appended, and the history read again for n8n's execution view.
		const [read, reread] = byName(spans, 'memory read_messages');
		const append = one(spans, 'memory append_messages');
		for (const span of [read, append, reread]) expect(span.parentSpanId).toBe(agent.spanId);
		expect(read.attributes).toMatchObject({
			'openagents.memory.scope': 'session',
			'openagents.memory.messages': 0,
		});
		expect(append.attributes['openagents.memory.messages']).toBe(2);
		expect(reread.attributes['openagents.memory.messages']).toBe(2);
		const chat = one(spans, 'chat offline-chat');
		expectCallOrder([read, chat, append]);
	});

	it('without a credential: traced from OTEL_EXPORTER_OTLP_* variables, unless the SDK is disabled', async () => {
		const saved = { ...process.env };
		const query = () =>
			exec(
				itemsInto([{ q: 'thirty days' }], {
					name: 'KB',
					type: 'openAgentsKnowledgeBase',
					parameters: { operation: 'query', knowledgeBase: kb, query: '={{ $json.q }}' },
					credentials: {
						openAgentsLlmApi: CREDENTIALS.openAgentsLlmApi,
						openAgentsChromaApi: CREDENTIALS.openAgentsChromaApi,
					},
				}),
			);
		try {
			Object.assign(process.env, {
				OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
				OTEL_EXPORTER_OTLP_HEADERS: 'x-env-key=from-env',
				OTEL_SERVICE_NAME: 'from-environment',
				OPENAGENTS_TRACING_RECORD_CONTENT: 'true',
			});
			expect((await query()).status).toBe('success');
			const retrieval = one(receiver.spans(), `retrieval ${kb}`);
			expect(retrieval.resource['service.name']).toBe('from-environment');
			expect(retrieval.attributes['gen_ai.retrieval.query.text']).toBe('thirty days');
			expect(receiver.requests[0].headers['x-env-key']).toBe('from-env');

			receiver.reset();
			process.env.OTEL_SDK_DISABLED = 'true';
			const untraced = await query();
			expect(untraced.status).toBe('success');
			expect(jsonOf(untraced, 'KB')[0]).not.toHaveProperty('traceId');
			expect(receiver.requests).toEqual([]);
		} finally {
			process.env = saved;
		}
	});
});

describe('Tracing: a failing endpoint', () => {
	it('never fails the execution and is logged once, not once per export', async () => {
		receiver.status = 400;
		for (let i = 0; i < 2; i++) {
			model.reply({ content: 'Hello.' });
			const result = await exec(agentWithTools('Say hello'));
			expect(result.status).toBe('success');
		}
		// The second run did not wait for its export (the endpoint was failing); the batch goes out on schedule.
		await waitFor(() => receiver.requests.length >= 2);
		const exportWarnings = warnings.filter((w) => w.startsWith('Tracing: exporting'));
		expect(exportWarnings).toHaveLength(1);
		expect(exportWarnings[0]).toContain(`${endpoint}/v1/traces`);

		// Once an export succeeds, a new failure is logged again.
		receiver.status = 200;
		const before = receiver.requests.length;
		model.reply({ content: 'Hello.' });
		await exec(agentWithTools('Say hello'));
		await waitFor(() => receiver.requests.length > before);
		await new Promise((resolve) => setTimeout(resolve, 200)); // the exporter reads the answer
		receiver.status = 400;
		model.reply({ content: 'Hello.' });
		await exec(agentWithTools('Say hello'));
		await waitFor(() => warnings.filter((w) => w.startsWith('Tracing: exporting')).length === 2);
	});
});
