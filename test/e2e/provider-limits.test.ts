/**
 * One provider limit shared by the workers of real queue-mode n8n: jobs submitted at once run on the workers, every
 * model call waits for a slot counted in Redis, and the provider (the offline model, limited like one) sees at most
 * the limit's windows in any second (at most one request refused for arrival jitter, retried) and every job succeeds.
 */
import { randomUUID } from 'node:crypto';

import { requestWindow } from '../../lib/ratelimit';
import { OfflineModelServer, offlineModelConfig } from '../../stack/model-server';
import { nodeOutput } from '../../stack/n8n/client';
import { clusterFromEnv } from '../../stack/n8n/cluster';
import { agentNode, webhookAnsweringAtOnce } from '../../stack/n8n/workflow-nodes';
import { deleteKeys, redisFromEnv, redisUrl } from '../../stack/services';
import { busiestSpan } from '../support/windows';

const { client } = clusterFromEnv();
const REQUESTS_PER_MINUTE = 120; // 2 per second
const model = new OfflineModelServer({
	rateLimit: { requestsPerMinute: REQUESTS_PER_MINUTE, burst: 2 },
});
const name = `e2e-limit-${randomUUID()}`;
const redis = redisFromEnv();

beforeAll(() => model.start());
afterAll(async () => {
	await model.stop();
	await deleteKeys(redis, `openagents:rl:*${name}*`);
});

/** The finished executions of a workflow once `count` have finished, or whatever has after `timeoutMs`. */
async function finishedExecutions(workflowId: string, count: number, timeoutMs: number) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const done = (await client.executions({ workflowId, limit: 250 })).filter(
			(e) => !['new', 'running', 'waiting'].includes(e.status),
		);
		if (done.length >= count || Date.now() > deadline)
			return Promise.all(done.map((e) => client.execution(e.id)));
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
}

it('two workers keep to one limit: every job succeeds and the provider never sees it exceeded', async () => {
	const credential = await client.createCredential(
		'e2e llm (shared limit)',
		'openAgentsLlmApi',
		offlineModelConfig(model, {
			rateLimitStore: 'shared',
			rateLimitStoreUrl: redisUrl(redis),
			requestsPerMinute: REQUESTS_PER_MINUTE,
			rateLimitName: name,
		}),
	);
	const path = `e2e-limits-${randomUUID()}`;
	const { id } = await client.createWorkflow({
		name: 'e2e: agents sharing a provider limit',
		nodes: [
			webhookAnsweringAtOnce(path),
			agentNode(
				{
					template: 'conversation',
					prompt: '={{ $json.body.question }}',
					options: {},
				},
				{ openAgentsLlmApi: credential },
			),
		],
		connections: { Webhook: { main: [[{ node: 'Agent', type: 'main', index: 0 }]] } },
	});
	await client.activateWorkflow(id, [path]);

	const jobs = 14;
	const answers = await Promise.all(
		Array.from({ length: jobs }, (_, i) => client.webhook(path, { question: `question ${i}` })),
	);
	expect(answers.map((a) => a.status)).toEqual(Array(jobs).fill(200));
	// n8n 2.41 in queue mode now and then leaves an execution of such a burst unfinished (seen once in CI: 12 of 14
	// after 90 s, every one of them a success); the limit is judged on what ran, and at most 2 may stay out. A wait
	// for a slot is bounded by the Model Call Timeout (120 s), so a limiter that held a request back would show here
	// as an execution that failed, not one missing.
	const executions = await finishedExecutions(id, jobs, 150_000);
	// Which executions stayed out, and in what state, is what tells an n8n hiccup from a limiter that held one back.
	const notFinished = (await client.executions({ workflowId: id, limit: 250 }))
		.filter((e) => !executions.some((f) => f.id === e.id))
		.map((e) => `${e.id} ${e.status}`);
	if (executions.length < jobs - 2)
		throw new Error(
			`${executions.length} of ${jobs} executions finished; not finished: ${notFinished.join(', ') || 'none listed'}`,
		);
	expect(executions.map((e) => e.status)).toEqual(Array(executions.length).fill('success'));

	const chat = model.requestsTo('chat');
	// The limiter counts requests when it lets them go; a request sent late in its window can reach the provider
	// right next to the next window's one, and a provider whose bucket holds just the limit then refuses it (seen
	// once in CI; the 120-job benchmark saw 1 of 241 requests refused). The Retry Policy waits its Retry-After and
	// the job succeeds (every execution's status is checked above); more than one refusal would be the limiter failing.
	expect(chat.filter((r) => r.rateLimited).length).toBeLessThanOrEqual(1);
	expect(chat.length).toBeGreaterThanOrEqual(executions.length);
	const { ms, points } = requestWindow(REQUESTS_PER_MINUTE);
	// Clock-aligned windows of `ms` holding `points`: any 1 s span overlaps at most ceil(1 000 / ms) + 1 of them (one
	// request more when a busy worker wakes late for its reserved window: lateness only moves a request later).
	expect(
		busiestSpan(
			chat.map((r) => r.receivedAt),
			1_000,
		),
	).toBeLessThanOrEqual((Math.ceil(1_000 / ms) + 1) * points + 1);
	const times = chat.map((r) => r.receivedAt);
	expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(
		(Math.ceil(chat.length / points) - 2) * ms,
	);
	const waits = executions.map(
		(e) => (nodeOutput(e, 'Agent')[0].usage as { rateLimitWaitMs: number }).rateLimitWaitMs,
	);
	expect(Math.max(...waits)).toBeGreaterThan(2_000);
}, 240_000);
