/**
 * Knowledge Base Evaluate in workflows run in-process, on a real Chroma server with the offline model server: ranks
 * per search mode checked against what Query returns for the same question, the summary against the questions.
 */
import type { INodeParameters, NodeOperationError } from 'n8n-workflow';

import { summarize, type QuestionScores } from '../../lib/rag';
import { startChroma, type ChromaServer } from '../../stack/chroma';
import { OfflineModelServer } from '../../stack/model-server';
import { chromaCredential, offlineLlmCredential } from '../support/credentials';
import { testNodeTypes } from '../support/test-nodes';
import { itemsInto, runWorkflow } from '../support/workflow-runner';

const model = new OfflineModelServer({ apiKey: 'sk-kb-evaluate' });
let chroma: ChromaServer;
let llmUrl: string;

beforeAll(async () => {
	[chroma, llmUrl] = await Promise.all([startChroma(), model.start()]);
	const ingest = await exec(DOCS, {
		operation: 'ingest',
		inputType: 'text',
		text: '={{ $json.text }}',
		sourceId: '={{ $json.sourceId }}',
		format: 'markdown',
	});
	expect(ingest.status).toBe('success');
}, 60_000);
afterAll(async () => {
	await Promise.all([chroma?.stop(), model.stop()]);
});

const KB = 'kb-evaluate';
const DOCS = [
	{
		text: '# Retries\n\nThe client retries a failed request three times before giving up.',
		sourceId: 'guide/retries.md',
	},
	{
		text: '# Timeouts\n\nSet socketTimeoutMs to end a request that hangs; the client then retries it.',
		sourceId: 'guide/timeouts.md',
	},
	{
		text: '# Logging\n\nThe client logs each request and its response when debug is enabled.',
		sourceId: 'ops/logging.md',
	},
];

