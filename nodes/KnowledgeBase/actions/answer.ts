import { updateDisplayOptions, type IDataObject, type INodeProperties } from 'n8n-workflow';

import { createChatModel } from '../../../lib/llm';
import { answerFromChunks } from '../../../lib/rag';
import { addUsageToExecution, llmCallOptions, usageTracker } from '../../shared/llm';
import { chatModelOption, locatorValue } from '../../shared/locators';
import { sortedByName } from '../../shared/descriptions';
import {
	rerankerField,
	retrievalOptions,
	searchModeField,
	topKField,
} from '../../shared/knowledgeBaseFields';
import { retrieveForItem } from '../../shared/retrieval';
import type { ItemOperation } from './types';

const properties: INodeProperties[] = [
	{
		displayName: 'Question',
		name: 'question',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. What is the default connect timeout?',
		description:
			'Answered by the chat model from the retrieved chunks only, with numbered citations',
	},
	searchModeField,
	topKField,
	rerankerField,
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: sortedByName([
			...chatModelOption("Overrides the credential's chat model"),
			{
				displayName: 'Instructions',
				name: 'instructions',
				type: 'string',
				typeOptions: { rows: 3 },
				default: '',
				description:
					'Extra instructions for the answer (tone, length, language); the rules about context and citations always apply',
			},
			{
				displayName: 'Temperature',
				name: 'temperature',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 2, numberPrecision: 2 },
				default: 0,
			},
			...retrievalOptions,
		]),
	},
];

export const description = updateDisplayOptions({ show: { operation: ['answer'] } }, properties);

/**
 * Output: { question, answer, found, citations: [{ n, source, chunkIndex, headingPath, page?, score, text }],
 * sources, invalidCitations, usage: { promptTokens, completionTokens, totalTokens, modelCalls, cost, currency, model, rateLimitWaitMs, ... } }.
 */
export const execute: ItemOperation = async (run, itemIndex) => {
	const { fn } = run;
	const question = fn.getNodeParameter('question', itemIndex) as string;
	const options = fn.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const usage = usageTracker(run.llm);
	const chunks = await retrieveForItem({ ...run, llm: run.llm!, usage }, itemIndex, question);
	const model = createChatModel(run.llm!, {
		model: locatorValue(options.chatModel) || undefined,
		temperature: (options.temperature as number) ?? 0,
	});
	const answer = await answerFromChunks(model, question, chunks, {
		...llmCallOptions(fn, itemIndex, run.llm!),
		usage,
		instructions: options.instructions as string | undefined,
	});
	addUsageToExecution(fn, usage.get());
	return { question, ...answer, usage: { ...usage.get() } } as unknown as IDataObject;
};
