/**
 * `npm start` as a user runs it: a separate process that starts Chroma, the offline model and n8n
 * (single-process mode here: no queue variables), imports the examples, runs the flagship flow on the READMEs in
 * node_modules and prints its cited answer, plan and usage, prints the editor URL and login, and stops on Ctrl-C.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import OpenAI, { AuthenticationError } from 'openai';

import type { ManagedProcess } from '../../stack/process';
import { citationNumbers } from '../../lib/rag';
import { N8nClient } from '../../stack/n8n/client';
import { startNpmStart } from '../support/npm-start';

const stateDir = mkdtempSync(join(tmpdir(), 'openagents-start-'));
let stack: ManagedProcess;

afterAll(async () => {
	await stack?.stop('SIGKILL', 1000);
	rmSync(stateDir, { recursive: true, force: true });
});

it('starts the stack, creates our credentials, runs the flagship flow in n8n, and stops cleanly on Ctrl-C', async () => {
	stack = await startNpmStart(stateDir);

	const output = stack.tail(200);
	expect(output).toMatch(/OFFLINE STAND-IN model/);
	// The flagship flow ran inside n8n: READMEs ingested, the plan completed, an answer citing passages its tasks
	// retrieved, among them ioredis's README (which holds the answer).
	expect(output).toMatch(/\d{3} documents, \d+ chunks: \d+ added/);
	expect(output).toMatch(/Plan \(\d+ tasks, completed\):/);
	const answer = output.slice(output.indexOf('Answer:'), output.indexOf('Citations'));
	const citationsBlock = output.slice(output.indexOf('Citations'), output.indexOf('Token usage'));
	const listed = [...citationsBlock.matchAll(/^\[openagents\]\s+\[(\d+)\] (\S+)/gm)].map((m) => ({
		n: Number(m[1]),
		source: m[2],
	}));
	expect(citationNumbers(answer).sort()).toEqual(listed.map((c) => c.n).sort());
	expect(listed.length).toBeGreaterThan(0);
	expect(listed.map((c) => c.source)).toContain('ioredis/README.md');
	expect(output).toMatch(/Citations \(of \d+ passages the tasks retrieved\)/);
	expect(output).toMatch(/Token usage: \d+ tokens in \d+ model calls/);
	const editor = output.match(/Editor:\s+(http:\/\/\S+)/)?.[1];
	const login = output.match(/Login:\s+(\S+) \/ (\S+)/);
	expect(editor).toBeDefined();
	expect(login).not.toBeNull();

	const client = await N8nClient.bootstrap(editor!, {
		email: login![1],
		password: login![2],
		firstName: 'x',
		lastName: 'y',
	});
	const types = await client.credentialTypeNames();
	expect(types).toEqual(
		expect.arrayContaining([
			'openAgentsLlmApi',
			'openAgentsChromaApi',
			'openAgentsMemoryStore',
			'openAgentsN8nApi',
			'openAgentsChatCompletionsApi',
		]),
	);
	const stored = await client.rest<Array<{ name: string; type: string }>>('GET', '/credentials');
	// Ours, the Header Auth key every example webhook checks, and the dashboard's Basic Auth login.
	expect(stored.map((c) => c.type).sort()).toEqual([
		'httpBasicAuth',
		'httpHeaderAuth',
		'openAgentsChatCompletionsApi',
		'openAgentsChromaApi',
		'openAgentsLlmApi',
		'openAgentsMemoryStore',
		'openAgentsN8nApi',
	]);
	const workflows = await client.api<{ data: Array<{ name: string; active: boolean }> }>(
		'GET',
		'/workflows',
	);
	expect(workflows.data.map((w) => [w.name.slice(0, 27), w.active]).sort()).toEqual([
		['OpenAgents example 10: e-ma', true],
		['OpenAgents example 10: supp', true],
		['OpenAgents example 1: inges', true],
		['OpenAgents example 2: chat ', true],
		['OpenAgents example 3: plan ', true],
		['OpenAgents example 4: alert', false],
		['OpenAgents example 5: agent', true],
		['OpenAgents example 6: agent', true],
		['OpenAgents example 7: adapt', true],
		['OpenAgents example 8: the d', true],
		['OpenAgents example 9: evalu', false],
	]);
	// Example 9 evaluates the knowledge base on the project's README questions, in a data table of this n8n.
	const tables = await client.api<{ data: Array<{ id: string; name: string }> }>(
		'GET',
		'/data-tables',
	);
	const table = tables.data.find((t) => t.name === 'OpenAgents evaluation questions');
	const rows = await client.api<{ data: Array<{ question: string; expected: string }> }>(
		'GET',
		`/data-tables/${table!.id}/rows?limit=250`,
	);
	expect(rows.data.length).toBeGreaterThanOrEqual(50);
	expect(rows.data.every((r) => r.question && r.expected.endsWith('README.md'))).toBe(true);
	const evaluation = await client.api<{
		data: Array<{ nodes: Array<{ type: string; parameters: Record<string, unknown> }> }>;
	}>(
		'GET',
		`/workflows?name=${encodeURIComponent('OpenAgents example 9: evaluate a knowledge base')}`,
	);
	const trigger = evaluation.data[0].nodes.find((n) => n.type.endsWith('evaluationTrigger'));
	expect(trigger!.parameters.dataTableId).toMatchObject({ value: table!.id });

	// Example 8 answers any OpenAI client at the printed base URL with the printed key, and only with it.
	const openAi = output.match(/base URL (http:\/\/\S+), API key (\S+), model (\S+), e\.g\./);
	expect(openAi).not.toBeNull();
	const [, baseURL, apiKey, modelName] = openAi!;
	const sdk = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
	expect((await sdk.models.list()).data.map((m) => m.id)).toEqual([modelName]);
	const completion = await sdk.chat.completions.create({
		model: modelName,
		messages: [{ role: 'user', content: 'How does ioredis reconnect?' }],
	});
	expect(completion.choices[0].message.content).toBeTruthy();
	expect(completion.usage!.total_tokens).toBeGreaterThan(0);
	await expect(
		new OpenAI({ baseURL, apiKey: 'sk-wrong', maxRetries: 0 }).models.list(),
	).rejects.toBeInstanceOf(AuthenticationError);

	// Example 5 answers at the printed URLs with the printed login, and only with it.
	const dashboard = output.match(/Dashboard:\s+(http:\/\/\S+) \(example 5; login (\S+) \/ (\S+)\)/);
	const metricsUrl = output.match(/Metrics:\s+(http:\/\/\S+)/)?.[1];
	expect(dashboard).not.toBeNull();
	const authorization = `Basic ${Buffer.from(`${dashboard![2]}:${dashboard![3]}`).toString('base64')}`;
	expect((await fetch(dashboard![1])).status).toBe(401);
	const page = await fetch(dashboard![1], { headers: { authorization } });
	expect(page.headers.get('content-type')).toMatch(/^text\/html/);
	const html = await page.text();
	expect(html).toContain('data-kpi="executions"');
	const metrics = await fetch(metricsUrl!, { headers: { authorization } });
	expect(metrics.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
	expect(await metrics.text()).toMatch(/^openagents_executions_total\{.*status="success"\} \d+$/m);

	await stack.stop('SIGINT', 60_000);
	expect(await stack.exited).toBe(0);
	expect(stack.tail(5)).toMatch(/Stopped\./);
	await expect(fetch(`${editor}/healthz`)).rejects.toThrow();
}, 420_000);
