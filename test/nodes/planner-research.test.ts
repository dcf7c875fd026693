/**
 * The Planner's answer is its research: tasks search a knowledge base through the Knowledge Base Tool sub-node, the
 * passages they retrieve are numbered across the run, and the synthesis cites them. Asserted on structure and
 * provenance (real Chroma, the offline model), never on the stand-in's wording or plan shape.
 */
import { randomBytes } from 'node:crypto';

import type { INodeParameters } from 'n8n-workflow';

import { citationNumbers } from '../../lib/rag';
import { startChroma, type ChromaServer } from '../../stack/chroma';
import {
	offlineModel,
	OfflineModelServer,
	systemText,
	type ChatRequest,
} from '../../stack/model-server';
import { deleteKeys, redisFromEnv } from '../../stack/services';
import { testNodeTypes } from '../support/test-nodes';
import {
	chromaCredential,
	offlineLlmCredential,
	redisStoreCredential,
} from '../support/credentials';
import {
	itemsInto,
	PACKAGE_PREFIX,
	runWorkflow,
	type WorkflowJson,
} from '../support/workflow-runner';

const run = randomBytes(4).toString('hex');
const model = new OfflineModelServer();
const memoryPrefix = `openagents-planner-research-${run}`;
let chroma: ChromaServer;
let llmUrl: string;

const credentials = {
	openAgentsLlmApi: { id: '1', name: 'llm' },
	openAgentsChromaApi: { id: '2', name: 'chroma' },
	openAgentsMemoryStore: { id: '3', name: 'memory' },
};
const credentialData = () => ({
	openAgentsLlmApi: offlineLlmCredential(llmUrl),
	openAgentsChromaApi: chromaCredential(chroma.url),
	openAgentsMemoryStore: redisStoreCredential(memoryPrefix),
});

/** Two knowledge bases on the same subject that disagree on the facts. */
const DOCS: Record<string, Record<string, string>> = {
	[`kb-a-${run}`]: {
		'queue.md':
			'# Offline queue\n\nWhile the connection is down, commands wait in the offline queue. The queue is flushed with an error after 20 retry attempts.',
		'reconnect.md':
			'# Reconnecting\n\nThe client reconnects with a delay of 50 ms per attempt, at most 2 seconds between attempts.',
		'cluster.md':
			'# Cluster\n\nIn a cluster, reads can go to replicas when scaleReads is set to slave.',
	},
	[`kb-b-${run}`]: {
		'retries.md':
			'# Retries\n\nPending commands fail after 3 retry attempts when the server cannot be reached.',
		'timeouts.md':
			'# Timeouts\n\nA connect timeout of 10 seconds ends each connection attempt; reconnecting waits one second.',
	},
};
const KB_A = `kb-a-${run}`;
const KB_B = `kb-b-${run}`;
const GOAL =
	'After how many retry attempts do pending commands fail while the connection is down, and how long does reconnecting wait?';

beforeAll(async () => {
	[chroma, llmUrl] = await Promise.all([startChroma(), model.start()]);
	for (const [knowledgeBase, docs] of Object.entries(DOCS)) {
		const items = Object.entries(docs).map(([sourceId, text]) => ({ sourceId, text }));
		const ingest = await runWorkflow(
			itemsInto(items, {
				name: 'KB',
				type: 'openAgentsKnowledgeBase',
				parameters: {
					operation: 'ingest',
					knowledgeBase,
					inputType: 'text',
					text: '={{ $json.text }}',
					sourceId: '={{ $json.sourceId }}',
					format: 'markdown',
					metadata: '{}',
				},
				credentials,
			}),
			{ nodeTypes: testNodeTypes, credentials: credentialData() },
		);
		expect(ingest.status).toBe('success');
	}
}, 60_000);
afterAll(async () => {
	await Promise.all([
		chroma?.stop(),
		model.stop(),
		deleteKeys(redisFromEnv(), `${memoryPrefix}:*`),
	]);
});
beforeEach(() => {
	model.reset();
	model.setHandler(undefined);
});

