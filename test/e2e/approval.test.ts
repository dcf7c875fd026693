/**
 * Human approval in real queue-mode n8n, on a cluster of its own (main + 2 workers) because it kills a worker and
 * restarts the main process: the Agent pauses before n8n's HTTP Request Tool posts to this test's receiver, the
 * execution waits (status "waiting", saved in Postgres), the worker that ran it is killed and the main restarted, a
 * reviewer edits the call on the approval page in headless Chromium, and the execution resumes on the other worker:
 * the receiver gets exactly one request, with the edited arguments, and the model's next request carries its result.
 * The same for the Planner's plan: a reviewer edits the plan in the page, and the edited plan is what runs.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { chromium, type Browser } from 'playwright-core';

import { CHROMIUM_PATH } from '../../stack/browser';
import {
	lastUserText,
	OfflineModelServer,
	systemText,
	type ChatRequest,
} from '../../stack/model-server';
import { nodeOutput, type Execution } from '../../stack/n8n/client';
import { N8nCluster } from '../../stack/n8n/cluster';
import {
	agentNode,
	approvalNode,
	plannerNode,
	webhookAnsweringAtOnce,
} from '../../stack/n8n/workflow-nodes';
import { waitFor } from '../../stack/process';
import { deleteKeys, redisFromEnv } from '../../stack/services';
import { offlineLlmCredential, redisStoreCredential } from '../support/credentials';
import { planTask } from '../support/plans';

const model = new OfflineModelServer();
let cluster: N8nCluster;
let browser: Browser;
let llm: { id: string; name: string };
/** Planner checkpoints of this file live under this Redis prefix; removed at the end. */
const REDIS_PREFIX = `openagents-e2e-approval-${randomUUID()}`;

/** The side-effect endpoint the HTTP Request Tool posts to ("sends an email"); every request is kept. */
const received: Array<Record<string, unknown>> = [];
let receiver: Server;
let receiverUrl: string;

const SCREENSHOTS = process.env.OPENAGENTS_SCREENSHOTS
	? join(__dirname, '..', '..', 'docs', 'images')
	: undefined;

