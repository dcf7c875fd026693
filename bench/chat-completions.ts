/**
 * The Chat Completions Trigger: what serving an agent flow through n8n adds to a streamed answer. The same question
 * goes, one request at a time and in alternating order so that machine noise hits all alike, to
 *  - `direct`: the offline model server itself, with the official `openai` SDK;
 *  - `trigger`: our Chat Completions Trigger → OpenAgents Agent (LLM API credential on the same server) in the shared
 *    queue-mode cluster, with the `openai` SDK;
 *  - `n8nWebhook`: n8n's own streaming path for comparison — Webhook (Response Mode: Streaming) → n8n's AI Agent with
 *    n8n's OpenAI Chat Model on the same server — read as n8n's JSON-lines stream;
 *  - `n8nWebhookHeaderAuth`: the same with the Webhook's Header Auth (a credential, as our trigger's key is): the
 *    like-for-like comparison for an endpoint that checks a key;
 *  - `n8nWebhookHeaderAuthToAgent`: that authenticated streaming Webhook in front of the OpenAgents Agent instead of
 *    n8n's AI Agent, so that trigger and Agent costs can be told apart.
 * The model answers after a fixed latency (BENCH_CC_LATENCY_MS, default 500) and then streams BENCH_CC_WORDS words
 * (default 40) one event every BENCH_CC_INTERVAL_MS (default 20, ≈ 50 tokens/s, a typical provider rate).
 * Time to first token = from sending the request to the first event with content (the trigger's earlier role-only
 * event is not counted); throughput = content events per second from the first to the last; `toModelRequestMs` =
 * from sending the request until the model server received the model request (n8n's webhook, queue and worker path
 * plus the node's own start); `afterModelMs` = the rest of the time to first token beyond the model's latency (the
 * way back: worker → Redis → main → client).
 * Targets: overhead over direct p50 ≤ 50 ms; throughput within 10 % of direct.
 */
import { randomUUID } from 'node:crypto';

import OpenAI from 'openai';

import {
	aiAgentNode,
	agentNode,
	chatCompletionsTriggerNode,
	openAiChatModelNode,
} from '../stack/n8n/workflow-nodes';
import { WEBHOOK_KEY_HEADER } from '../stack/examples';
import { activeWorkflow, benchCluster, chain, sub } from './cluster';
import { ratio } from './load';
import { summary } from './stats';

const REQUESTS = Number(process.env.BENCH_CC_REQUESTS ?? 12);
const LATENCY_MS = Number(process.env.BENCH_CC_LATENCY_MS ?? 500);
const WORDS = Number(process.env.BENCH_CC_WORDS ?? 40);
const INTERVAL_MS = Number(process.env.BENCH_CC_INTERVAL_MS ?? 20);

interface Streamed {
	ttftMs: number;
	eventsPerSecond: number;
	text: string;
}

/** Times a stream of content pieces: first piece, pieces per second, the whole text. */
async function timed(started: number, pieces: AsyncIterable<string>): Promise<Streamed> {
	let first: number | undefined;
	let last = 0;
	let events = 0;
	let text = '';
	for await (const content of pieces) {
		if (!content) continue;
		last = performance.now();
		first ??= last;
		events++;
		text += content;
	}
	if (first === undefined) throw new Error('The stream had no content');
	return { ttftMs: first - started, eventsPerSecond: ((events - 1) * 1000) / (last - first), text };
}

/** A streamed completion through the openai SDK. */
async function viaSdk(openai: OpenAI, model: string, question: string): Promise<Streamed> {
	const started = performance.now();
	const stream = await openai.chat.completions.create({
		model,
		stream: true,
		messages: [{ role: 'user', content: question }],
	});
	return timed(
		started,
		(async function* () {
			for await (const chunk of stream) yield chunk.choices[0]?.delta.content ?? '';
		})(),
	);
}

/** A question to a Webhook whose response streams n8n's JSON lines; the `item` chunks are the content. */
async function viaN8nWebhook(
	url: string,
	question: string,
	headers: Record<string, string> = {},
): Promise<Streamed> {
	const started = performance.now();
	const res = await fetch(url, {
		method: 'POST',
		headers: { ...headers, 'content-type': 'application/json' },
		body: JSON.stringify({ question }),
	});
	if (!res.ok || !res.body) throw new Error(`n8n webhook: HTTP ${res.status}`);
	const body = res.body.pipeThrough(new TextDecoderStream());
	return timed(
		started,
		(async function* () {
			let rest = '';
			for await (const data of body) {
				const lines = (rest + data).split('\n');
				rest = lines.pop() ?? '';
				for (const line of lines.filter(Boolean)) {
					const chunk = JSON.parse(line) as { type: string; content?: string };
					if (chunk.type === 'item') yield chunk.content ?? '';
				}
			}
		})(),
	);
}