/** Items → Planner (Plan and Execute) with a Knowledge Base Tool on `knowledgeBase` connected as its tool. */
function researchFlow(knowledgeBase: string, parameters: INodeParameters = {}): WorkflowJson {
	const flow = itemsInto([{ question: GOAL }], {
		name: 'Planner',
		type: 'openAgentsPlanner',
		parameters: {
			operation: 'planAndExecute',
			goal: '={{ $json.question }}',
			store: 'credential',
			retryPolicy: { type: 'none' },
			...parameters,
		},
		credentials,
	});
	flow.nodes.push({
		id: 'tool',
		name: 'Search Docs',
		type: `${PACKAGE_PREFIX}.openAgentsKnowledgeBaseTool`,
		typeVersion: 1,
		position: [200, 200],
		parameters: { knowledgeBase, toolName: 'search_knowledge_base', topK: 2, options: {} },
		credentials,
	});
	flow.connections['Search Docs'] = { ai_tool: [[{ node: 'Planner', type: 'ai_tool', index: 0 }]] };
	return flow;
}

interface Passage {
	n: number;
	source: string;
	headingPath: string;
	text: string;
}
let runs = 0;
/** One research run; a new plan run each time unless `parameters` name one. */
async function research(knowledgeBase: string, parameters: INodeParameters = {}) {
	const flow = researchFlow(knowledgeBase, {
		planRunId: `research-${run}-${++runs}`,
		...parameters,
	});
	const result = await runWorkflow(flow, {
		nodeTypes: testNodeTypes,
		credentials: credentialData(),
	});
	expect(result.status).toBe('success');
	return result.outputs.Planner[0][0].json as unknown as {
		output: string;
		citations: Passage[];
		passages: Passage[];
		sources: string[];
		invalidCitations: number[];
		resumed: number;
		tasks: Array<{ id: string; status: string; passages: number[] }>;
	};
}

describe('Planner research', () => {
	it('answers with citations that each resolve to a passage a task retrieved from the knowledge base', async () => {
		const item = await research(KB_A);
		const cited = citationNumbers(item.output);
		expect(cited.length).toBeGreaterThan(0);
		// Every [n] in the answer is a citation, and every citation is a numbered passage of the run.
		expect(item.citations.map((c) => c.n).sort()).toEqual([...cited].sort());
		for (const c of item.citations) expect(item.passages[c.n - 1]).toEqual(c);
		expect(item.passages.map((p) => p.n)).toEqual(item.passages.map((_, i) => i + 1));
		// Every passage was retrieved by some task, and is text of a document in this knowledge base.
		const retrieved = new Set(item.tasks.flatMap((t) => t.passages));
		for (const p of item.passages) {
			expect(retrieved.has(p.n)).toBe(true);
			expect(Object.keys(DOCS[KB_A])).toContain(p.source);
			expect(DOCS[KB_A][p.source]).toContain(p.text.split('\n').pop());
		}
		expect(item.sources).toEqual([...new Set(cited.map((n) => item.passages[n - 1].source))]); // order of first citation
		expect(item.invalidCitations).toEqual([]);
	});

	it('gives a different answer from a knowledge base with different content, citing only that one', async () => {
		const [a, b] = [await research(KB_A), await research(KB_B)];
		expect(b.output).not.toEqual(a.output);
		expect(b.citations.length).toBeGreaterThan(0);
		for (const c of b.citations) expect(Object.keys(DOCS[KB_B])).toContain(c.source);
	});

	it('removes a citation that points at no retrieved passage, and reports it', async () => {
		model.setHandler(async (request: ChatRequest) =>
			/Context passages/.test(systemText(request.messages)) &&
			/Combine the results/.test(systemText(request.messages))
				? { content: 'Commands fail after some retries [1]. Made-up fact [99].' }
				: offlineModel(request),
		);
		const item = await research(KB_A);
		expect(item.output).toBe('Commands fail after some retries [1]. Made-up fact.');
		expect(item.invalidCitations).toEqual([99]);
		expect(item.citations.map((c) => c.n)).toEqual([1]);
	});

	it('keeps the passages of tasks resumed from checkpoints, so a resumed run still cites them', async () => {
		const planRunId = `resume-${run}`;
		const first = await research(KB_A, { planRunId });
		const second = await research(KB_A, { planRunId });
		expect(second.resumed).toBe(first.tasks.length);
		expect(second.passages).toEqual(first.passages);
		expect(second.citations.length).toBeGreaterThan(0);
	});
});