beforeAll(async () => {
	receiver = createServer((req: IncomingMessage, res) => {
		let body = '';
		req.on('data', (chunk: Buffer) => (body += chunk.toString()));
		req.on('end', () => {
			received.push(JSON.parse(body || '{}') as Record<string, unknown>);
			res.setHeader('content-type', 'application/json');
			res.end(JSON.stringify({ queued: true, messageId: `msg-${received.length}` }));
		});
	});
	await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
	receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/send`;
	await model.start();
	[cluster, browser] = await Promise.all([
		N8nCluster.start({
			mode: 'queue',
			workers: 2,
			name: 'approval',
			log: (line) => process.stdout.write(`[e2e approval] ${line}\n`),
		}),
		chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] }),
	]);
	llm = await cluster.client.createCredential(
		'e2e approval offline model',
		'openAgentsLlmApi',
		offlineLlmCredential(model.baseUrl),
	);
}, 300_000);
afterAll(async () => {
	await Promise.all([
		cluster?.stop(),
		browser?.close(),
		model.stop(),
		deleteKeys(redisFromEnv(), `${REDIS_PREFIX}*`),
	]);
	receiver?.close();
}, 60_000);
beforeEach(() => {
	received.length = 0;
	model.reset();
	model.setHandler(emailingModel);
});

const chat = () => model.requestsTo('chat').map((r) => r.body as ChatRequest);
const toolResults = (request: ChatRequest) =>
	request.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));

/** The model asks to send an email (with a reason), then reports what the tool answered. */
function emailingModel(request: ChatRequest) {
	const results = toolResults(request);
	if (results.length) return { content: `Done: ${results.join(' | ')}` };
	const tool = request.tools!.find((t) => t.function.name === 'Send_Email')!;
	return {
		content: 'The customer asked for a follow-up, so I will email them.',
		toolCalls: [
			{
				name: tool.function.name,
				arguments: { to: 'ann@example.com', subject: 'Follow-up' },
			},
		],
	};
}

/** Webhook → Agent (Require Approval For: Send_Email) with n8n's HTTP Request Tool and the Approval sub-node. */
async function approvalWorkflow(options: Record<string, unknown>) {
	const path = `e2e-approval-${randomUUID()}`;
	const { id } = await cluster.client.createWorkflow({
		name: 'e2e: Agent with an approval-gated tool',
		settings: { executionOrder: 'v1' },
		nodes: [
			webhookAnsweringAtOnce(path),
			agentNode(
				{
					template: 'conversation',
					prompt: '={{ $json.body.message }}',
					options: { requireApproval: 'Send_Email', ...options },
					retryPolicy: { type: 'none' },
				},
				{ openAgentsLlmApi: llm },
			),
			{
				id: randomUUID(),
				name: 'Send Email',
				type: 'n8n-nodes-base.httpRequestTool',
				typeVersion: 4.2,
				position: [200, 220],
				parameters: {
					toolDescription: 'Sends an email',
					method: 'POST',
					url: receiverUrl,
					sendBody: true,
					specifyBody: 'json',
					jsonBody:
						"={{ JSON.stringify({ to: $fromAI('to', 'Recipient address', 'string'), subject: $fromAI('subject', 'Subject line', 'string') }) }}",
					options: {},
				},
			},
			approvalNode([360, 220]),
		],
		connections: {
			Webhook: { main: [[{ node: 'Agent', type: 'main', index: 0 }]] },
			'Send Email': { ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]] },
			Approval: { ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]] },
		},
	});
	await cluster.client.activateWorkflow(id, [path]);
	return { id, path };
}

/** Starts the workflow and waits until its execution waits for approval; returns it with the approval page URL. */
async function startAndWait(options: Record<string, unknown> = {}) {
	const { id, path } = await approvalWorkflow(options);
	expect((await cluster.client.webhook(path, { message: 'Follow up with Ann' })).status).toBe(200);
	const waiting = await waitFor(
		'the execution to wait for approval',
		async () => (await cluster.client.executions({ workflowId: id, status: 'waiting' }))[0],
		60_000,
		500,
	);
	const execution = await cluster.client.execution(waiting.id);
	return { workflowId: id, execution, approvalUrl: new URL(approvalOutput(execution).approvalUrl) };
}

/** The worker whose log says it started `executionId`. */
const workerThatRan = (executionId: string) =>
	cluster.workers.find((w) =>
		readFileSync(join(cluster.userFolder, 'logs', `${w.name}.log`), 'utf8').includes(
			`Worker started execution ${executionId} `,
		),
	);

/** The Approval node's output while it waits (n8n keeps a sub-node's run under its connection type, ai_tool). */
function approvalOutput(execution: Execution) {
	const run = execution.data!.resultData.runData.Approval[0] as unknown as {
		data: Record<string, Array<Array<{ json: { approvalUrl: string; expiresAt?: string } }>>>;
	};
	return (run.data.ai_tool ?? run.data.main)[0][0].json;
}

/** The public URL of the page: the cluster's, with the path and query n8n generated. */
const pageUrl = (approvalUrl: URL) =>
	`${cluster.client.url}${approvalUrl.pathname}${approvalUrl.search}`;

async function finished(executionId: string): Promise<Execution> {
	return waitFor(
		'the resumed execution to finish',
		async () => {
			const execution = await cluster.client.execution(executionId);
			return ['running', 'waiting', 'new'].includes(execution.status) ? undefined : execution;
		},
		120_000,
		500,
	);
}

it("waits for approval, survives a worker kill and a main restart, and runs the call once with the reviewer's edit", async () => {
	const { workflowId, execution, approvalUrl } = await startAndWait();
	expect(execution.status).toBe('waiting');
	expect(received).toHaveLength(0);
	expect(chat()).toHaveLength(1);

	// The worker that ran the execution is killed, and the main process restarted, while the execution waits.
	const ranOn = workerThatRan(execution.id)!;
	expect(ranOn).toBeDefined();
	process.kill(ranOn.process.pid, 'SIGKILL');
	const survivor = cluster.workers.find((w) => w !== ranOn)!;
	await cluster.restartMain();
	expect((await cluster.client.execution(execution.id)).status).toBe('waiting');

	// The reviewer opens the page, edits the arguments and submits.
	const page = await browser.newPage();
	const response = await page.goto(pageUrl(approvalUrl));
	expect(response?.status()).toBe(200);
	expect(await page.locator('h1').textContent()).toBe('Approval needed');
	await expect(page.locator('blockquote').textContent()).resolves.toBe(
		'The customer asked for a follow-up, so I will email them.',
	);
	await expect(
		page.locator('a', { hasText: 'Open the execution' }).getAttribute('href'),
	).resolves.toMatch(new RegExp(`/workflow/${workflowId}/executions/${execution.id}$`));
	const args = page.locator('#args_0');
	expect(JSON.parse(await args.inputValue())).toEqual({
		to: 'ann@example.com',
		subject: 'Follow-up',
	});
	// An invalid edit is refused with the problem listed; the execution keeps waiting.
	await args.fill('{"to": "ann@example.com", "subject": 42}');
	await page.check('input[name="decision_0"][value="edit"]');
	if (SCREENSHOTS)
		await page.screenshot({ path: join(SCREENSHOTS, 'approval.png'), fullPage: true });
	const refused = await Promise.all([
		page.waitForNavigation(),
		page.click('button[type="submit"]'),
	]);
	expect(refused[0]?.status()).toBe(422);
	await expect(page.locator('[role="alert"] li').allTextContents()).resolves.toEqual([
		'Send_Email (call 1): subject: Expected string, received number',
	]);
	expect((await cluster.client.execution(execution.id)).status).toBe('waiting');
	await args.fill('{"to": "ann@example.com", "subject": "Follow-up on your order"}');
	await page.check('input[name="decision_0"][value="edit"]');
	if (SCREENSHOTS)
		await page.screenshot({ path: join(SCREENSHOTS, 'approval.png'), fullPage: true });
	const accepted = await Promise.all([
		page.waitForNavigation(),
		page.click('button[type="submit"]'),
	]);
	expect(accepted[0]?.status()).toBe(200);
	expect(await page.locator('h1').textContent()).toBe('Decision recorded');
	await page.close();

	const done = await finished(execution.id);
	expect({ status: done.status, error: done.data?.resultData.error?.message }).toEqual({
		status: 'success',
		error: undefined,
	});
	// Exactly one side effect, with the reviewer's arguments; the model saw its result.
	expect(received).toEqual([{ to: 'ann@example.com', subject: 'Follow-up on your order' }]);
	expect(chat()).toHaveLength(2);
	expect(toolResults(chat()[1])[0]).toContain('msg-1');
	const [agent] = nodeOutput(done, 'Agent') as Array<{
		output: string;
		steps: Array<{
			tool: string;
			input: unknown;
			approval: { decision: string; modelInput: unknown };
		}>;
		usage: { modelCalls: number };
	}>;
	expect(agent.output).toContain('msg-1');
	expect(agent.steps[0]).toMatchObject({
		tool: 'Send_Email',
		approval: { decision: 'edited', modelInput: { to: 'ann@example.com', subject: 'Follow-up' } },
	});
	expect(agent.usage.modelCalls).toBe(2);
	expect(done.customData).toMatchObject({ openagents_model_calls: '2' });
	// It resumed on the surviving worker.
	expect(readFileSync(join(cluster.userFolder, 'logs', `${survivor.name}.log`), 'utf8')).toContain(
		`Worker started execution ${execution.id} `,
	);
	await cluster.startWorker(Number(ranOn.name.split('-')[1]));

	// The same link again (a double click, a retried request) cannot decide twice.
	const again = await fetch(pageUrl(approvalUrl), {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ decisions: [{ id: 'x', action: 'approve' }] }),
	});
	expect(again.status).toBe(409);
	expect(received).toHaveLength(1);
}, 420_000);

it('accepts exactly one of 20 concurrent decisions, tells the others which one won, and runs the call once with it', async () => {
	const { execution, approvalUrl } = await startAndWait();
	const callId = (approvalOutput(execution) as unknown as { calls: Array<{ id: string }> }).calls[0]
		.id;
	// Ten reviewers reject, ten edit the subject (each their own), all at the same moment.
	const decisions = Array.from({ length: 20 }, (_, i) =>
		i % 2
			? { id: callId, action: 'reject', message: `no (${i})` }
			: { id: callId, action: 'edit', args: { to: 'ann@example.com', subject: `Subject ${i}` } },
	);
	const responses = await Promise.all(
		decisions.map(async (decision) => {
			const res = await fetch(pageUrl(approvalUrl), {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ decisions: [decision] }),
			});
			const body = (await res.json().catch(() => ({}))) as {
				decision?: { decisions: Array<{ action: string; args?: unknown }> };
			};
			return { status: res.status, body };
		}),
	);
	const statuses = responses.map((r) => r.status).sort();
	expect(statuses.filter((s) => s === 200)).toHaveLength(1);
	expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
	const winner = responses.find((r) => r.status === 200)!.body.decision!;
	// Our 409s name the decision that won (n8n's own 409, for a request it saw after the resume, does not).
	for (const r of responses.filter((r) => r.status === 409 && r.body.decision))
		expect(r.body.decision).toEqual(winner);

	const done = await finished(execution.id);
	expect(done.status).toBe('success');
	const [won] = winner.decisions;
	if (won.action === 'edit') expect(received).toEqual([won.args]);
	else expect(received).toEqual([]);
	const [agent] = nodeOutput(done, 'Agent') as Array<{
		steps: Array<{ approval: { decision: string } }>;
	}>;
	expect(agent.steps[0].approval.decision).toBe(won.action === 'edit' ? 'edited' : 'rejected');
}, 300_000);

it('refuses a forged approval ID, an edit for a call that is not pending, and a decision after the timeout', async () => {
	const { execution, approvalUrl } = await startAndWait({
		approvalTimeoutMinutes: 0.25,
	});
	const post = (url: URL, body: unknown) =>
		fetch(pageUrl(url), {
			method: 'POST',
			headers: { 'content-type': 'application/json', accept: 'application/json' },
			body: JSON.stringify(body),
		});
	const forged = new URL(approvalUrl);
	forged.searchParams.set('approval', 'A'.repeat(22));
	const wrongId = await post(forged, { decisions: [] });
	expect(wrongId.status).toBe(403);
	expect((await fetch(pageUrl(forged))).status).toBe(403);
	// The page: no caching, no Referer with its tokens, no scripts.
	const shown = await fetch(pageUrl(approvalUrl));
	expect(shown.status).toBe(200);
	expect({
		cache: shown.headers.get('cache-control'),
		referrer: shown.headers.get('referrer-policy'),
		csp: shown.headers.get('content-security-policy'),
	}).toEqual({
		cache: 'no-store',
		referrer: 'no-referrer',
		csp: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
	});
	expect(await shown.text()).not.toContain('<script');
	const noToken = new URL(approvalUrl);
	noToken.searchParams.set('signature', 'forged');
	expect((await fetch(pageUrl(noToken))).status).toBe(401); // n8n's own resume token check

	const notPending = await post(approvalUrl, {
		decisions: [{ id: 'call_not_pending', action: 'edit', args: { to: 'x@example.com' } }],
	});
	expect(notPending.status).toBe(422);
	const body = (await notPending.json()) as { error: { issues: string[] } };
	expect(body.error.issues[0]).toBe('There is no pending tool call "call_not_pending".');
	expect((await cluster.client.execution(execution.id)).status).toBe('waiting');
	expect(received).toHaveLength(0);

	// After Approval Timeout (15 s here) the link is refused; n8n resumes the wait itself and the model is told.
	const expiresAt = Date.parse(approvalOutput(execution).expiresAt!);
	await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 500));
	const late = await post(approvalUrl, {
		decisions: [{ id: 'x', action: 'approve' }],
	});
	expect([410, 409]).toContain(late.status);
	const done = await finished(execution.id);
	expect(done.status).toBe('success');
	expect(received).toHaveLength(0);
	expect(toolResults(chat()[1])[0]).toMatch(/no reviewer approved this call in time/);
}, 300_000);

it('waits with the plan, and runs the plan the reviewer edited in the page on the other worker', async () => {
	const PLAN = {
		goal: 'Launch the product',
		tasks: [planTask('draft'), planTask('review', ['draft'])],
	};
	const taskOf = (request: ChatRequest) =>
		/Your task \(([^)]+)\)/.exec(lastUserText(request.messages))?.[1];
	const isPlanning = (request: ChatRequest) =>
		/You are a planner/.test(systemText(request.messages));
	model.setHandler((request: ChatRequest) => {
		if (isPlanning(request)) return { content: JSON.stringify(PLAN) };
		const id = taskOf(request);
		return { content: id ? `${id} done` : 'Launch report ready.' };
	});
	const store = await cluster.client.createCredential(
		'e2e approval checkpoints',
		'openAgentsMemoryStore',
		redisStoreCredential(REDIS_PREFIX),
	);
	const path = `e2e-plan-approval-${randomUUID()}`;
	const { id: workflowId } = await cluster.client.createWorkflow({
		name: 'e2e: Planner with plan approval',
		settings: { executionOrder: 'v1' },
		nodes: [
			webhookAnsweringAtOnce(path),
			plannerNode(
				{
					operation: 'planAndExecute',
					goal: '={{ $json.body.goal }}',
					store: 'credential',
					options: { approvePlan: true },
					retryPolicy: { type: 'none' },
				},
				{ openAgentsLlmApi: llm, openAgentsMemoryStore: store },
			),
			approvalNode([220, 220]),
		],
		connections: {
			Webhook: { main: [[{ node: 'Planner', type: 'main', index: 0 }]] },
			Approval: { ai_tool: [[{ node: 'Planner', type: 'ai_tool', index: 0 }]] },
		},
	});
	await cluster.client.activateWorkflow(workflowId, [path]);
	expect((await cluster.client.webhook(path, { goal: PLAN.goal })).status).toBe(200);
	const waiting = await waitFor(
		'the plan to wait for approval',
		async () => (await cluster.client.executions({ workflowId, status: 'waiting' }))[0],
		60_000,
		500,
	);
	const execution = await cluster.client.execution(waiting.id);
	expect(chat().filter(taskOf)).toEqual([]);
	const ranOn = workerThatRan(execution.id)!;
	process.kill(ranOn.process.pid, 'SIGKILL');
	const survivor = cluster.workers.find((w) => w !== ranOn)!;

	const page = await browser.newPage();
	await page.goto(pageUrl(new URL(approvalOutput(execution).approvalUrl)));
	await expect(page.locator('tr[data-task]').allTextContents()).resolves.toEqual([
		'draftDo draftworker–',
		'reviewDo reviewworkerdraft',
	]);
	const edited = { goal: PLAN.goal, tasks: [planTask('draft'), planTask('publish', ['draft'])] };
	await page.fill('#plan', JSON.stringify(edited, null, 2));
	await page.check('input[name="decision"][value="edit"]');
	if (SCREENSHOTS)
		await page.screenshot({ path: join(SCREENSHOTS, 'plan-approval.png'), fullPage: true });
	const [accepted] = await Promise.all([
		page.waitForNavigation(),
		page.click('button[type="submit"]'),
	]);
	expect(accepted?.status()).toBe(200);
	await page.close();

	const done = await finished(execution.id);
	expect({ status: done.status, error: done.data?.resultData.error?.message }).toEqual({
		status: 'success',
		error: undefined,
	});
	const [result] = nodeOutput(done, 'Planner') as Array<{
		status: string;
		output: string;
		tasks: Array<{ id: string; status: string }>;
	}>;
	expect(result).toMatchObject({ status: 'completed', output: 'Launch report ready.' });
	expect(result.tasks.map((t) => [t.id, t.status])).toEqual([
		['draft', 'completed'],
		['publish', 'completed'],
	]);
	// The model's own log: planned once, then exactly the edited plan's tasks.
	expect(chat().filter(isPlanning)).toHaveLength(1);
	expect(chat().map(taskOf).filter(Boolean)).toEqual(['draft', 'publish']);
	expect(readFileSync(join(cluster.userFolder, 'logs', `${survivor.name}.log`), 'utf8')).toContain(
		`Worker started execution ${execution.id} `,
	);
	await cluster.startWorker(Number(ranOn.name.split('-')[1]));
}, 300_000);
