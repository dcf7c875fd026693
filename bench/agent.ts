/**
 * The Agent: (1) what our tool-calling loop adds per model round-trip, in-process, against the offline model with no
 * latency: a run with one tool call (two round-trips) against the same two chat requests made directly;
 * (2) in real queue-mode n8n (main + 1 worker): executions/s and latency of webhook → Agent (one tool call) → respond,
 * ours and n8n's AI Agent, both with n8n's OpenAI Chat Model on the same offline model and n8n's HTTP Request Tool.
 * Requests alternate between the two workflows so that machine noise hits both alike.
 */
import { randomUUID } from 'node:crypto';

import { HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import { DynamicStructuredTool } from '@langchain/core/tools';

import { createChatModel, runAgent, UsageTracker } from '../lib/llm';
import { NoRetryPolicy } from '../lib/retry';
import { OfflineModelServer, type ChatRequest, type ModelReply } from '../test/support/model-server';
import { N8nCluster } from '../test/support/n8n/cluster';
import { aiAgentNode, openAiChatModelNode, webhookNode } from '../test/support/n8n/workflow-nodes';
import { summary } from './stats';

/** Calls the first tool once, then answers with its result. */
function oneToolCall(request: ChatRequest): ModelReply {
	const result = request.messages.find((m) => m.role === 'tool');
	if (result) return { content: `Done: ${String(result.content).slice(0, 40)}` };
	return { toolCalls: [{ name: request.tools![0].function.name, arguments: { input: 'x' } }] };
}

async function loopOverhead(server: OfflineModelServer, runs: number) {
	const model = createChatModel({ baseUrl: server.baseUrl, apiKey: 'bench', chatModel: 'offline-chat', embeddingModel: 'offline-embedding' });
	const tool = new DynamicStructuredTool({ name: 'lookup', description: 'Looks up', schema: { type: 'object', properties: { input: { type: 'string' } }, required: ['input'], additionalProperties: false } as const, func: async () => 'value' });
	const bound = model.bindTools([tool]);
	const messages = [new SystemMessage('You are a bench agent.'), new HumanMessage('Look it up')];
	const direct = async () => {
		const first = await bound.invoke(messages);
		await bound.invoke([...messages, first, new ToolMessage({ tool_call_id: first.tool_calls![0].id!, content: 'value' })]);
	};
	const agent = () => runAgent(model, messages, [tool], { policy: new NoRetryPolicy(), usage: new UsageTracker(), signal: new AbortController().signal });
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
		if (result.status !== 'completed' || result.steps.length !== 1) throw new Error(`bench agent run did not complete: ${result.status}`);
	}
	const r = summary(raw);
	const o = summary(ours);
	return { unit: 'ms per run of 2 model round-trips + 1 tool call', runs, directChatRequests: r, runAgent: o, overheadPerRoundTripP50Ms: Math.round(((o.p50 - r.p50) / 2) * 1000) / 1000 };
}

async function n8nComparison(server: OfflineModelServer, requests: number, concurrency: number) {
	const cluster = await N8nCluster.start({ mode: 'queue', workers: 1, workerConcurrency: 10, name: 'bench-agent', log: (line) => process.stderr.write(`[bench agent] ${line}\n`) });
	try {
		const { client } = cluster;
		const openAi = await client.createCredential('bench offline model', 'openAiApi', { apiKey: 'sk-offline', url: server.baseUrl });
		const httpTool = {
			id: randomUUID(),
			name: 'Lookup',
			type: 'n8n-nodes-base.httpRequestTool',
			typeVersion: 4.2,
			position: [360, 200],
			parameters: { toolDescription: 'Looks things up', url: `${server.baseUrl}/models`, options: {} },
		};
		const build = async (label: string, agentNode: { name: string } & Record<string, unknown>) => {
			const path = `bench-agent-${label}-${randomUUID()}`;
			const { id } = await client.createWorkflow({
				name: `bench: ${label}`,
				nodes: [webhookNode(path), agentNode, openAiChatModelNode(openAi), httpTool],
				connections: {
					Webhook: { main: [[{ node: agentNode.name, type: 'main', index: 0 }]] },
					'Chat Model': { ai_languageModel: [[{ node: agentNode.name, type: 'ai_languageModel', index: 0 }]] },
					Lookup: { ai_tool: [[{ node: agentNode.name, type: 'ai_tool', index: 0 }]] },
				},
			});
			await client.activateWorkflow(id, [path]);
			return path;
		};
		const paths = {
			openAgents: await build('openagents', {
				id: randomUUID(),
				name: 'Agent',
				type: 'n8n-nodes-openagents.openAgentsAgent',
				typeVersion: 1,
				position: [220, 0],
				parameters: { template: 'conversation', prompt: '={{ $json.body.question }}', options: {} },
			}),
			n8nAiAgent: await build('n8n-ai-agent', aiAgentNode('={{ $json.body.question }}')),
		};
		const call = async (path: string) => {
			const t = performance.now();
			const res = await client.webhook(path, { question: 'Look it up' });
			const body = await res.text();
			if (res.status !== 200 || !body.includes('Done:')) throw new Error(`bench request to ${path} failed: ${res.status} ${body.slice(0, 200)}`);
			return performance.now() - t;
		};
		for (let i = 0; i < 10; i++) await Promise.all([call(paths.openAgents), call(paths.n8nAiAgent)]); // warm-up
		const latencies: Record<keyof typeof paths, number[]> = { openAgents: [], n8nAiAgent: [] };
		const elapsed: Record<keyof typeof paths, number> = { openAgents: 0, n8nAiAgent: 0 };
		// Alternating rounds: each round sends `concurrency` requests to one workflow and waits for all of them.
		for (let round = 0; round < requests / concurrency; round++) {
			for (const which of round % 2 ? (['n8nAiAgent', 'openAgents'] as const) : (['openAgents', 'n8nAiAgent'] as const)) {
				const t = performance.now();
				latencies[which].push(...(await Promise.all(Array.from({ length: concurrency }, () => call(paths[which])))));
				elapsed[which] += performance.now() - t;
			}
		}
		const perSecond = (which: keyof typeof paths) => Math.round((latencies[which].length / (elapsed[which] / 1000)) * 100) / 100;
		const ours = { executionsPerSecond: perSecond('openAgents'), latencyMs: summary(latencies.openAgents) };
		const theirs = { executionsPerSecond: perSecond('n8nAiAgent'), latencyMs: summary(latencies.n8nAiAgent) };
		return {
			setup: `queue mode, main + 1 worker (concurrency 10); webhook → agent (1 HTTP Request Tool call, 2 model calls) → respond; ${concurrency} requests in flight`,
			requestsEach: latencies.openAgents.length,
			openAgentsAgent: ours,
			n8nAiAgent: theirs,
			throughputRatio: Math.round((ours.executionsPerSecond / theirs.executionsPerSecond) * 1000) / 1000,
			latencyP50Ratio: Math.round((ours.latencyMs.p50 / theirs.latencyMs.p50) * 1000) / 1000,
		};
	} finally {
		await cluster.stop();
	}
}

export async function agent(runs = Number(process.env.BENCH_AGENT_RUNS ?? 300), requests = Number(process.env.BENCH_AGENT_REQUESTS ?? 200), concurrency = Number(process.env.BENCH_AGENT_CONCURRENCY ?? 4)) {
	const server = new OfflineModelServer();
	await server.start();
	server.setHandler(oneToolCall);
	try {
		return { loopOverhead: await loopOverhead(server, runs), n8n: await n8nComparison(server, requests, concurrency) };
	} finally {
		await server.stop();
	}
}
