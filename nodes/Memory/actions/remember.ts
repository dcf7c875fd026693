import { updateDisplayOptions, type INodeProperties } from 'n8n-workflow';

import type { FactMetadata } from '../../../lib/memory/facts';
import { runProvenance } from '../../shared/clients/facts';
import { factJson, jsonParameter, subjectParameter, type FactOperation } from './types';

const properties: INodeProperties[] = [
	{
		displayName: 'Fact',
		name: 'factText',
		type: 'string',
		typeOptions: { rows: 2 },
		default: '',
		required: true,
		placeholder: 'e.g. Prefers e-mail over phone calls',
		description: 'One durable fact about the subject, as a sentence',
	},
	{
		displayName: 'Metadata',
		name: 'factMetadata',
		type: 'json',
		default: '{}',
		description:
			'Flat JSON object (text, number or boolean values) stored with the fact; Recall can filter on it',
	},
	{
		displayName: 'Message ID',
		name: 'messageId',
		type: 'string',
		default: '',
		placeholder: 'e.g. {{ $json.messageId }}',
		description: 'The message the fact came from, kept in its provenance (optional)',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['longTermMemory'], operation: ['remember'] } },
	properties,
);

/**
 * Output: the stored fact { id, subject, text, metadata, createdAt, confirmedAt, provenance } — the existing one,
 * confirmed, when the subject already has this fact.
 */
export const execute: FactOperation = async ({ fn }, { facts, itemIndex }) => {
	const messageId = String(fn.getNodeParameter('messageId', itemIndex, '') ?? '').trim();
	const fact = await facts.remember(
		subjectParameter(fn, itemIndex),
		fn.getNodeParameter('factText', itemIndex) as string,
		{
			metadata: jsonParameter(fn, 'factMetadata', itemIndex) as FactMetadata,
			provenance: {
				source: 'remember',
				...runProvenance(fn),
				...(messageId && { messageId }),
			},
		},
	);
	return factJson(fact);
};
