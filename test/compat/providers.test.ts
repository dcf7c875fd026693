/**
 * The package against every provider the README names, each replayed by the offline model server's profile of it
 * (stack/model-server/profiles; each cites the documentation it follows): workflows run in-process — the Agent (tools,
 * streaming, structured output), the Planner (plan, one task, synthesis), the Knowledge Base (ingest and answer, on a
 * real Chroma) — the rate limiter reading the provider's 429, retries and fallbacks, context-length errors, rerank and
 * the credential test. Every feature test records what it saw (our adaptations, how the provider did it); the last
 * test renders the README's "## Providers" tables from those records and fails when the README says otherwise
 * (`OPENAGENTS_PROVIDER_TABLE=1` writes them). Run the whole file: a filtered run leaves cells untested.
 */
import { randomBytes } from 'node:crypto';

import type { ICredentialTestFunctions, INodeParameters } from 'n8n-workflow';

import { rerankWithApi } from '../../lib/llm';
import type { LlmConfig } from '../../lib/llm/config';
import { forgetRefusedParameters } from '../../lib/llm/provider-fetch';
import { providerInfo, type ProviderId } from '../../lib/llm/providers';
import { closeProcessRateLimiters } from '../../lib/ratelimit';
import { NoRetryPolicy } from '../../lib/retry';
import { llmApiCredentialTest } from '../../nodes/shared/clients/llmApi';
import { startChroma, type ChromaServer } from '../../stack/chroma';
import {
	lastUserText,
	OfflineModelServer,
	PROVIDER_PROFILES,
	systemText,
	type ChatRequest,
	type ModelReply,
} from '../../stack/model-server';
import type { RequestLogEntry } from '../../stack/model-server/routes';
import { chromaCredential } from '../support/credentials';
import { testNodeTypes, testToolCalls } from '../support/test-nodes';
import { itemsInto, runWorkflow, type WorkflowJson } from '../support/workflow-runner';
import {
	FEATURES,
	readmeBlock,
	renderFeatureTable,
	renderSettingsTable,
	writeReadmeBlock,
	type Feature,
	type Observation,
} from './table';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- wire bodies and output items, read field by field
type Json = Record<string, any>;

const run = randomBytes(4).toString('hex');
const PROVIDERS = PROVIDER_PROFILES as Array<Exclude<ProviderId, 'generic'>>;
const results = new Map<string, Observation>();
const record = (provider: string, feature: Feature, observation: Observation) =>
	results.set(`${provider}|${feature}`, observation);

/** What leaks of the stand-in's reasoning would show: its draft JSON, its citation [9], its source, a think tag. */
const LEAK = /draft from the reasoning|reasoning-draft|\[9\]|<\/?think>/;

const QUESTION = 'What is the weather in Paris, and is my Monday free?';
const TOOL_ANSWER = (results: string[]) =>
	`Paris is sunny and Monday is free (${[...results].sort().join(' | ')}).`;
const EXPECTED_TOOL_ANSWER = TOOL_ANSWER(['calendar got Monday', 'weather got Paris']);

const toolResults = (request: ChatRequest) => {
	const last = request.messages.map((m) => m.role).lastIndexOf('user');
	return request.messages
		.slice(last + 1)
		.filter((m) => m.role === 'tool')
		.map((m) => String(m.content));
};

/** The model of the tool tests: asks for the calls it has no result for yet, then answers from the results. */
function toolModel(request: ChatRequest): ModelReply {
	const got = toolResults(request);
	const wanted = [
		{ name: 'weather', arguments: { input: 'Paris' } },
		{ name: 'calendar', arguments: { input: 'Monday' } },
	].filter((call) => !got.some((r) => r.startsWith(`${call.name} got`)));
	if (wanted.length) return { content: '', toolCalls: wanted };
	return { content: TOOL_ANSWER(got) };
}

const isPlanning = (r: ChatRequest) => /You are a planner/.test(systemText(r.messages));

