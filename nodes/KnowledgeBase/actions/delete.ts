import { updateDisplayOptions, type INodeProperties } from 'n8n-workflow';

import { RagError } from '../../../lib/rag';
import { jsonObject, keywordIndexWriteField } from '../../shared/fields/knowledgeBase';
import { locatorValue } from '../../shared/fields/locators';
import { chromaStore } from '../../shared/clients/chroma';
import { sharedKeywordIndexFor } from '../../shared/clients/keywordIndex';
import type { KnowledgeBaseOperation } from './types';

const properties: INodeProperties[] = [
	{
		displayName: 'Delete By',
		name: 'deleteBy',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Source', value: 'source', description: 'Every chunk of the given sources' },
			{
				name: 'Metadata Filter',
				value: 'filter',
				description: 'Every chunk matching a Chroma "where" filter',
			},
			{
				name: 'Entire Knowledge Base',
				value: 'knowledgeBase',
				description: 'The knowledge base itself, with all its chunks',
			},
		],
		default: 'source',
	},
	{
		displayName: 'Source IDs',
		name: 'sourceIds',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. guide.md, faq.md',
		description: 'Comma-separated source IDs (or an array from an expression)',
		displayOptions: { show: { deleteBy: ['source'] } },
	},
	{
		displayName: 'Metadata Filter',
		name: 'filter',
		type: 'json',
		default: '{}',
		required: true,
		description: 'Chroma "where" filter, e.g. {"team": "billing"} or {"year": {"$lt": 2024}}',
		displayOptions: { show: { deleteBy: ['filter'] } },
	},
	keywordIndexWriteField,
];

export const description = updateDisplayOptions({ show: { operation: ['delete'] } }, properties);

function sourceList(value: unknown): string[] {
	const list = Array.isArray(value) ? value.map(String) : String(value ?? '').split(',');
	return [...new Set(list.map((s) => s.trim()).filter(Boolean))];
}

/** Output: { knowledgeBase, deleted } (chunks removed; for the entire knowledge base, its chunk count before). */
export const execute: KnowledgeBaseOperation = async (run, settings) => {
	const { itemIndex } = settings;
	const { fn } = run;
	const knowledgeBase = locatorValue(fn.getNodeParameter('knowledgeBase', itemIndex));
	const deleteBy = fn.getNodeParameter('deleteBy', itemIndex) as string;
	const store = chromaStore(run.connection, settings, await sharedKeywordIndexFor(fn, itemIndex));
	const kb = await store.open(knowledgeBase);
	if (deleteBy === 'knowledgeBase') {
		const deleted = await kb.count();
		await store.drop(knowledgeBase);
		return { knowledgeBase, deleted, knowledgeBaseDeleted: true };
	}
	let ids: string[];
	if (deleteBy === 'filter') {
		const where = jsonObject(fn.getNodeParameter('filter', itemIndex), 'Metadata Filter');
		if (!where)
			throw new RagError(
				'INVALID_FILTER',
				'The metadata filter is empty: it would match every chunk. Use "Entire Knowledge Base" to delete everything.',
			);
		ids = await kb.idsWhere(where as never);
	} else {
		const sources = sourceList(fn.getNodeParameter('sourceIds', itemIndex));
		if (!sources.length) throw new RagError('INVALID_OPTIONS', 'No source IDs given');
		ids = [...(await kb.idsBySource(sources)).values()].flat();
	}
	await kb.deleteIds(ids);
	return { knowledgeBase, deleted: ids.length };
};
