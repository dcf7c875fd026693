/**
 * Tracing in real queue-mode n8n (main + 2 workers) with n8n's own tracing on (N8N_OTEL_ENABLED, set by the global
 * setup): an Agent execution on a worker exports its spans with the execution's ID, as children of n8n's node span
 * (found in n8n's own protobuf export), and with Record Content off no prompt text is in any exported byte.
 */
import { randomUUID } from 'node:crypto';

import { OfflineModelServer } from '../../stack/model-server';
import { clusterFromEnv } from '../../stack/n8n/cluster';
import { webhookNode, whereNode } from '../../stack/n8n/workflow-nodes';
import { offlineLlmCredential } from '../support/credentials';
import {
	decodeSpans,
	OTLP_RECEIVER_ENV,
	receivedBy,
	type ReceivedRequest,
} from '../support/otlp-receiver';

const { client } = clusterFromEnv();
const receiverUrl = process.env[OTLP_RECEIVER_ENV]!;
const model = new OfflineModelServer();

beforeAll(() => model.start());
afterAll(() => model.stop());

async function waitForRequests(
	done: (requests: ReceivedRequest[]) => boolean,
	timeoutMs = 30_000,
): Promise<ReceivedRequest[]> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const requests = await receivedBy(receiverUrl);
		if (done(requests)) return requests;
		if (Date.now() > deadline) throw new Error('The expected export requests did not arrive');
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
}
const isProtobuf = (r: ReceivedRequest) => r.contentType.includes('protobuf');
const bytesOf = (requests: ReceivedRequest[]) =>
	Buffer.concat(requests.map((r) => Buffer.from(r.body, 'base64')));

it('n8n tests the OpenAgents Tracing API credential: an endpoint that accepts OTLP, and one that is down', async () => {
	expect(
		await client.testCredential('openAgentsTracingApi', {
			endpoint: receiverUrl,
			headers: 'x-check=1',
			serviceName: 'e2e',
			recordContent: false,
		}),
	).toMatchObject({ status: 'OK' });
	const down = await client.testCredential('openAgentsTracingApi', {
		endpoint: 'http://127.0.0.1:1',
		headers: '',
		serviceName: 'e2e',
		recordContent: false,
	});
	expect(down.status).toBe('Error');
});

it("an Agent execution on a worker exports its spans with its execution ID, inside n8n's own trace, without the prompt", async () => {
	const secret = `prompt-marker-${randomUUID()}`;
	const [llm, tracing] = await Promise.all([
		client.createCredential(
			'e2e tracing model',
			'openAgentsLlmApi',
			offlineLlmCredential(model.baseUrl),
		),
		client.createCredential('e2e tracing', 'openAgentsTracingApi', {
			endpoint: receiverUrl,
			headers: '',
			serviceName: 'openagents-e2e',
			recordContent: false,
		}),
	]);
	const path = `e2e-tracing-${randomUUID()}`;
	const { id: workflowId } = await client.createWorkflow({
		name: 'e2e: traced Agent',
		nodes: [
			webhookNode(path),
			{
				id: randomUUID(),
				name: 'Traced Agent',
				type: 'n8n-nodes-openagents.openAgentsAgent',
				typeVersion: 1.1,
				position: [220, 0],
				parameters: {
					template: 'conversation',
					prompt: '={{ $json.body.question }}',
					retryPolicy: { type: 'none' },
					options: {},
				},
				credentials: {
					openAgentsLlmApi: { id: llm.id, name: 'e2e tracing model' },
					openAgentsTracingApi: { id: tracing.id, name: 'e2e tracing' },
				},
			},
			whereNode([440, 0], true),
		],
		connections: {
			Webhook: { main: [[{ node: 'Traced Agent', type: 'main', index: 0 }]] },
			'Traced Agent': { main: [[{ node: 'Where', type: 'main', index: 0 }]] },
		},
	});
	await client.activateWorkflow(workflowId, [path]);

	const response = await client.webhook(path, { question: `Summarise ${secret}` });
	expect(response.status).toBe(200);
	const output = (await response.json()) as { traceId: string; processName: string };
	expect(output.processName).toMatch(/^worker-/);
	const [execution] = await client.executions({ workflowId, limit: 1 });

	// Ours arrive at once (flushed before the node returned); n8n's own batch may come a few seconds later.
	const requests = await waitForRequests((all) => {
		const root = decodeSpans(all).find(
			(s) => s.name === 'Traced Agent' && s.attributes['n8n.execution.id'] === String(execution.id),
		);
		return (
			!!root &&
			bytesOf(all.filter(isProtobuf)).includes(Buffer.from(root.parentSpanId ?? '', 'hex'))
		);
	});
	const spans = decodeSpans(requests).filter((s) => s.traceId === output.traceId);
	const root = spans.find((s) => s.name === 'Traced Agent')!;
	expect(root.attributes).toMatchObject({
		'n8n.execution.id': String(execution.id),
		'n8n.workflow.id': workflowId,
		'n8n.node.name': 'Traced Agent',
	});
	expect(root.resource['service.name']).toBe('openagents-e2e');
	// The parent is n8n's node.execute span: n8n exported a span with that ID in the same trace.
	expect(root.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
	const n8nBytes = bytesOf(requests.filter(isProtobuf));
	expect(n8nBytes.includes(Buffer.from(root.traceId, 'hex'))).toBe(true);
	expect(n8nBytes.includes(Buffer.from('node.execute'))).toBe(true);

	const agent = spans.find((s) => s.name === 'invoke_agent Traced Agent')!;
	expect(agent.parentSpanId).toBe(root.spanId);
	expect(
		spans.filter((s) => s.name.startsWith('chat ') && s.parentSpanId === agent.spanId).length,
	).toBeGreaterThan(0);
	expect(bytesOf(requests).includes(Buffer.from(secret))).toBe(false);
}, 120_000);
