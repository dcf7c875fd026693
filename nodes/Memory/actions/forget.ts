import { updateDisplayOptions, type INodeProperties } from 'n8n-workflow';

import { subjectParameter, type FactOperation } from './types';

const properties: INodeProperties[] = [
	{
		displayName: 'Forget',
		name: 'forgetWhat',
		type: 'options',
		options: [
			{
				name: 'One Fact',
				value: 'fact',
				description: 'The fact with this ID and the history it replaced',
			},
			{
				name: 'Everything About the Subject',
				value: 'subject',
				description: 'Every fact about the subject, history included (erasure on request)',
			},
		],
		default: 'fact',
	},
	{
		displayName: 'Fact ID',
		name: 'factId',
		type: 'string',
		default: '',
		required: true,
		displayOptions: { show: { forgetWhat: ['fact'] } },
		description: 'The ID of a fact about this subject (as Remember, Recall and List return it)',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['longTermMemory'], operation: ['forget'] } },
	properties,
);

/** Output: { subject, removed, id? } — removed: how many stored facts were deleted (0 when there were none). */
export const execute: FactOperation = async ({ fn }, { facts, itemIndex }) => {
	const subject = subjectParameter(fn, itemIndex);
	if (fn.getNodeParameter('forgetWhat', itemIndex) === 'subject')
		return { subject, removed: await facts.forgetSubject(subject) };
	const id = String(fn.getNodeParameter('factId', itemIndex) ?? '').trim();
	return { subject, id, removed: await facts.forget(subject, id) };
};
