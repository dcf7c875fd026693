import {
	updateDisplayOptions,
	type IDataObject,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import {
	expectedSources,
	RagError,
	scoreQuestion,
	summarize,
	type ModeRun,
	type QuestionScores,
	type SearchMode,
} from '../../../lib/rag';
import { retrieveForItem } from '../../shared/ai/retriever';
import {
	keywordIndexField,
	rerankerField,
	retrievalOptions,
	SEARCH_MODE_OPTIONS,
} from '../../shared/fields/knowledgeBase';
import { locatorValue } from '../../shared/fields/locators';
import { sortedByName } from '../../shared/fields/sortedByName';
import type { KnowledgeBaseOperation, KnowledgeBaseRun } from './types';

/** Chunks retrieved per mode: hit@10 needs the first 10. */
const EVALUATION_TOP_K = 10;

const properties: INodeProperties[] = [
	{
		displayName: 'Question Field',
		name: 'questionField',
		type: 'string',
		default: 'question',
		required: true,
		description: "The input item's field that holds the question",
	},
	{
		displayName: 'Expected Field',
		name: 'expectedField',
		type: 'string',
		default: 'expected',
		required: true,
		description:
			'The input item\'s field that holds the sources that answer the question: a source ID or a part of one (e.g. "guide/install.md" or "install"), several as a list or separated by "|". A retrieved chunk matches when its source contains one of them (case-sensitive).',
	},
	{
		displayName: 'Search Modes',
		name: 'searchMode',
		type: 'multiOptions',
		options: SEARCH_MODE_OPTIONS,
		default: ['hybrid', 'keyword', 'vector'],
		description: 'The search modes to compare; each retrieves the top 10 chunks per question',
	},
	keywordIndexField,
	{
		...rerankerField,
		description:
			'Whether to also evaluate each search mode reranked (reported as e.g. hybridReranked)',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: sortedByName(retrievalOptions),
	},
];

export const description = updateDisplayOptions({ show: { operation: ['evaluate'] } }, properties);

/** The modes the item compares: each chosen search mode, and reranked too when Rerank Results asks for it. */
function modesOf(run: KnowledgeBaseRun, itemIndex: number) {
	const chosen = run.fn.getNodeParameter('searchMode', itemIndex, []) as SearchMode[];
	if (!Array.isArray(chosen) || !chosen.length)
		throw new RagError('INVALID_OPTIONS', 'Choose at least one search mode to evaluate');
	const reranker = run.fn.getNodeParameter('reranker', itemIndex, 'none') as string;
	return [
		...chosen.map((mode) => ({ name: mode, mode, reranker: 'none' })),
		...(reranker === 'none'
			? []
			: chosen.map((mode) => ({ name: `${mode}Reranked`, mode, reranker }))),
	];
}

/** The distinct sources of ranked results, best first. */
const distinct = (sources: readonly string[]) => [...new Set(sources)];

/**
 * One question: { question, expected, modes: { <mode>: { rank, reciprocalRank, hitAt1, hitAt4, hitAt10, latencyMs,
 * topSources } } } per search mode (rank null when no chunk of an expected source is in the top 10; latency of the
 * retrieval call in ms, query embedding included). Goes to the Questions output.
 */
export const execute: KnowledgeBaseOperation = async (run, settings) => {
	const { itemIndex, options, usage } = settings;
	const { fn } = run;
	const json = fn.getInputData()[itemIndex].json;
	const questionField = fn.getNodeParameter('questionField', itemIndex) as string;
	const expectedField = fn.getNodeParameter('expectedField', itemIndex) as string;
	const question = json[questionField];
	if (typeof question !== 'string' || !question.trim())
		throw new RagError(
			'INVALID_OPTIONS',
			`The item has no question in its "${questionField}" field`,
		);
	const expected = expectedSources(json[expectedField]);
	const knowledgeBase = locatorValue(fn.getNodeParameter('knowledgeBase', itemIndex));

	const runs: Record<string, ModeRun> = {};
	const topSources: Record<string, string[]> = {};
	for (const { name, mode, reranker } of modesOf(run, itemIndex)) {
		const started = performance.now();
		const chunks = await retrieveForItem({ ...run, llm: run.llm!, usage }, settings, question, {
			knowledgeBase,
			topK: EVALUATION_TOP_K,
			mode,
			reranker,
			options,
		});
		runs[name] = {
			sources: chunks.map((c) => c.source),
			latencyMs: Math.round(performance.now() - started),
		};
		topSources[name] = distinct(runs[name].sources);
	}
	const scores = scoreQuestion(expected, runs);
	const modes: IDataObject = {};
	for (const name of Object.keys(scores))
		modes[name] = { ...scores[name], topSources: topSources[name] };
	return { question, expected, modes };
};

/**
 * The modes every scored question has, in the first one's order. Read from the questions, not the parameter: Search
 * Modes may be an expression that differs per item, or invalid (its items then failed, and are counted as failed).
 */
function commonModes(scored: INodeExecutionData[]): string[] {
	const [first = [], ...rest] = scored.map((item) => Object.keys(item.json.modes as IDataObject));
	return first.filter((mode) => rest.every((modes) => modes.includes(mode)));
}

/**
 * The Summary output's one item, from the Questions output: { questions, failed, topK, modes: { <mode>: { questions,
 * hitAt1, hitAt4, hitAt10, mrr, latencyMs: { p50, p95 } } }, bestMode } (see lib/rag/evaluate for the metrics and
 * the tie rule); failed questions (error items) are counted, not scored. Paired with every input item.
 */
export function summaryItem(
	run: KnowledgeBaseRun,
	questions: INodeExecutionData[],
): INodeExecutionData {
	const inputs = run.fn.getInputData().length;
	const scored = questions.filter((item) => !item.json.error);
	const modes = commonModes(scored);
	const summary = summarize(
		scored.map((item) => item.json.modes as unknown as QuestionScores),
		modes,
	);
	return {
		json: {
			...summary,
			failed: questions.length - scored.length,
			topK: EVALUATION_TOP_K,
		} as unknown as IDataObject,
		pairedItem: Array.from({ length: inputs }, (_, item) => ({ item })),
	};
}
