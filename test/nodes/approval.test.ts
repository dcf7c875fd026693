/**
 * Require Approval For, in-process: the Agent asks n8n's engine to run the OpenAgents Approval node, the execution
 * waits (status "waiting", data saved as JSON), and resuming it with a reviewer's decision continues the run. The
 * decision is parsed from the request found in the waiting node's input, as the Approval node's webhook does; the
 * webhook itself and the approval page are covered end to end (test/e2e/approval.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { IDataObject, INode } from 'n8n-workflow';

import {
	checkDecidable,
	parseDecision,
	type PlanApproval,
	type ToolCallsApproval,
} from '../../lib/approval';
import {
	lastUserText,
	OfflineModelServer,
	systemText,
	type ChatRequest,
} from '../../stack/model-server';
import { deleteKeys, redisFromEnv } from '../../stack/services';
import { offlineLlmCredential, redisStoreCredential } from '../support/credentials';
import { planTask } from '../support/plans';
import { testNodeTypes, testToolCalls } from '../support/test-nodes';
import {
	PACKAGE_PREFIX,
	resumeWorkflow,
	runWorkflow,
	waitingNodeInput,
	type RunResult,
	type WorkflowJson,
} from '../support/workflow-runner';

const model = new OfflineModelServer();
let llmUrl: string;
const memoryPrefix = `openagents-approval-nodes-${randomBytes(4).toString('hex')}`;
beforeAll(async () => (llmUrl = await model.start()));
afterAll(() => Promise.all([model.stop(), deleteKeys(redisFromEnv(), `${memoryPrefix}:*`)]));
beforeEach(() => {
	model.reset();
	testToolCalls.length = 0;
});

const credentials = () => ({
	openAgentsLlmApi: offlineLlmCredential(llmUrl),
	openAgentsMemoryStore: redisStoreCredential(memoryPrefix),
});

function workflow(options: IDataObject, prompts = ['Tidy up']): WorkflowJson {
	const node = (name: string, type: string, parameters: INode['parameters'] = {}): INode => ({
		id: name,
		name,
		type,
		typeVersion: 1,
		position: [0, 0],
		parameters,
	});
	return {
		settings: { executionOrder: 'v1' },
		nodes: [
			node('Items', 'test.items', {
				items: JSON.stringify(prompts.map((chatInput) => ({ chatInput }))),
			}),
			{
				...node('Agent', `${PACKAGE_PREFIX}.openAgentsAgent`, { options } as INode['parameters']),
				credentials: { openAgentsLlmApi: { id: '1', name: 'llm' } },
			},
			node('Lookup', 'test.tool', { toolName: 'lookup' }),
			node('Delete', 'test.tool', { toolName: 'delete_record' }),
			node('Approval', `${PACKAGE_PREFIX}.openAgentsApproval`),
		],
		connections: {
			Items: { main: [[{ node: 'Agent', type: 'main', index: 0 }]] },
			Lookup: { ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]] },
			Delete: { ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]] },
			Approval: { ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]] },
		},
	};
}

const run = (wf: WorkflowJson, executionId = `approval-${Date.now()}`) =>
	runWorkflow(wf, { nodeTypes: testNodeTypes, credentials: credentials(), executionId });
const resume = (wf: WorkflowJson, waiting: RunResult, items?: IDataObject[]) =>
	resumeWorkflow(
		wf,
		waiting,
		items?.map((json) => ({ json })),
		{ nodeTypes: testNodeTypes, credentials: credentials(), executionId: 'resumed' },
	);

/** The request the waiting Approval node holds. */
const pendingRequest = (waiting: RunResult) =>
	waitingNodeInput(waiting)[0].json.openagentsApproval as unknown as ToolCallsApproval;

