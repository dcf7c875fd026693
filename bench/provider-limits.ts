/**
 * Queue mode at a provider's limit: BENCH_LIMITS_JOBS (default 120) agent jobs (webhook answering at once → agent with one tool call → 2 model
 * calls each) on the bench cluster (2 workers × concurrency 10) against the offline model limited like a provider
 * (token bucket of BENCH_LIMITS_RPM requests/min, default 600, one second's worth of burst; 429 + Retry-After beyond
 * it).
 * Three variants in one run, same workflow shape (n8n's OpenAI Chat Model sub-node, n8n's HTTP Request Tool):
 * our Agent whose LLM credential shares the limit through Redis, our Agent without it, and n8n's AI Agent with Retry
 * On Fail at its maximum (5 tries, 5 s apart). Per variant: jobs succeeded/failed, 429s, total time and its ratio to
 * the ideal (model requests ÷ limit), and where the time went (when the first model request came, the steady rate).
 * `rateLimiterOverhead`: the limiter's cost per call on an unlimited provider, in-process.
 */
import { randomUUID } from 'node:crypto';

import { HumanMessage } from '@langchain/core/messages';
import { Pool } from 'pg';

import { createChatModel, invokeChatModel, rateLimitKey, UsageTracker } from '../lib/llm';
import { closeProcessRateLimiters, processRateLimiter } from '../lib/ratelimit';
import { NoRetryPolicy } from '../lib/retry';
import { OfflineModelServer, offlineModelConfig } from '../stack/model-server';
import { aiAgentNode, webhookNode } from '../stack/n8n/workflow-nodes';
import { deleteKeys, postgresFromEnv, redisFromEnv, redisUrl } from '../stack/services';
import { agentWorkflow, oneToolCall, openAgentsAgentNode } from './agent';
import { benchCluster, WORKER_CONCURRENCY, WORKERS, type BenchCluster } from './cluster';
import { submitAtOnce } from './executions';
import { ratio } from './load';
import { summary } from './stats';

const redis = redisFromEnv();
const REDIS_URL = redisUrl(redis);

const atOnce = (path: string) => webhookNode(path, [0, 0], { responseMode: 'onReceived' });

/** Runs `jobs` jobs of one variant; counts the model server's answers and refusals while it ran. */
async function variant(
	bench: BenchCluster,
	db: Pool,
	label: string,
	agentNode: { name: string } & Record<string, unknown>,
	jobs: number,
	requestsPerMinute: number,
) {
	bench.model.reset();
	bench.model.setHandler(oneToolCall);
	bench.model.rateLimit = { requestsPerMinute };
	const { path, id } = await agentWorkflow(bench, label, agentNode, atOnce);
	const figures = await submitAtOnce(bench.client, db, id, path, jobs, (i) => ({
		question: `Look it up (job ${i})`,
	}));
	const chat = bench.model.requestsTo('chat');
	const refused = chat.filter((r) => r.rateLimited).length;
	const idealMs = ((2 * jobs) / requestsPerMinute) * 60_000;
	// Where the time went: the accepted requests' timeline, from the first webhook request.
	const accepted = chat
		.filter((r) => !r.rateLimited)
		.map((r) => r.receivedAt - figures.startedAt)
		.sort((a, b) => a - b);
	const at = (q: number) => accepted[Math.floor(q * (accepted.length - 1))];
	return {
		jobsSucceeded: figures.succeeded,
		jobsFailed: figures.failed + figures.unfinished + figures.lost,
		modelRequests: chat.length,
		refused429: refused,
		refusedPercent: Math.round((refused / Math.max(1, chat.length)) * 10_000) / 100,
		totalMs: figures.totalMs,
		idealMs,
		timeToIdeal: ratio(figures.totalMs, idealMs),
		submitMs: figures.submitMs,
		firstAcceptedRequestMs: accepted[0],
		lastAcceptedRequestMs: accepted.at(-1),
		// The model requests' own phase against the ideal: n8n takes its time to take 1 000 webhooks in and start
		// the first executions, before any model call is made.
		requestPhaseToIdeal: ratio(accepted.at(-1)! - accepted[0], idealMs),
		// Accepted requests per second between the 10th and 90th percentile of their times (the steady state).
		steadyAcceptedPerSecond:
			Math.round(((0.8 * accepted.length) / ((at(0.9) - at(0.1)) / 1000)) * 100) / 100,
	};
}

/** Our Agent with the LLM credential `credential` (its sub-node model is limited by the credential's limits). */
function ourAgent(credential: { id: string; name: string }) {
	return { ...openAgentsAgentNode(), credentials: { openAgentsLlmApi: credential } };
}

/** n8n's AI Agent with Retry On Fail at its maximum: 5 tries, 5 000 ms apart. */
function n8nAgentRetrying() {
	return {
		...aiAgentNode('={{ $json.body.question }}'),
		retryOnFail: true,
		maxTries: 5,
		waitBetweenTries: 5000,
	};
}

