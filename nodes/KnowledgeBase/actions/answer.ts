import { updateDisplayOptions, type IDataObject, type INodeProperties } from 'n8n-workflow';

import { createChatModel } from '../../../lib/llm';
import { answerFromChunks } from '../../../lib/rag';
import { llmCallOptions } from '../../shared/clients/llmApi';
import { chatModelOption, locatorValue } from '../../shared/fields/locators';
import { retrievalFields } from '../../shared/fields/knowledgeBase';
import { retrieveForItem } from '../../shared/ai/retriever';
import type { KnowledgeBaseOperation } from './types';

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
	...retrievalFields([
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
	]),
];

export const description = updateDisplayOptions({ show: { operation: ['answer'] } }, properties);

/**
 * Output: { question, answer, found, citations: [{ n, source, chunkIndex, headingPath, page?, score, text }],
 * sources, invalidCitations, usage: { promptTokens, completionTokens, totalTokens, modelCalls, cost, currency, model, rateLimitWaitMs, ... } }.
 */
export const execute: KnowledgeBaseOperation = async (run, settings) => {
	const { itemIndex } = settings;
	const { fn } = run;
	const question = fn.getNodeParameter('question', itemIndex) as string;
	const { options, usage } = settings;
	const chunks = await retrieveForItem({ ...run, llm: run.llm!, usage }, settings, question);
	const model = createChatModel(run.llm!, {
		model: locatorValue(options.chatModel) || undefined,
		temperature: (options.temperature as number) ?? 0,
	});
	const answer = await answerFromChunks(model, question, chunks, {
		...llmCallOptions(settings, run.llm!),
		usage,
		instructions: options.instructions as string | undefined,
	});
	return { question, ...answer, usage: { ...usage.get() } } as unknown as IDataObject;
};
