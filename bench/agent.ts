/**
 * The Agent: (1) what our tool-calling loop adds per model round-trip, in-process, against the offline model with no
 * latency: a run with one tool call (two round-trips) against the same two chat requests made directly;
 * (2) in real queue-mode n8n (the shared bench cluster, bench/cluster.ts): executions/s and latency of
 * webhook → agent (one tool call) → respond, ours and n8n's AI Agent, both with n8n's OpenAI Chat Model on the same
 * offline model and n8n's HTTP Request Tool.
 * Requests alternate between the two workflows so that machine noise hits both alike. A third workflow in the same
 * rounds, webhook → Set → respond, is n8n's own floor: no agent can answer faster than it plus two model latencies,
 * which caps the throughput ratio any agent could reach against n8n's AI Agent on this cluster.
 */
import { randomUUID } from 'node:crypto';

import { HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import { DynamicStructuredTool } from '@langchain/core/tools';

import { createChatModel, runAgent, UsageTracker } from '../lib/llm';
import { NoRetryPolicy } from '../lib/retry';
import {
	OfflineModelServer,
	type ChatRequest,
	type ModelReply,
	offlineModelConfig,
} from '../stack/model-server';
import { aiAgentNode, openAiChatModelNode, webhookNode } from '../stack/n8n/workflow-nodes';
import {
	activeWorkflow,
	benchCluster,
	chain,
	sub,
	WORKER_CONCURRENCY,
	WORKERS,
	type BenchCluster,
	REALISTIC_LATENCY,
	resetModelKeepingLatency,
	withProviderLatency,
} from './cluster';
import { webhookToSetCall } from './floors';
import { alternating, postJson, ratio } from './load';
import { summary } from './stats';

/** Calls the first tool once, then answers with its result. */
export function oneToolCall(request: ChatRequest): ModelReply {
	const result = request.messages.find((m) => m.role === 'tool');
	if (result) return { content: `Done: ${String(result.content).slice(0, 40)}` };
	return { toolCalls: [{ name: request.tools![0].function.name, arguments: { input: 'x' } }] };
}

/** The in-process Agent loop benchmarks run: a chat model on `server`, one tool, and the opening messages. */
export function benchLoopParts(server: OfflineModelServer) {
	const model = createChatModel(offlineModelConfig(server));
	const tool = new DynamicStructuredTool({
		name: 'lookup',
		description: 'Looks up',
		schema: {
			type: 'object',
			properties: { input: { type: 'string' } },
			required: ['input'],
			additionalProperties: false,
		} as const,
		func: async () => 'value',
	});
	const messages = [new SystemMessage('You are a bench agent.'), new HumanMessage('Look it up')];
	return { model, tool, messages };
}

async function loopOverhead(server: OfflineModelServer, runs: number) {
	const { model, tool, messages } = benchLoopParts(server);
	const bound = model.bindTools([tool]);
	const direct = async () => {
		const first = await bound.invoke(messages);
		await bound.invoke([
			...messages,
			first,
			new ToolMessage({ tool_call_id: first.tool_calls![0].id!, content: 'value' }),
		]);
	};
	const agent = () =>
		runAgent(model, messages, [tool], {
			policy: new NoRetryPolicy(),
			usage: new UsageTracker(),
			signal: new AbortController().signal,
		});
	for (let i = 0; i < 20; i++) await Promise.all([direct(), agent()]); // warm-up, not measured
	const raw: number[] = [];
	const ours: number[] = [];
	for (let i = 0; i < runs; i++) {
		let t = performance.now();
		await direct();
		raw.push(performance.now() - t);
		t = performance.now();
		const result = await agent();
		ours.push(performance.now() - t);
		if (result.status !== 'completed' || result.steps.length !== 1)
			throw new Error(`bench agent run did not complete: ${result.status}`);
	}
	const r = summary(raw);
	const o = summary(ours);
	return {
		unit: 'ms per run of 2 model round-trips + 1 tool call',
		runs,
		directChatRequests: r,
		runAgent: o,
		overheadPerRoundTripP50Ms: Math.round(((o.p50 - r.p50) / 2) * 1000) / 1000,
	};
}

/** n8n's HTTP Request Tool calling the offline server's GET /models: the tool every agent benchmark gives both agents. */
export function lookupToolNode(model: OfflineModelServer, position: [number, number] = [360, 200]) {
	return {
		id: randomUUID(),
		name: 'Lookup',
		type: 'n8n-nodes-base.httpRequestTool',
		typeVersion: 4.2,
		position,
		parameters: { toolDescription: 'Looks things up', url: `${model.baseUrl}/models`, options: {} },
	};
}

/** Our Agent (Conversation template) prompted with `prompt` (an expression; default: the webhook body's `question`). */
export function openAgentsAgentNode(
	prompt = '={{ $json.body.question }}',
	position: [number, number] = [220, 0],
) {
	return {
		id: randomUUID(),
		name: 'Agent',
		type: 'n8n-nodes-openagents.openAgentsAgent',
		typeVersion: 1,
		position,
		parameters: { template: 'conversation', prompt, options: {} },
	};
}

/**
 * Activates webhook → agent → respond with n8n's OpenAI Chat Model and the Lookup tool as sub-nodes;
 * `webhook` lets a caller change the webhook (e.g. respond at once). Returns the path and workflow id.
 */
export async function agentWorkflow(
	bench: BenchCluster,
	label: string,
	agentNode: { name: string } & Record<string, unknown>,
	webhook = webhookNode,
) {
	const path = `bench-agent-${label}-${randomUUID()}`;
	const id = await activeWorkflow(
		bench.client,
		label,
		path,
		[
			webhook(path),
			agentNode,
			openAiChatModelNode(bench.credentials.openAiApi),
			lookupToolNode(bench.model),
		],
		{
			...chain('Webhook', agentNode.name),
			...sub('Chat Model', 'ai_languageModel', agentNode.name),
			...sub('Lookup', 'ai_tool', agentNode.name),
		},
	);
	return { path, id };
}

async function n8nComparison(requests: number, concurrency: number) {
	const bench = await benchCluster();
	resetModelKeepingLatency(bench);
	bench.model.setHandler(oneToolCall);
	const paths = {
		openAgentsAgent: (await agentWorkflow(bench, 'openagents-agent', openAgentsAgentNode())).path,
		n8nAiAgent: (
			await agentWorkflow(bench, 'n8n-ai-agent', aiAgentNode('={{ $json.body.question }}'))
		).path,
	};
	const call = (path: string) => () =>
		postJson<{ output?: string }>(bench.client, path, { question: 'Look it up' }, (r) =>
			String(r.output).includes('Done:'),
		);
	const { n8nFloor, ...figures } = await alternating(
		{
			openAgentsAgent: call(paths.openAgentsAgent),
			n8nAiAgent: call(paths.n8nAiAgent),
			n8nFloor: await webhookToSetCall(bench, 'agent-floor'),
		},
		{ rounds: requests / concurrency, concurrency },
	);
	const bestLatencyMs = n8nFloor.latencyMs.p50 + 2 * bench.model.latencyMs;
	const ceiling = Math.round(((concurrency * 1000) / bestLatencyMs) * 100) / 100;
	return {
		setup: `queue mode, main + ${WORKERS} workers (concurrency ${WORKER_CONCURRENCY}); webhook → agent (1 HTTP Request Tool call, 2 model calls) → respond; ${concurrency} requests in flight`,
		requestsEach: figures.openAgentsAgent.latencyMs.n,
		...figures,
		throughputRatio: ratio(
			figures.openAgentsAgent.executionsPerSecond,
			figures.n8nAiAgent.executionsPerSecond,
		),
		latencyP50Ratio: ratio(figures.openAgentsAgent.latencyMs.p50, figures.n8nAiAgent.latencyMs.p50),
		ceiling: {
			what: `n8n's webhook → Set → respond in the same rounds (p50 latency) + 2 model calls of ${bench.model.latencyMs} ms: the fastest any agent could answer here`,
			n8nWebhookToSetP50Ms: n8nFloor.latencyMs.p50,
			executionsPerSecond: ceiling,
			bestPossibleThroughputRatio: ratio(ceiling, figures.n8nAiAgent.executionsPerSecond),
		},
	};
}

export async function agent(
	runs = Number(process.env.BENCH_AGENT_RUNS ?? 300),
	requests = Number(process.env.BENCH_AGENT_REQUESTS ?? 120),
	concurrency = Number(process.env.BENCH_AGENT_CONCURRENCY ?? 4),
) {
	const server = new OfflineModelServer();
	await server.start();
	server.setHandler(oneToolCall);
	try {
		const bench = await benchCluster();
		return {
			loopOverhead: await loopOverhead(server, runs),
			n8n: await n8nComparison(requests, concurrency),
			// The same comparison with the model answering in REALISTIC_LATENCY.modelMs.
			n8nRealisticLatency: await withProviderLatency(
				bench,
				{ modelMs: REALISTIC_LATENCY.modelMs, embeddingMs: 0 },
				() => n8nComparison(Number(process.env.BENCH_AGENT_REALISTIC_REQUESTS ?? 60), concurrency),
			),
		};
	} finally {
		await server.stop();
	}
}