/**
 * `rate-limiter-overhead`: invokeChatModel p50 with and without a Redis-shared limiter whose limits are never reached,
 * in-process, calls alternating so that machine noise hits both alike.
 */
export async function rateLimiterOverhead(
	calls = Number(process.env.BENCH_LIMITS_OVERHEAD_CALLS ?? 300),
) {
	const server = new OfflineModelServer();
	const baseUrl = await server.start();
	try {
		const config = offlineModelConfig(baseUrl);
		const model = createChatModel(config);
		const limiter = processRateLimiter(REDIS_URL, {
			requestsPerMinute: 10_000_000,
			tokensPerMinute: 1_000_000_000,
			maxConcurrent: 1_000,
		});
		const name = `bench-overhead-${randomUUID()}`;
		const rateLimit = { limiter, keyFor: (m?: string) => rateLimitKey(baseUrl, m, name) };
		const call = (limited: boolean) =>
			invokeChatModel(model, [new HumanMessage('question')], {
				policy: new NoRetryPolicy(),
				usage: new UsageTracker(),
				...(limited ? { rateLimit } : {}),
			});
		for (let i = 0; i < 30; i++) await Promise.all([call(false), call(true)]); // warm-up
		const plain: number[] = [];
		const limited: number[] = [];
		for (let i = 0; i < calls; i++) {
			let t = performance.now();
			await call(false);
			plain.push(performance.now() - t);
			t = performance.now();
			await call(true);
			limited.push(performance.now() - t);
		}
		const p = summary(plain);
		const l = summary(limited);
		await deleteKeys(redis, `openagents:rl:*${name}*`);
		return {
			unit: 'ms per invokeChatModel call, offline model without latency',
			calls,
			store: 'redis (requests, tokens and concurrency limits, none reached)',
			withoutLimiter: p,
			withSharedLimiter: l,
			overheadP50Ms: Math.round((l.p50 - p.p50) * 1000) / 1000,
			targetP50Ms: 1,
			meetsTarget: l.p50 - p.p50 <= 1,
		};
	} finally {
		await closeProcessRateLimiters();
		await server.stop();
	}
}

export async function providerLimits(
	jobs = Number(process.env.BENCH_LIMITS_JOBS ?? 120),
	rpm = Number(process.env.BENCH_LIMITS_RPM ?? 600),
) {
	const bench = await benchCluster();
	const db = new Pool({ ...postgresFromEnv(), database: bench.cluster.database, max: 2 });
	const name = `bench-limit-${randomUUID()}`;
	try {
		const llm = offlineModelConfig(bench.model);
		const limited = await bench.client.createCredential(
			'bench llm (shared limit)',
			'openAgentsLlmApi',
			{
				...llm,
				rateLimitStore: 'shared',
				rateLimitStoreUrl: REDIS_URL,
				requestsPerMinute: rpm,
				rateLimitName: name,
			},
		);
		const unlimited = await bench.client.createCredential(
			'bench llm (no limit)',
			'openAgentsLlmApi',
			llm,
		);
		const all = {
			oursSharedLimiter: () =>
				variant(bench, db, 'limits-ours-shared', ourAgent(limited), jobs, rpm),
			oursNoLimiter: () => variant(bench, db, 'limits-ours-none', ourAgent(unlimited), jobs, rpm),
			n8nAiAgentRetryOnFail: () => variant(bench, db, 'limits-n8n', n8nAgentRetrying(), jobs, rpm),
		};
		// BENCH_LIMITS_VARIANTS=oursSharedLimiter runs some (e.g. while looking for where the time goes).
		const only = process.env.BENCH_LIMITS_VARIANTS?.split(',');
		const variants: Partial<Record<keyof typeof all, Awaited<ReturnType<typeof variant>>>> = {};
		for (const [name, run] of Object.entries(all) as Array<
			[keyof typeof all, () => ReturnType<typeof variant>]
		>)
			if (!only || only.includes(name)) variants[name] = await run();
		const ours = variants.oursSharedLimiter!;
		return {
			setup: `queue mode, main + ${WORKERS} workers (concurrency ${WORKER_CONCURRENCY}); ${jobs} jobs submitted at once to a webhook answering immediately → agent (1 HTTP Request Tool call, 2 model calls via n8n's OpenAI Chat Model) ; offline model limited to ${rpm} requests/min per key (token bucket, 1 s of burst, 429 + Retry-After beyond)`,
			requestsPerMinute: rpm,
			jobs,
			variants,
			targets: {
				allJobsSucceed: ours.jobsSucceeded === jobs,
				refused429AtMost1Percent: ours.refusedPercent <= 1,
				timeToIdealAtMost1_15: ours.timeToIdeal <= 1.15,
			},
		};
	} finally {
		bench.model.rateLimit = undefined;
		await db.end();
		await closeProcessRateLimiters();
		await deleteKeys(redis, `openagents:rl:*${name}*`);
	}
}