/** The model of the structured-output tests: a one-task plan, the task's result, the synthesis, a JSON answer. */
function structuredModel(request: ChatRequest): ModelReply {
	if (isPlanning(request))
		return {
			content: JSON.stringify({
				goal: 'Weather report',
				clarifyingQuestions: [],
				tasks: [
					{
						id: 'research',
						title: 'Look up the weather',
						description: '',
						agent: 'worker',
						dependsOn: [],
					},
				],
			}),
		};
	if (/Your task \(research\)/.test(lastUserText(request.messages)))
		return { content: 'research done' };
	if (/Combine the results/.test(systemText(request.messages)))
		return { content: 'Final answer from the research.' };
	return { content: '{"city": "Paris", "sunny": true}' };
}

const FILLER = Array.from(
	{ length: 130 },
	(_, i) => `Filler paragraph ${i}: ${'nothing to see here '.repeat(6).trim()}.`,
).join('\n\n');

let chroma: ChromaServer;
beforeAll(async () => {
	chroma = await startChroma();
}, 60_000);
afterAll(async () => {
	await Promise.all([chroma?.stop(), closeProcessRateLimiters()]);
});

describe.each(PROVIDERS)('%s', (profile) => {
	const key = `sk-compat-${profile}-secret`;
	const server = new OfflineModelServer({ profile, apiKey: key, logResponses: true });
	/** What the tests of this provider saw, for cells built from several tests. */
	const seen: { toolResponses: Json[]; toolUsage?: Json } = { toolResponses: [] };

	beforeAll(() => server.start());
	afterAll(() => server.stop());
	beforeEach(() => {
		server.reset();
		forgetRefusedParameters();
		testToolCalls.length = 0;
	});

	const credential = (extra: Json = {}): Json => ({
		baseUrl: server.baseUrl,
		apiKey: key,
		chatModel: server.chatModel,
		embeddingModel: server.embeddingModel,
		provider: profile,
		...(profile === 'azure' ? { apiVersion: '2024-10-21' } : {}),
		...extra,
	});
	const config = (): LlmConfig => credential() as unknown as LlmConfig;
	const chats = () => server.requestsTo('chat');

	/** Items → Agent (Conversation), tool sub-nodes `tools`; `streaming` runs it as a streaming webhook would. */
	async function agent(
		items: object[],
		parameters: INodeParameters = {},
		{ tools = [] as string[], streaming = false, llm = {} as Json } = {},
	) {
		const workflow: WorkflowJson = itemsInto(items, {
			name: 'Agent',
			type: 'openAgentsAgent',
			parameters: { template: 'conversation', retryPolicy: { type: 'none' }, ...parameters },
			credentials: { openAgentsLlmApi: { id: '1', name: 'llm' } },
			continueOnFail: true,
		});
		tools.forEach((name, i) => {
			workflow.nodes.push({
				id: `t${i}`,
				name: `Tool ${name}`,
				type: 'test.tool',
				typeVersion: 1,
				position: [200, 200],
				parameters: { toolName: name },
			});
			workflow.connections[`Tool ${name}`] = {
				ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]],
			};
		});
		const lines: string[] = [];
		const result = await runWorkflow(workflow, {
			nodeTypes: testNodeTypes,
			credentials: { openAgentsLlmApi: credential(llm) },
			...(streaming ? { onChunkLine: (line: string) => lines.push(line) } : {}),
		});
		const json = (result.outputs.Agent?.[0] ?? []).map((i) => i.json as Json);
		const streamed = lines
			.map((line) => JSON.parse(line) as { type: string; content?: string })
			.filter((chunk) => chunk.type === 'item')
			.map((chunk) => chunk.content ?? '')
			.join('');
		return { result, json, streamed };
	}

	/** Every request after a tool-calling turn pairs each tool result with a unique, non-empty call id. */
	function expectToolIdsPaired(entries: RequestLogEntry[]) {
		for (const entry of entries) {
			const messages = (entry.body as ChatRequest).messages;
			const ids = messages.flatMap((m) => (m.tool_calls ?? []).map((c) => c.id));
			expect(ids.every(Boolean)).toBe(true);
			expect(new Set(ids).size).toBe(ids.length);
			for (const m of messages.filter((m) => m.role === 'tool'))
				expect(ids).toContain(m.tool_call_id);
		}
	}

	const reasoningPassedBack = () =>
		chats().some((e) =>
			(e.body as ChatRequest).messages.some(
				(m) => m.role === 'assistant' && m.tool_calls?.length && 'reasoning_content' in m,
			),
		);

	it('Agent: calls two tools and answers from their results (tools)', async () => {
		server.setHandler(toolModel);
		const { json } = await agent([{ chatInput: QUESTION }], {}, { tools: ['weather', 'calendar'] });
		const [item] = json;
		expect(item.error).toBeUndefined();
		expect(item.output).toBe(EXPECTED_TOOL_ANSWER);
		expect(item.steps.map((s: Json) => [s.tool, s.input])).toEqual(
			expect.arrayContaining([
				['weather', { input: 'Paris' }],
				['calendar', { input: 'Monday' }],
			]),
		);
		expect(JSON.stringify(item)).not.toMatch(LEAK);
		expect(item.usage.totalTokens).toBeGreaterThan(0);
		expect(item.usage.estimated).toBeUndefined();
		const answered = chats().filter((e) => e.status === 200);
		expectToolIdsPaired(answered.slice(1));
		const responses = answered.map((e) => e.response as Json);
		seen.toolResponses = responses;
		seen.toolUsage = item.usage;
		const issued = responses.flatMap(
			(r) => (r.choices?.[0]?.message?.tool_calls ?? []).map((c: Json) => c.id) as string[],
		);
		const adapted = [
			...(issued.some((id) => !id) ? ['ids-added'] : []),
			...(reasoningPassedBack() ? ['reasoning-passed-back'] : []),
		];
		const notes = [
			...(answered.length > 2 ? ['one-per-turn'] : []),
			...(responses.some(
				(r) => r.choices?.[0]?.message?.tool_calls?.length && r.choices[0].finish_reason === 'stop',
			)
				? ['finish-stop']
				: []),
		];
		record(profile, 'tools', { status: adapted.length ? 'adapted' : 'supported', adapted, notes });
	});

	it('Agent: streams its answer, calling the same tools (streaming tools, usage, reasoning)', async () => {
		server.setHandler(toolModel);
		const { json, streamed } = await agent(
			[{ chatInput: QUESTION }],
			{},
			{ tools: ['weather', 'calendar'], streaming: true },
		);
		const [item] = json;
		expect(item.error).toBeUndefined();
		expect(item.output).toBe(EXPECTED_TOOL_ANSWER);
		expect(streamed).toBe(EXPECTED_TOOL_ANSWER);
		expect(JSON.stringify(item)).not.toMatch(LEAK);
		const all = chats();
		const answered = all.filter((e) => e.status === 200);
		expectToolIdsPaired(answered.slice(1));
		const events = answered.flatMap((e) => (e.events ?? []) as Json[]);
		const deltas = events.flatMap((ev) => (ev.choices?.[0]?.delta?.tool_calls ?? []) as Json[]);
		expect(deltas.length).toBeGreaterThan(0);
		const refusedOptions = all.some(
			(e) => Number(e.status) >= 400 && (e.body as ChatRequest).stream_options !== undefined,
		);
		if (refusedOptions) expect((answered[0].body as ChatRequest).stream_options).toBeUndefined();
		const adapted = [
			...(deltas.some((d) => typeof d.index !== 'number') ? ['index-added'] : []),
			...(deltas.some((d) => d.function?.name && !d.id) ? ['ids-added'] : []),
			...(refusedOptions ? ['stream-options-dropped'] : []),
			...(reasoningPassedBack() ? ['reasoning-passed-back'] : []),
		];
		const whole = deltas.every(
			(d) =>
				d.function?.name &&
				typeof d.function.arguments === 'string' &&
				d.function.arguments.startsWith('{') &&
				d.function.arguments.endsWith('}'),
		);
		record(profile, 'streaming tools', {
			status: adapted.length ? 'adapted' : 'supported',
			adapted,
			notes: [whole ? 'whole' : 'fragments'],
		});

		// Usage: reported in streams, or counted by us; the provider's cache fields read.
		const usageEvents = events.filter((ev) => ev.usage || ev.x_groq?.usage);
		const toolUsage = seen.toolUsage!;
		const cacheFields = seen.toolResponses.some(
			(r) => typeof r.usage?.prompt_cache_hit_tokens === 'number',
		);
		if (cacheFields) expect(toolUsage.cachedPromptTokens).toBeGreaterThan(0);
		if (!usageEvents.length) expect(item.usage.estimated).toBe(true);
		else expect(item.usage.estimated).toBeUndefined();
		expect(item.usage.totalTokens).toBeGreaterThan(0);
		const usageAdapted = [
			...(item.usage.estimated ? ['estimated'] : []),
			...(refusedOptions ? ['stream-options-dropped'] : []),
			...(cacheFields ? ['cache-fields'] : []),
		];
		const usageNotes = [
			...(usageEvents.some((ev) => Array.isArray(ev.choices) && !ev.choices.length)
				? ['usage-chunk']
				: []),
			...(usageEvents.some((ev) => ev.choices?.[0]?.finish_reason && ev.usage)
				? ['last-chunk']
				: []),
			...(usageEvents.some((ev) => ev.x_groq?.usage) ? ['x_groq'] : []),
			...(!cacheFields && toolUsage.cachedPromptTokens > 0 ? ['cached'] : []),
			...(toolUsage.reasoningTokens > 0 ? ['reasoning-tokens'] : []),
		];
		record(profile, 'usage', {
			status: usageAdapted.length ? 'adapted' : 'supported',
			adapted: usageAdapted,
			notes: usageNotes,
		});

		// Reasoning: where the provider put it (it reached no output above).
		const messages = seen.toolResponses.map((r) => r.choices?.[0]?.message ?? {});
		const streamedContent = events.map((ev) => ev.choices?.[0]?.delta?.content);
		const kind = messages.some((m) => typeof m.reasoning_content === 'string')
			? 'reasoning_content'
			: messages.some((m) => typeof m.reasoning === 'string')
				? 'reasoning-field'
				: messages.some((m) => typeof m.content === 'string' && m.content.startsWith('<think>')) &&
					  streamedContent.some((c) => typeof c === 'string' && c.includes('<thi'))
					? 'think'
					: messages.some(
								(m) =>
									Array.isArray(m.content) && m.content.some((p: Json) => p.type === 'thinking'),
						  )
						? 'thinking-parts'
						: toolUsage.reasoningTokens > 0
							? 'hidden'
							: 'no-reasoning';
		record(profile, 'reasoning', {
			status:
				kind === 'no-reasoning'
					? 'not available'
					: kind === 'reasoning_content' || kind === 'hidden'
						? 'supported'
						: 'adapted',
			adapted: ['reasoning-field', 'think', 'thinking-parts'].includes(kind) ? [kind] : [],
			notes: ['reasoning_content', 'hidden', 'no-reasoning'].includes(kind) ? [kind] : [],
		});
	});

	it('Planner plans one task, runs it and answers; the Agent returns JSON Schema output (structured output)', async () => {
		server.setHandler(structuredModel);
		const planner = (parameters: INodeParameters) =>
			runWorkflow(
				itemsInto([{}], {
					name: 'Planner',
					type: 'openAgentsPlanner',
					parameters: { retryPolicy: { type: 'none' }, store: 'inProcess', ...parameters },
					credentials: { openAgentsLlmApi: { id: '1', name: 'llm' } },
				}),
				{
					nodeTypes: testNodeTypes,
					credentials: { openAgentsLlmApi: credential() },
					// Its own workflow: the in-process plan store keys saved plans by workflow and goal.
					workflowId: `compat-${profile}-${run}`,
				},
			);
		const planned = await planner({
			operation: 'planAndExecute',
			goal: 'Report the weather in Paris',
		});
		expect(planned.status).toBe('success');
		const [plan] = planned.outputs.Planner[0].map((i) => i.json as Json);
		expect(plan).toMatchObject({ status: 'completed', output: 'Final answer from the research.' });
		expect(plan.tasks.map((t: Json) => [t.id, t.status, t.output])).toEqual([
			['research', 'completed', 'research done'],
		]);
		expect(JSON.stringify(plan)).not.toMatch(LEAK);

		const { json } = await agent([{ chatInput: 'The weather in Paris, as JSON' }], {
			outputFormat: 'jsonSchema',
			jsonSchema:
				'{"type":"object","properties":{"city":{"type":"string"},"sunny":{"type":"boolean"}},"required":["city","sunny"]}',
		});
		expect(json[0].error).toBeUndefined();
		expect(json[0].output).toEqual({ city: 'Paris', sunny: true });

		const planning = chats().filter((e) => isPlanning(e.body as ChatRequest));
		const first = planning[0];
		const format = (first.body as ChatRequest).response_format?.type;
		const refused = format === 'json_schema' && Number(first.status) >= 400;
		if (refused) {
			expect((planning[1].body as ChatRequest).response_format).toBeUndefined();
			// Remembered: the next plan asks without it at once.
			server.reset();
			const again = await planner({ operation: 'createPlan', goal: 'Report the weather in Rome' });
			expect(again.status).toBe('success');
			const next = chats().filter((e) => isPlanning(e.body as ChatRequest));
			expect(next).toHaveLength(1);
			expect((next[0].body as ChatRequest).response_format).toBeUndefined();
		}
		const adapted = refused
			? ['json-schema-dropped']
			: format === 'json_object'
				? ['json-object']
				: [];
		record(profile, 'structured output', {
			status: adapted.length ? 'adapted' : 'supported',
			adapted,
			notes: format === 'json_schema' && !refused ? ['json_schema'] : [],
		});
	});

	it('Knowledge Base: ingests documents and answers with citations (embeddings)', async () => {
		const knowledgeBase = `compat-${profile}-${run}`;
		const kb = (items: object[], parameters: INodeParameters) =>
			runWorkflow(
				itemsInto(items, {
					name: 'KB',
					type: 'openAgentsKnowledgeBase',
					parameters: { retryPolicy: { type: 'none' }, knowledgeBase, ...parameters },
					credentials: {
						openAgentsChromaApi: { id: '1', name: 'chroma' },
						openAgentsLlmApi: { id: '2', name: 'llm' },
					},
					continueOnFail: true,
				}),
				{
					nodeTypes: testNodeTypes,
					credentials: {
						openAgentsChromaApi: chromaCredential(chroma.url),
						openAgentsLlmApi: credential(),
					},
				},
			);
		const ingest = await kb(
			[
				{
					text: '# Agent\n\nOnce started, the agent listens on port 5678 and writes its log to the journal.',
					sourceId: 'agent.md',
				},
				{
					text: '# Pools\n\nThe connection pool keeps at most ten idle connections.',
					sourceId: 'pools.md',
				},
				{ text: FILLER, sourceId: 'filler.md' },
			],
			{
				operation: 'ingest',
				inputType: 'text',
				text: '={{ $json.text }}',
				sourceId: '={{ $json.sourceId }}',
				format: 'markdown',
				options: { chunkSize: 200, chunkOverlap: 0 },
			},
		);
		const ingested = ingest.outputs.KB[0].map((i) => i.json as Json);
		const embeddings = server.requestsTo('embeddings');
		if (ingested.some((i) => i.error)) {
			expect(ingested[0].error).toMatch(/404/);
			expect(embeddings.every((e) => e.status === 404)).toBe(true);
			record(profile, 'embeddings', {
				status: 'not available',
				adapted: [],
				notes: ['no-embeddings'],
			});
			return;
		}
		expect(ingested.map((i) => i.source)).toEqual(['agent.md', 'pools.md', 'filler.md']);
		const answered = await kb([{ question: 'Which port does the agent listen on?' }], {
			operation: 'answer',
			question: '={{ $json.question }}',
			topK: 3,
		});
		const [answer] = answered.outputs.KB[0].map((i) => i.json as Json);
		expect(answer.error).toBeUndefined();
		expect(answer.found).toBe(true);
		expect(answer.answer).toMatch(/5678[^[]*\[\d\]/);
		expect(answer.sources).toEqual(['agent.md']);
		expect(answer.invalidCitations).toEqual([]);
		expect(JSON.stringify(answer)).not.toMatch(LEAK);

		const inputs = (e: RequestLogEntry) => (e.body as { input: string[] }).input;
		const asked = server.requestsTo('embeddings');
		const batches = asked.filter((e) => Array.isArray(inputs(e)) && inputs(e).length > 1);
		const biggest = Math.max(...batches.map((e) => inputs(e).length));
		const query = asked.at(-1)!;
		expect(inputs(query)).toHaveLength(1);
		const encodings = new Set(asked.map((e) => (e.body as Json).encoding_format));
		const adapted = [
			...(batches.length > 1 && biggest <= 100 ? ['batches'] : []),
			...(encodings.has('float') ? ['float'] : []),
			...(inputs(query)[0]?.startsWith('search_query: ') &&
			batches.every((e) => inputs(e).every((t) => t.startsWith('search_document: ')))
				? ['prefixes']
				: []),
		];
		record(profile, 'embeddings', {
			status: adapted.length ? 'adapted' : 'supported',
			adapted,
			notes: encodings.has('base64') ? ['base64'] : [],
		});
	});

	it("keeps to the provider's rate limit, reading its 429 (rate-limit headers)", async () => {
		server.setHandler(() => ({ content: 'ok' }));
		server.rateLimit = { requestsPerMinute: 60, burst: 1 };
		const { json } = await agent(
			[{ chatInput: 'one' }, { chatInput: 'two' }],
			{ retryPolicy: { type: 'fixed', delay: 0, maxRetries: 3 } },
			{
				llm: {
					rateLimitStore: 'process',
					requestsPerMinute: 6000,
					rateLimitName: `compat-${profile}-${run}`,
				},
			},
		);
		expect(json.map((i) => [i.error, i.output])).toEqual([
			[undefined, 'ok'],
			[undefined, 'ok'],
		]);
		const all = chats();
		const limited = all.filter((e) => e.status === 429);
		const behaviour = server.profile.rateLimit.kind;
		if (behaviour !== 'refuse') {
			expect(limited).toEqual([]);
			expect(all.some((e) => (e.waitedMs ?? 0) > 500)).toBe(true);
			record(profile, 'rate-limit headers', {
				status: 'not available',
				adapted: [],
				notes: [behaviour === 'queue' ? 'queue' : 'keepalive'],
			});
			return;
		}
		// One 429; the retry came only once the provider said there was room again (≈ 1 s at 60 per minute).
		expect(limited).toHaveLength(1);
		const retry = all[all.indexOf(limited[0]) + 1];
		expect(retry.status).toBe(200);
		expect(retry.receivedAt - limited[0].receivedAt).toBeGreaterThanOrEqual(800);
		const headers = limited[0].headers ?? {};
		const body = JSON.stringify(limited[0].response);
		const notes = [
			...(headers['retry-after'] ? ['retry-after'] : []),
			...(headers['retry-after-ms'] ? ['retry-after-ms'] : []),
			...(headers['x-ratelimit-reset-requests'] ? ['x-ratelimit-reset'] : []),
			...(headers['x-ratelimit-reset'] ? ['epoch-reset'] : []),
		];
		const adapted = !notes.length && /RetryInfo/.test(body) ? ['retry-info'] : [];
		expect(notes.length + adapted.length).toBeGreaterThan(0);
		record(profile, 'rate-limit headers', {
			status: adapted.length ? 'adapted' : 'supported',
			adapted,
			notes,
		});
	});

	it('reranks through /rerank where the provider has one, else says it has none (rerank)', async () => {
		const documents = ['Pools keep ten idle connections.', 'The agent listens on port 5678.'];
		const options = { policy: new NoRetryPolicy(), secrets: [key] };
		let error: Error | undefined;
		let scores: number[] = [];
		try {
			scores = await rerankWithApi(config(), 'reranker', 'agent port', documents, options);
		} catch (e) {
			error = e as Error;
		}
		if (error) {
			expect(error.message).toMatch(/has no \/rerank endpoint/);
			expect(error.message).not.toContain(key);
			record(profile, 'rerank', { status: 'not available', adapted: [], notes: ['no-rerank'] });
		} else {
			expect(scores[1]).toBeGreaterThan(scores[0]);
			record(profile, 'rerank', { status: 'supported', adapted: [], notes: ['rerank'] });
		}
	});

	it("retries the provider's errors and falls back to the next model, also after an error inside a 200 stream", async () => {
		server.setHandler(() => ({ content: 'answered' }));
		server.fail({ type: 'status', status: 503, message: 'The model is overloaded' }, { times: 2 });
		const llm = { fallbackChatModels: 'backup-model' };
		const retry = { retryPolicy: { type: 'fixed', delay: 0, maxRetries: 1 } };
		const fellBack = await agent([{ chatInput: 'hello' }], retry, { llm });
		expect(fellBack.json[0]).toMatchObject({
			output: 'answered',
			usage: { model: 'backup-model' },
		});
		expect(chats().map((e) => e.status)).toEqual([503, 503, 200]);
		expect(chats()[2].pathModel ?? (chats()[2].body as ChatRequest).model).toBe('backup-model');

		server.reset();
		server.setHandler(() => ({ content: 'answered' }));
		server.fail({ type: 'streamError', status: 502, message: 'Provider disconnected' });
		const streamed = await agent([{ chatInput: 'hello' }], retry, { streaming: true, llm });
		expect(streamed.json[0].output).toBe('answered');
		expect(streamed.streamed).toBe('answered');
		const broken = chats().find((e) => e.fault === 'streamError')!;
		expect(JSON.stringify(broken.events?.at(-1))).toMatch(/error/);
		expect(chats().at(-1)!.status).toBe(200);
	});

	it('fails a prompt longer than the context window with context_length_exceeded, without retries or fallbacks', async () => {
		server.setHandler(() => ({ content: 'answered' }));
		server.contextWindow = 30;
		const { json } = await agent(
			[{ chatInput: 'Tell me everything. '.repeat(20) }],
			{ retryPolicy: { type: 'fixed', delay: 0, maxRetries: 2 } },
			{ llm: { fallbackChatModels: 'backup-model' } },
		);
		const truncates = server.profile.contextError(30, 100) === undefined;
		if (truncates) {
			// Ollama cuts the prompt to num_ctx and answers: nothing to tell apart.
			expect(json[0].output).toBe('answered');
			return;
		}
		expect(json[0].code).toBe('context_length_exceeded');
		expect(chats()).toHaveLength(1);
	});

	it('the credential test names the provider and the capabilities it found', async () => {
		const test = (data: Json) =>
			llmApiCredentialTest.call({} as ICredentialTestFunctions, {
				id: '1',
				name: 'llm',
				type: 'openAgentsLlmApi',
				data,
			});
		const ok = await test(credential());
		expect(ok.status).toBe('OK');
		expect(ok.message).toContain(providerInfo(profile).label);
		expect(ok.message).toContain('set on the credential');
		expect(ok.message).toContain(server.chatModel);
		expect(ok.message).toMatch(/Capabilities: .*(embeddings|no embeddings)/);
		const refused = await test(credential({ apiKey: 'sk-wrong-compat-key' }));
		expect(refused.status).toBe('Error');
		expect(refused.message).toMatch(/refused the API key/);
		expect(refused.message).not.toContain('sk-wrong-compat-key');
		// A credential saved before the Provider setting: detected from the base URL (127.0.0.1: none), and for the
		// servers whose model list says who they are, a hint.
		const { provider: _none, ...legacy } = credential();
		const detected = await test(legacy);
		if (profile === 'azure') expect(detected.status).toBe('Error');
		else {
			expect(detected.message).toMatch(/OpenAI-compatible server \(detected/);
			if (profile === 'vllm' || profile === 'ollama')
				expect(detected.message).toContain(`looks like ${providerInfo(profile).label}'s`);
		}
	});
});

it('README "## Providers" tables say what the suite observed', () => {
	const missing = PROVIDERS.flatMap((p) => FEATURES.map((f) => `${p}|${f}`)).filter(
		(cell) => !results.has(cell),
	);
	expect(missing).toEqual([]);
	const table = renderFeatureTable(PROVIDERS, results);
	const settings = renderSettingsTable(PROVIDERS);
	if (process.env.OPENAGENTS_PROVIDER_TABLE === '1') {
		writeReadmeBlock('provider-table', table);
		writeReadmeBlock('provider-settings', settings);
	}
	expect(readmeBlock('provider-table')).toBe(table);
	expect(readmeBlock('provider-settings')).toBe(settings);
});