/** The reviewer's decision as the Approval node's webhook outputs it (checked by parseDecision). */
function decide(waiting: RunResult, decisions: IDataObject[] | IDataObject): IDataObject[] {
	const request = pendingRequest(waiting);
	const parsed = parseDecision(request, Array.isArray(decisions) ? { decisions } : decisions);
	if ('status' in parsed) throw new Error(`${parsed.message} ${parsed.issues?.join('; ')}`);
	return [{ openagentsApprovalDecision: parsed.decision as unknown as IDataObject }];
}

const agentOutput = (result: RunResult) => {
	const runs = result.runData.Agent;
	return runs[runs.length - 1].data!.main[0]![0].json;
};
const toolResults = (request: { body: unknown }) =>
	(request.body as ChatRequest).messages
		.filter((m) => m.role === 'tool')
		.map((m) => String(m.content));

/** Model turn 1: look something up and delete a record in one turn; turn 2: the answer. */
const scriptTurns = () =>
	model.reply(
		{
			content: 'I will check, then delete record 7.',
			toolCalls: [
				{ name: 'lookup', arguments: { input: 'record 7' } },
				{ name: 'delete_record', arguments: { input: '7' } },
			],
		},
		{ content: 'Finished.' },
	);

describe('Agent → Require Approval For', () => {
	it('waits with the pending call while the call that needs no approval has run', async () => {
		scriptTurns();
		const waiting = await run(workflow({ requireApproval: 'delete_record' }));
		expect(waiting.status).toBe('waiting');
		expect(testToolCalls).toEqual(['lookup:record 7']);
		const request = pendingRequest(waiting);
		expect(request).toMatchObject({
			kind: 'tool_calls',
			requestedBy: 'Agent',
			reasoning: 'I will check, then delete record 7.',
			calls: [{ name: 'delete_record', args: { input: '7' } }],
			onTimeout: 'reject',
		});
		expect(request.approvalId).toMatch(/^[\w-]{22}$/);
		// Default timeout: 24 hours from now.
		expect(Date.parse(request.expiresAt!) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
		expect(request.calls[0].schema).toMatchObject({ type: 'object', required: ['input'] });
		// The Approval node's output while waiting: the page link (n8n's resume URL with its token + the approval ID).
		const shown =
			waiting.runData.Approval[0].data!.main?.[0]?.[0]?.json ??
			waiting.runData.Approval[0].data!.ai_tool?.[0]?.[0]?.json;
		expect(String(shown?.approvalUrl)).toContain(`approval=${request.approvalId}`);
		expect(model.requestsTo('chat')).toHaveLength(1);
	});

	it.each([
		[
			'approve',
			{ action: 'approve' },
			['lookup:record 7', 'delete_record:7'],
			'delete_record got 7',
			'approved',
		],
		[
			'edit',
			{ action: 'edit', args: { input: '8' } },
			['lookup:record 7', 'delete_record:8'],
			'delete_record got 8',
			'edited',
		],
		[
			'reject',
			{ action: 'reject', message: 'Record 7 is still needed' },
			['lookup:record 7'],
			"Not run: the reviewer rejected this call. Reviewer's message: Record 7 is still needed",
			'rejected',
		],
	] as const)(
		'%s: the resumed execution continues the run and succeeds',
		async (_n, decision, calls, result, recorded) => {
			scriptTurns();
			const wf = workflow({ requireApproval: 'Delete' }); // by sub-node name
			const waiting = await run(wf);
			const id = pendingRequest(waiting).calls[0].id;
			const resumed = await resume(wf, waiting, decide(waiting, [{ id, ...decision }]));
			expect(resumed.status).toBe('success');
			expect(testToolCalls).toEqual(calls);
			const out = agentOutput(resumed);
			expect(out).toMatchObject({ output: 'Finished.', status: 'completed', iterations: 2 });
			expect(
				(out.steps as IDataObject[]).map((s) => [s.tool, (s.approval as IDataObject)?.decision]),
			).toEqual([
				['lookup', undefined],
				['delete_record', recorded],
			]);
			expect(toolResults(model.requestsTo('chat')[1])).toEqual(['lookup got record 7', result]);
			// Usage carries across the wait: both model calls, once each.
			expect((out.usage as IDataObject).modelCalls).toBe(2);
			expect(model.requestsTo('chat')).toHaveLength(2);
		},
	);

	it('reviews parallel calls together: approve one, reject the other', async () => {
		model.reply(
			{
				toolCalls: [
					{ name: 'delete_record', arguments: { input: '1' } },
					{ name: 'delete_record', arguments: { input: '2' } },
				],
			},
			{ content: 'Deleted one.' },
		);
		const wf = workflow({ requireApproval: '*' });
		const waiting = await run(wf);
		const [first, second] = pendingRequest(waiting).calls;
		expect(testToolCalls).toEqual([]);
		const resumed = await resume(
			wf,
			waiting,
			decide(waiting, [
				{ id: first.id, action: 'approve' },
				{ id: second.id, action: 'reject' },
			]),
		);
		expect(resumed.status).toBe('success');
		expect(testToolCalls).toEqual(['delete_record:1']);
	});

	it('timeout with On Approval Timeout = Reject: the model is told and continues', async () => {
		scriptTurns();
		const wf = workflow({ requireApproval: 'delete_record', approvalTimeoutMinutes: 5 });
		const waiting = await run(wf);
		expect(Date.parse(pendingRequest(waiting).expiresAt!) - Date.now()).toBeLessThanOrEqual(
			5 * 60_000,
		);
		const resumed = await resume(wf, waiting); // n8n resumes a timed-out wait without webhook data
		expect(resumed.status).toBe('success');
		expect(testToolCalls).toEqual(['lookup:record 7']);
		expect(toolResults(model.requestsTo('chat')[1])[1]).toMatch(
			/no reviewer approved this call in time/,
		);
	});

	it('timeout with On Approval Timeout = Fail: the item fails with approval_timeout', async () => {
		scriptTurns();
		const wf = workflow({ requireApproval: 'delete_record', onApprovalTimeout: 'fail' });
		const waiting = await run(wf);
		const resumed = await resume(wf, waiting);
		expect(resumed.status).toBe('error');
		expect(resumed.error?.message).toMatch(/No reviewer decided on delete_record/);
		expect(testToolCalls).toEqual(['lookup:record 7']);
		expect(model.requestsTo('chat')).toHaveLength(1);
	});

	it('keeps the items done before the wait and runs the items after it', async () => {
		model.reply(
			{ content: 'First done.' },
			{ toolCalls: [{ name: 'delete_record', arguments: { input: '2' } }] },
			{ content: 'Second done.' },
			{ content: 'Third done.' },
		);
		const wf = workflow({ requireApproval: 'delete_record' }, ['one', 'two', 'three']);
		const waiting = await run(wf);
		const id = pendingRequest(waiting).calls[0].id;
		const resumed = await resume(wf, waiting, decide(waiting, [{ id, action: 'approve' }]));
		expect(resumed.status).toBe('success');
		const runs = resumed.runData.Agent;
		const items = runs[runs.length - 1].data!.main[0]!;
		expect(items.map((i) => [i.json.output, i.pairedItem])).toEqual([
			['First done.', { item: 0 }],
			['Second done.', { item: 1 }],
			['Third done.', { item: 2 }],
		]);
		expect(model.requestsTo('chat')).toHaveLength(4);
	});

	it('refuses a decision that does not fit the request, and the execution keeps waiting', () => {
		const request: ToolCallsApproval = {
			approvalId: 'a'.repeat(22),
			kind: 'tool_calls',
			requestedBy: 'Agent',
			calls: [
				{
					id: 'call_1',
					name: 'delete_record',
					args: { input: '7' },
					schema: {
						type: 'object',
						properties: { input: { type: 'string' } },
						required: ['input'],
					},
				},
			],
			onTimeout: 'reject',
		};
		expect(
			parseDecision(request, { decisions: [{ id: 'call_1', action: 'edit', args: { input: 8 } }] }),
		).toMatchObject({
			status: 422,
			issues: ['delete_record (call 1): input: Expected string, received number'],
		});
		expect(
			parseDecision(request, { decisions: [{ id: 'call_9', action: 'approve' }] }),
		).toMatchObject({
			status: 422,
			issues: ['There is no pending tool call "call_9".', 'delete_record (call 1): no decision.'],
		});
		expect(
			parseDecision(request, { decisions: [{ id: 'call_1', action: 'edit', args: '{"input": ' }] }),
		).toMatchObject({
			status: 422,
			issues: [
				expect.stringMatching(/^delete_record \(call 1\): the arguments are not valid JSON/),
			],
		});
		expect(parseDecision(request, { approve: true })).toMatchObject({ status: 400 });
	});

	it('with a Notification URL, POSTs the request with the page link when the wait starts', async () => {
		const received: IDataObject[] = [];
		const server = createServer((req, res) => {
			let body = '';
			req.on('data', (chunk: Buffer) => (body += chunk.toString()));
			req.on('end', () => {
				received.push(JSON.parse(body) as IDataObject);
				res.end('ok');
			});
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		try {
			scriptTurns();
			const wf = workflow({ requireApproval: 'delete_record' });
			wf.nodes.find((n) => n.name === 'Approval')!.parameters = {
				notificationUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
			};
			const waiting = await run(wf);
			const request = pendingRequest(waiting);
			expect(received).toHaveLength(1);
			expect(received[0]).toMatchObject({
				kind: 'tool_calls',
				approvalId: request.approvalId,
				requestedBy: 'Agent',
				calls: [{ id: request.calls[0].id, name: 'delete_record', args: { input: '7' } }],
				reasoning: 'I will check, then delete record 7.',
				expiresAt: request.expiresAt,
				approvalUrl: expect.stringContaining(`approval=${request.approvalId}`),
				executionUrl: expect.stringMatching(/\/workflow\/in-process\/executions\/approval-/),
			});
			expect(received[0].text).toBe(
				`Approval needed: Agent wants to call delete_record. Review it: ${String(received[0].approvalUrl)} (before ${request.expiresAt})`,
			);
		} finally {
			server.close();
		}
	});

	it('Approval Timeout 0 waits until someone decides', async () => {
		scriptTurns();
		const waiting = await run(
			workflow({ requireApproval: 'delete_record', approvalTimeoutMinutes: 0 }),
		);
		expect(pendingRequest(waiting).expiresAt).toBeUndefined();
		expect(new Date(waiting.run.waitTill!).getUTCFullYear()).toBe(3000); // n8n's "wait indefinitely"
	});

	it('refuses a forged approval ID (403) and a decision after the timeout (410)', () => {
		const request: ToolCallsApproval = {
			approvalId: 'b'.repeat(22),
			kind: 'tool_calls',
			requestedBy: 'Agent',
			calls: [{ id: 'call_1', name: 'delete_record', args: { input: '7' } }],
			expiresAt: new Date(Date.now() + 60_000).toISOString(),
			onTimeout: 'reject',
		};
		expect(checkDecidable(request, 'b'.repeat(22))).toBeUndefined();
		expect(checkDecidable(request, 'c'.repeat(22))).toMatchObject({ status: 403 });
		expect(checkDecidable(request, undefined)).toMatchObject({ status: 403 });
		expect(checkDecidable(request, 'b'.repeat(22), new Date(Date.now() + 61_000))).toMatchObject({
			status: 410,
		});
	});

	it('is refused by the Task template', async () => {
		const wf = workflow({ requireApproval: 'delete_record' });
		wf.nodes.find((n) => n.name === 'Agent')!.parameters.template = 'task';
		wf.nodes.find((n) => n.name === 'Agent')!.parameters.steps = {
			step: [{ name: 'one', instruction: 'Do it' }],
		};
		const result = await run(wf);
		expect(result.error?.message).toMatch(
			/Require Approval For works with the Conversation template only/,
		);
		expect(model.requestsTo('chat')).toHaveLength(0);
	});

	it('says what is wrong with the settings', async () => {
		model.reply({ content: 'unused' });
		const noGate = workflow({ requireApproval: 'delete_record' });
		noGate.nodes = noGate.nodes.filter((n) => n.name !== 'Approval');
		delete noGate.connections.Approval;
		const missing = await run(noGate);
		expect(missing.error?.message).toMatch(/needs an OpenAgents Approval sub-node/);
		const typo = await run(workflow({ requireApproval: 'delete_recrd' }));
		expect(typo.error?.message).toMatch(
			/"delete_recrd", which is neither a tool nor a tool sub-node/,
		);
		expect(model.requestsTo('chat')).toHaveLength(0);
	});
});

describe('Planner → Approve Plan Before Running', () => {
	const PLAN = {
		goal: 'Ship the release',
		tasks: [planTask('build'), planTask('notes', ['build'])],
	};
	const taskOf = (request: ChatRequest) =>
		/Your task \(([^)]+)\)/.exec(lastUserText(request.messages))?.[1];
	const chat = () => model.requestsTo('chat').map((r) => r.body as ChatRequest);
	const planning = () => chat().filter((r) => /You are a planner/.test(systemText(r.messages)));
	const tasksRun = () => chat().map(taskOf).filter(Boolean);

	beforeEach(() =>
		model.setHandler((request: ChatRequest) => {
			if (/You are a planner/.test(systemText(request.messages)))
				return { content: JSON.stringify(PLAN) };
			const id = taskOf(request);
			return { content: id ? `${id} done` : 'Release shipped.' };
		}),
	);

	function plannerWorkflow(options: IDataObject = {}): WorkflowJson {
		const runId = `approval-${randomBytes(4).toString('hex')}`;
		return {
			settings: { executionOrder: 'v1' },
			nodes: [
				{
					id: 'i',
					name: 'Items',
					type: 'test.items',
					typeVersion: 1,
					position: [0, 0],
					parameters: { items: JSON.stringify([{ goal: PLAN.goal }]) },
				},
				{
					id: 'p',
					name: 'Planner',
					type: `${PACKAGE_PREFIX}.openAgentsPlanner`,
					typeVersion: 1,
					position: [200, 0],
					parameters: {
						operation: 'planAndExecute',
						goal: '={{ $json.goal }}',
						store: 'credential',
						planRunId: runId,
						retryPolicy: { type: 'none' },
						options: { approvePlan: true, ...options },
					} as INode['parameters'],
					credentials: {
						openAgentsLlmApi: { id: '1', name: 'llm' },
						openAgentsMemoryStore: { id: '2', name: 'memory' },
					},
				},
				{
					id: 'a',
					name: 'Approval',
					type: `${PACKAGE_PREFIX}.openAgentsApproval`,
					typeVersion: 1,
					position: [200, 200],
					parameters: {},
				},
			],
			connections: {
				Items: { main: [[{ node: 'Planner', type: 'main', index: 0 }]] },
				Approval: { ai_tool: [[{ node: 'Planner', type: 'ai_tool', index: 0 }]] },
			},
		};
	}
	const plannerOutput = (result: RunResult) => {
		const runs = result.runData.Planner;
		return runs[runs.length - 1].data!.main[0]![0].json;
	};
	const planRequest = (waiting: RunResult) =>
		waitingNodeInput(waiting)[0].json.openagentsApproval as unknown as PlanApproval;

	it('waits with the plan before any task runs, then runs the approved plan', async () => {
		const wf = plannerWorkflow();
		const waiting = await run(wf);
		expect(waiting.status).toBe('waiting');
		expect(planRequest(waiting)).toMatchObject({
			kind: 'plan',
			requestedBy: 'Planner',
			plan: PLAN,
			maxTasks: 10,
		});
		expect(tasksRun()).toEqual([]);
		const resumed = await resume(wf, waiting, decide(waiting, { action: 'approve' }));
		expect(resumed.status).toBe('success');
		expect(plannerOutput(resumed)).toMatchObject({
			status: 'completed',
			output: 'Release shipped.',
		});
		expect(tasksRun()).toEqual(['build', 'notes']);
		expect(planning()).toHaveLength(1);
		// Planning before the wait is part of the item's usage: 1 planning + 2 tasks + 1 synthesis.
		expect((plannerOutput(resumed).usage as IDataObject).modelCalls).toBe(4);
		// The approved plan is the checkpointed one: the same input again resumes it without asking again.
		const again = await run(wf);
		expect(again.status).toBe('success');
		expect(plannerOutput(again)).toMatchObject({ status: 'completed', resumed: 2 });
		expect(planning()).toHaveLength(1);
		expect(tasksRun()).toEqual(['build', 'notes']);
	});

	it('counts the planning before the wait against the run budget', async () => {
		const wf = plannerWorkflow({ maxModelCalls: 2, synthesize: false });
		const waiting = await run(wf);
		const resumed = await resume(wf, waiting, decide(waiting, { action: 'approve' }));
		// 1 planning call + 1 task use the budget of 2: the second task does not start.
		expect(tasksRun()).toEqual(['build']);
		expect((plannerOutput(resumed).tasks as IDataObject[]).map((t) => t.status)).toEqual([
			'completed',
			'not_run',
		]);
	});

	it('runs an edited plan, after refusing an edit with a cycle (every problem listed)', async () => {
		const wf = plannerWorkflow();
		const waiting = await run(wf);
		const request = planRequest(waiting);
		const cyclic = {
			goal: PLAN.goal,
			tasks: [planTask('build', ['test']), planTask('test', ['build'])],
		};
		const refused = parseDecision(request, { action: 'edit', plan: cyclic });
		expect(refused).toMatchObject({ status: 422 });
		expect((refused as { issues: string[] }).issues.join('\n')).toMatch(/cycle/i);
		const edited = {
			goal: PLAN.goal,
			tasks: [planTask('build'), planTask('changelog', ['build'])],
		};
		const resumed = await resume(
			wf,
			waiting,
			decide(waiting, { action: 'edit', plan: JSON.stringify(edited) }),
		);
		expect(resumed.status).toBe('success');
		expect(tasksRun()).toEqual(['build', 'changelog']);
		expect((plannerOutput(resumed).tasks as IDataObject[]).map((t) => t.id)).toEqual([
			'build',
			'changelog',
		]);
	});

	it('does not run a rejected plan and says why', async () => {
		const wf = plannerWorkflow();
		const waiting = await run(wf);
		const resumed = await resume(
			wf,
			waiting,
			decide(waiting, { action: 'reject', message: 'Wait for QA' }),
		);
		expect(resumed.status).toBe('success');
		expect(plannerOutput(resumed)).toMatchObject({
			status: 'rejected',
			reason: 'The reviewer rejected the plan: Wait for QA',
			plan: PLAN,
		});
		expect(tasksRun()).toEqual([]);
	});

	it('on timeout rejects the plan, or fails the item with approval_timeout', async () => {
		const rejecting = plannerWorkflow();
		const timedOut = await resume(rejecting, await run(rejecting));
		expect(plannerOutput(timedOut)).toMatchObject({
			status: 'rejected',
			reason: expect.stringMatching(/^No reviewer approved the plan before/),
		});
		const failing = plannerWorkflow({ onApprovalTimeout: 'fail' });
		const failed = await resume(failing, await run(failing));
		expect(failed.status).toBe('error');
		expect(failed.error?.message).toMatch(/No reviewer decided on the plan/);
		expect(tasksRun()).toEqual([]);
	});

	it('asks for an Approval sub-node', async () => {
		const wf = plannerWorkflow();
		wf.nodes = wf.nodes.filter((n) => n.name !== 'Approval');
		delete wf.connections.Approval;
		const result = await run(wf);
		expect(result.error?.message).toMatch(
			/Approve Plan Before Running needs an OpenAgents Approval sub-node/,
		);
	});
});
