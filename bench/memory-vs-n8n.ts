/**
 * Chat memory in real queue-mode n8n: a 20-turn conversation per session through webhook → our Agent → respond,
 * the agent's memory sub-node being either our OpenAgents Chat Memory (Redis store, 20 messages kept) or n8n's Redis
 * Chat Memory (context window 10 turns = 20 messages); same Redis, same chat model sub-node (n8n's OpenAI Chat
 * Model on the offline model). Turns alternate between the two, one request at a time, so each latency is one
 * whole turn: load history, one model call, save the turn.
 * Both must really remember: the last turn's model request must carry the earlier turns, else the benchmark fails.
 * Run at 0 ms model latency and again at REALISTIC_LATENCY.modelMs (BENCH_MEMORY_REALISTIC_TURNS turns, default 6).
 */
import { randomUUID } from 'node:crypto';

import { lastUserText, type ChatRequest } from '../stack/model-server';
import { openAiChatModelNode, webhookNode } from '../stack/n8n/workflow-nodes';
import { openAgentsAgentNode } from './agent';
import {
	activeWorkflow,
	benchCluster,
	chain,
	REALISTIC_LATENCY,
	resetModelKeepingLatency,
	sub,
	withProviderLatency,
	WORKER_CONCURRENCY,
	WORKERS,
	type BenchCluster,
} from './cluster';
import { postJson, ratio } from './load';
import { summary } from './stats';

const HISTORY_MESSAGES = 20;

async function conversationWorkflow(
	bench: BenchCluster,
	label: string,
	memory: Record<string, unknown>,
) {
	const path = `bench-memory-${label}-${randomUUID()}`;
	await activeWorkflow(
		bench.client,
		`memory (${label})`,
		path,
		[
			webhookNode(path),
			openAgentsAgentNode('={{ $json.body.message }}'),
			openAiChatModelNode(bench.credentials.openAiApi),
			{ id: randomUUID(), name: 'Memory', position: [360, 220], ...memory },
		],
		{
			...chain('Webhook', 'Agent'),
			...sub('Chat Model', 'ai_languageModel', 'Agent'),
			...sub('Memory', 'ai_memory', 'Agent'),
		},
	);
	return path;
}

export async function memoryVsN8n(
	sessions = Number(process.env.BENCH_MEMORY_SESSIONS ?? 5),
	turns = Number(process.env.BENCH_MEMORY_TURNS ?? 20),
) {
	const bench = await benchCluster();
	bench.model.reset();
	const paths = await memoryWorkflows(bench);
	return {
		setup: `queue mode, main + ${WORKERS} workers (concurrency ${WORKER_CONCURRENCY}); webhook → OpenAgents Agent (1 model call) with the memory sub-node → respond; ${sessions} sessions × ${turns} turns each, one request at a time, alternating; ${HISTORY_MESSAGES} messages of history kept`,
		...(await compareMemories(bench, paths, sessions, turns, 'instant')),
		// The same conversation with the model answering in REALISTIC_LATENCY.modelMs.
		realisticLatency: await withProviderLatency(
			bench,
			{ modelMs: REALISTIC_LATENCY.modelMs, embeddingMs: 0 },
			() =>
				compareMemories(
					bench,
					paths,
					sessions,
					Number(process.env.BENCH_MEMORY_REALISTIC_TURNS ?? 6),
					'realistic',
				),
		),
	};
}

async function memoryWorkflows(bench: BenchCluster) {
	return {
		openAgentsChatMemory: await conversationWorkflow(bench, 'openagents', {
			type: 'n8n-nodes-openagents.openAgentsMemoryChat',
			typeVersion: 1,
			parameters: {
				store: 'credential',
				scope: 'session',
				scopeId: '={{ $json.body.sessionId }}',
				key: 'chat_history',
				maxMessages: HISTORY_MESSAGES,
			},
			credentials: { openAgentsMemoryStore: bench.credentials.openAgentsMemoryStore },
		}),
		n8nRedisChatMemory: await conversationWorkflow(bench, 'n8n-redis', {
			type: '@n8n/n8n-nodes-langchain.memoryRedisChat',
			typeVersion: 1.5,
			parameters: {
				sessionIdType: 'customKey',
				sessionKey: '={{ $json.body.sessionId }}',
				contextWindowLength: HISTORY_MESSAGES / 2,
			},
			credentials: { redis: bench.credentials.redis },
		}),
	};
}

/** `turns` turns of `sessions` conversations on each side; sessions named with `tag`, so each run starts empty. */
async function compareMemories(
	bench: BenchCluster,
	paths: Awaited<ReturnType<typeof memoryWorkflows>>,
	sessions: number,
	turns: number,
	tag: string,
) {
	resetModelKeepingLatency(bench);
	type Side = keyof typeof paths;
	const sides = Object.keys(paths) as Side[];
	// n8n's Redis Chat Memory uses the session ID as the Redis key itself: keep it under the bench prefix.
	const sessionId = (side: Side, s: number) => `${bench.redisPrefix}-${tag}-${side}-s${s}`;
	const perTurn = Object.fromEntries(
		sides.map((side) => [side, Array.from({ length: turns }, () => [] as number[])]),
	) as Record<Side, number[][]>;

	for (let turn = 0; turn < turns; turn++) {
		for (let s = 0; s < sessions; s++) {
			for (const side of (turn + s) % 2 ? [...sides].reverse() : sides) {
				const t = performance.now();
				await postJson<{ output?: string }>(
					bench.client,
					paths[side],
					{
						sessionId: sessionId(side, s),
						message: `Turn ${turn + 1} of ${sessionId(side, s)}: tell me more.`,
					},
					(r) => typeof r.output === 'string' && r.output.length > 0,
				);
				perTurn[side][turn].push(performance.now() - t);
			}
		}
	}

	// The last turn's request must carry the history: 20 earlier messages (10 turns) in both variants.
	const carried: Record<string, number> = {};
	for (const side of sides) {
		const last = bench.model
			.requestsTo('chat')
			.map((r) => r.body as ChatRequest)
			.find((r) => lastUserText(r.messages).startsWith(`Turn ${turns} of ${sessionId(side, 0)}`));
		carried[side] = last
			? last.messages.filter((m) => m.role === 'user' || m.role === 'assistant').length - 1
			: -1;
		const expected = Math.min(HISTORY_MESSAGES, 2 * (turns - 1));
		if (carried[side] !== expected)
			throw new Error(
				`${side}: the last turn carried ${carried[side]} history messages, expected ${expected}`,
			);
	}

	const figures = Object.fromEntries(
		sides.map((side) => [
			side,
			{
				latencyPerTurnMs: summary(perTurn[side].flat()),
				firstTurnP50Ms: summary(perTurn[side][0]).p50,
				lastTurnP50Ms: summary(perTurn[side][turns - 1]).p50,
				historyMessagesOnLastTurn: carried[side],
			},
		]),
	) as Record<
		Side,
		{
			latencyPerTurnMs: ReturnType<typeof summary>;
			firstTurnP50Ms: number;
			lastTurnP50Ms: number;
			historyMessagesOnLastTurn: number;
		}
	>;
	return {
		...figures,
		latencyP50Ratio: ratio(
			figures.openAgentsChatMemory.latencyPerTurnMs.p50,
			figures.n8nRedisChatMemory.latencyPerTurnMs.p50,
		),
		latencyP95Ratio: ratio(
			figures.openAgentsChatMemory.latencyPerTurnMs.p95,
			figures.n8nRedisChatMemory.latencyPerTurnMs.p95,
		),
	};
}
