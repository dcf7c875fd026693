import type { INodeProperties } from 'n8n-workflow';

import { chromaStore } from '../../shared/clients/chroma';
import { locatorValue } from '../../shared/fields/locators';
import type { KnowledgeBaseOperation } from './types';

export const description: INodeProperties[] = [
	{
		displayName: 'Include Sources',
		name: 'includeSources',
		type: 'boolean',
		default: false,
		description: 'Whether to list every source with its chunk count',
		displayOptions: { show: { operation: ['stats'] } },
	},
];

/** Output: { knowledgeBase, chunks, sources, dimension, sourceCounts? } (dimension null while empty). */
export const execute: KnowledgeBaseOperation = async (run, settings) => {
	const { itemIndex } = settings;
	const { fn } = run;
	const knowledgeBase = locatorValue(fn.getNodeParameter('knowledgeBase', itemIndex));
	const kb = await chromaStore(run.connection, settings).open(knowledgeBase);
	const [counts, dimension] = await Promise.all([kb.sourceCounts(), kb.dimension()]);
	const chunks = [...counts.values()].reduce((a, b) => a + b, 0);
	const out = { knowledgeBase, chunks, sources: counts.size, dimension: dimension ?? null };
	if (!fn.getNodeParameter('includeSources', itemIndex, false)) return out;
	const sourceCounts = [...counts]
		.sort(([a], [b]) => a.localeCompare(b))
		.map(([source, n]) => ({ source, chunks: n }));
	return { ...out, sourceCounts };
};