export async function chatCompletions() {
	const bench = await benchCluster();
	const { client, model, credentials } = bench;
	const key = `sk-bench-${randomUUID()}`;
	const keyCredential = await client.createCredential(
		'bench: chat completions key',
		'openAgentsChatCompletionsApi',
		{ apiKey: key },
	);
	const path = `bench-chat-completions-${randomUUID().slice(0, 8)}`;
	await activeWorkflow(
		client,
		'Chat Completions Trigger → Agent',
		`${path}/v1/chat/completions`,
		[
			chatCompletionsTriggerNode(path, 'n8n-agent', {
				openAgentsChatCompletionsApi: keyCredential,
			}),
			agentNode({ template: 'conversation' }, { openAgentsLlmApi: credentials.openAgentsLlmApi }),
		],
		chain('Chat Completions', 'Agent'),
	);
	/** n8n's streaming Webhook → AI Agent (or ours), optionally with Header Auth; returns the webhook path. */
	const n8nStreamingFlow = async (headerAuth: boolean, ourAgent = false) => {
		const n8nPath = `bench-n8n-streaming-${randomUUID().slice(0, 8)}`;
		await activeWorkflow(
			client,
			`n8n's streaming Webhook${headerAuth ? ' (Header Auth)' : ''} → ${ourAgent ? 'Agent' : 'AI Agent'}`,
			n8nPath,
			[
				{
					id: randomUUID(),
					name: 'Webhook',
					type: 'n8n-nodes-base.webhook',
					typeVersion: 2.1,
					position: [0, 0],
					webhookId: randomUUID(),
					parameters: {
						httpMethod: 'POST',
						path: n8nPath,
						responseMode: 'streaming',
						...(headerAuth ? { authentication: 'headerAuth' } : {}),
						options: {},
					},
					...(headerAuth ? { credentials: { httpHeaderAuth: credentials.httpHeaderAuth } } : {}),
				},
				...(ourAgent
					? [
							agentNode(
								{ template: 'conversation', prompt: '={{ $json.body.question }}' },
								{ openAgentsLlmApi: credentials.openAgentsLlmApi },
							),
						]
					: [
							aiAgentNode('={{ $json.body.question }}'),
							openAiChatModelNode(credentials.openAiApi),
						]),
			],
			ourAgent
				? chain('Webhook', 'Agent')
				: { ...chain('Webhook', 'AI Agent'), ...sub('Chat Model', 'ai_languageModel', 'AI Agent') },
		);
		return n8nPath;
	};
	const n8nPath = await n8nStreamingFlow(false);
	const n8nAuthPath = await n8nStreamingFlow(true);
	const n8nAuthAgentPath = await n8nStreamingFlow(true, true);

	const answer = Array.from({ length: WORDS }, (_, i) => `word${i}`).join(' ');
	model.reset();
	model.setHandler(() => ({ content: answer }));
	model.latencyMs = LATENCY_MS;
	model.streamIntervalMs = INTERVAL_MS;
	const direct = new OpenAI({ baseURL: model.baseUrl, apiKey: 'bench', maxRetries: 0 });
	const trigger = new OpenAI({
		baseURL: `${client.url}/webhook/${path}/v1`,
		apiKey: key,
		maxRetries: 0,
	});
	const variants = {
		direct: (q: string) => viaSdk(direct, 'offline-chat', q),
		trigger: (q: string) => viaSdk(trigger, 'n8n-agent', q),
		n8nWebhook: (q: string) => viaN8nWebhook(`${client.url}/webhook/${n8nPath}`, q),
		n8nWebhookHeaderAuth: (q: string) =>
			viaN8nWebhook(`${client.url}/webhook/${n8nAuthPath}`, q, {
				[WEBHOOK_KEY_HEADER]: bench.webhookKey,
			}),
		n8nWebhookHeaderAuthToAgent: (q: string) =>
			viaN8nWebhook(`${client.url}/webhook/${n8nAuthAgentPath}`, q, {
				[WEBHOOK_KEY_HEADER]: bench.webhookKey,
			}),
	};
	type Name = keyof typeof variants;
	type Figures = Streamed & { toModelRequestMs: number };
	const figures: Record<Name, Figures[]> = {
		direct: [],
		trigger: [],
		n8nWebhook: [],
		n8nWebhookHeaderAuth: [],
		n8nWebhookHeaderAuthToAgent: [],
	};
	const names = Object.keys(variants) as Name[];
	try {
		for (let i = -2; i < REQUESTS; i++) {
			for (const name of i % 2 ? [...names].reverse() : names) {
				const sentAt = Date.now();
				const result = await variants[name](`q${i}`);
				if (result.text !== answer)
					throw new Error(`${name}: the streamed text differs from the model's: ${result.text}`);
				const toModelRequestMs = model.requestsTo('chat').at(-1)!.receivedAt - sentAt;
				if (i >= 0) figures[name].push({ ...result, toModelRequestMs });
			}
		}
	} finally {
		model.reset();
	}
	const of = (name: Name) => {
		const ttft = summary(figures[name].map((f) => f.ttftMs));
		const toModel = summary(figures[name].map((f) => f.toModelRequestMs));
		return {
			timeToFirstTokenMs: ttft,
			toModelRequestMsP50: toModel.p50,
			afterModelMsP50: Math.round(ttft.p50 - toModel.p50 - LATENCY_MS),
			eventsPerSecond: summary(figures[name].map((f) => f.eventsPerSecond)),
		};
	};
	const results = {
		direct: of('direct'),
		trigger: of('trigger'),
		n8nWebhook: of('n8nWebhook'),
		n8nWebhookHeaderAuth: of('n8nWebhookHeaderAuth'),
		n8nWebhookHeaderAuthToAgent: of('n8nWebhookHeaderAuthToAgent'),
	};
	const overhead = (name: Name) =>
		Math.round(
			(results[name].timeToFirstTokenMs.p50 - results.direct.timeToFirstTokenMs.p50) * 10,
		) / 10;
	return {
		requests: REQUESTS,
		model: { latencyMs: LATENCY_MS, words: WORDS, intervalMs: INTERVAL_MS },
		...results,
		overheadP50Ms: {
			trigger: overhead('trigger'),
			n8nWebhook: overhead('n8nWebhook'),
			n8nWebhookHeaderAuth: overhead('n8nWebhookHeaderAuth'),
			n8nWebhookHeaderAuthToAgent: overhead('n8nWebhookHeaderAuthToAgent'),
		},
		targetOverheadP50Ms: 50,
		throughputRatio: ratio(results.trigger.eventsPerSecond.p50, results.direct.eventsPerSecond.p50),
		targetThroughputRatio: 0.9,
	};
}