function exec(items: object[], parameters: INodeParameters, continueOnFail = false) {
	const workflow = itemsInto(items, {
		name: 'KB',
		type: 'openAgentsKnowledgeBase',
		parameters: { retryPolicy: { type: 'none' }, knowledgeBase: KB, ...parameters },
		credentials: {
			openAgentsChromaApi: { id: '1', name: 'chroma' },
			openAgentsLlmApi: { id: '2', name: 'llm' },
		},
		continueOnFail,
	});
	return runWorkflow(workflow, {
		nodeTypes: testNodeTypes,
		credentials: {
			openAgentsChromaApi: chromaCredential(chroma.url),
			openAgentsLlmApi: offlineLlmCredential(llmUrl, 'sk-kb-evaluate'),
		},
	});
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- output shapes are asserted field by field
type Json = Record<string, any>;

/** The sources Query returns (top 10) for `query` in `mode`, best first. */
async function querySources(query: string, searchMode: string): Promise<string[]> {
	const result = await exec([{}], { operation: 'query', query, searchMode, topK: 10 });
	return (result.outputs.KB[0][0].json.results as Array<{ source: string }>).map((r) => r.source);
}

describe('Evaluate', () => {
	const questions = [
		{ question: 'socketTimeoutMs', expected: 'guide/timeouts.md' },
		{ question: 'client logs request debug', expected: ['logging'] },
		{ question: 'How many times does the client retry?', expected: 'retries.md | logging.md' },
		{ question: 'zebra migration patterns', expected: 'not-in-the-kb.md' },
		{ question: '', expected: 'guide/retries.md' },
	];

	it('ranks the expected sources per search mode, as Query ranks them, and summarises on its second output', async () => {
		const result = await exec(questions, { operation: 'evaluate' }, true);
		expect(result.status).toBe('success');
		const [out, summaryOut] = result.outputs.KB;
		expect(out.map((i) => i.pairedItem)).toEqual(questions.map((_, item) => ({ item })));
		const items = out.map((i) => i.json as Json);

		for (const [index, { question, expected }] of questions.slice(0, 4).entries()) {
			const { modes } = items[index];
			expect(Object.keys(modes)).toEqual(['hybrid', 'keyword', 'vector']);
			const entries = ([] as string[]).concat(expected).flatMap((e) => e.split('|'));
			for (const mode of ['hybrid', 'keyword', 'vector']) {
				const sources = await querySources(question, mode);
				const index = sources.findIndex((s) => entries.some((e) => s.includes(e.trim())));
				const rank = index < 0 ? null : index + 1;
				expect({ mode, question, rank: modes[mode].rank }).toEqual({ mode, question, rank });
				expect(modes[mode]).toMatchObject({
					reciprocalRank: rank ? 1 / rank : 0,
					hitAt1: rank === 1 ? 1 : 0,
					hitAt4: rank !== null && rank <= 4 ? 1 : 0,
					hitAt10: rank !== null ? 1 : 0,
					latencyMs: expect.any(Number),
					topSources: [...new Set(sources)],
				});
			}
		}
		expect(items[0].modes.keyword.rank).toBe(1); // the only chunk naming the option
		expect(items[3].modes.hybrid).toMatchObject({ rank: null, reciprocalRank: 0 });
		expect(items[4]).toMatchObject({
			code: 'INVALID_OPTIONS',
			error: expect.stringMatching(/no question in its "question" field/),
		});

		expect(summaryOut).toHaveLength(1);
		expect(summaryOut[0].pairedItem).toEqual(questions.map((_, item) => ({ item })));
		const summary = summaryOut[0].json as Json;
		const scored = items.slice(0, 4).map((i) => i.modes as QuestionScores);
		expect(summary).toEqual({ ...summarize(scored), failed: 1, topK: 10 });
		expect(summary.questions).toBe(4);
		expect(summary.modes.keyword.mrr).toBeCloseTo(
			scored.reduce((sum, q) => sum + q.keyword.reciprocalRank, 0) / 4,
		);
		expect(['hybrid', 'keyword', 'vector']).toContain(summary.bestMode);
	});

	it('reads the fields it is told, compares only the chosen modes, and each reranked too when asked', async () => {
		model.reset();
		const result = await exec([{ q: 'client logs request debug', sources: 'ops/' }], {
			operation: 'evaluate',
			questionField: 'q',
			expectedField: 'sources',
			searchMode: ['keyword'],
			reranker: 'api',
			options: { rerankModel: 'offline-reranker' },
		});
		const [out, summaryOut] = result.outputs.KB;
		const { modes } = out[0].json as Json;
		expect(Object.keys(modes)).toEqual(['keyword', 'keywordReranked']);
		expect(modes.keywordReranked.rank).toBe(1);
		expect(model.requestsTo('rerank')).toHaveLength(1);
		expect(Object.keys((summaryOut[0].json as Json).modes)).toEqual(['keyword', 'keywordReranked']);
	});

	it('with Continue On Fail and no search mode, every question fails alone and the summary counts them', async () => {
		const result = await exec(
			[
				{ question: 'socketTimeoutMs', expected: 'timeouts' },
				{ question: 'retries', expected: 'retries' },
			],
			{ operation: 'evaluate', searchMode: [] },
			true,
		);
		expect(result.status).toBe('success');
		const [out, summaryOut] = result.outputs.KB;
		expect(out.map((i) => (i.json as Json).error)).toEqual([
			expect.stringMatching(/at least one search mode/),
			expect.stringMatching(/at least one search mode/),
		]);
		expect(summaryOut[0].json).toMatchObject({ questions: 0, failed: 2, modes: {} });
	});

	it('summarises the modes every question was scored in when Search Modes differs per item', async () => {
		const result = await exec(
			[
				{ question: 'socketTimeoutMs', expected: 'timeouts', modes: ['keyword', 'vector'] },
				{ question: 'client logs request debug', expected: 'logging', modes: ['keyword'] },
			],
			{ operation: 'evaluate', searchMode: '={{ $json.modes }}' },
		);
		expect(result.status).toBe('success');
		const summary = result.outputs.KB[1][0].json as Json;
		expect(Object.keys(summary.modes)).toEqual(['keyword']);
		expect(summary).toMatchObject({ questions: 2, failed: 0 });
	});

	it('without Continue On Fail, an item without expected sources fails the run with its index', async () => {
		const result = await exec(
			[
				{ question: 'socketTimeoutMs', expected: 'timeouts' },
				{ question: 'retries', expected: ' | ' },
			],
			{ operation: 'evaluate' },
		);
		expect(result.status).toBe('error');
		const error = result.nodeErrors.KB as NodeOperationError;
		expect(error.message).toMatch(/Expected sources are empty/);
		expect(error.context.itemIndex).toBe(1);
	});
});
