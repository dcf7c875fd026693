import { updateDisplayOptions, type IDataObject, type INodeProperties } from 'n8n-workflow';

import { waitForJob } from '../../../lib/jobs';
import { apiClient } from '../../shared/clients/n8nApi';
import { executionIdField, type JobMonitorOperation } from './types';

const properties: INodeProperties[] = [
	{ ...executionIdField },
	{
		displayName: 'Poll Interval (Seconds)',
		name: 'intervalSeconds',
		type: 'number',
		typeOptions: { minValue: 0.1, numberPrecision: 1 },
		default: 2,
	},
	{
		displayName: 'Timeout (Seconds)',
		name: 'timeoutSeconds',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 300,
		description: 'Fail the item when the execution has not finished by then',
	},
];

export const description = updateDisplayOptions(
	{ show: { operation: ['waitForJob'] } },
	properties,
);

/** Output: the finished Job, with its error when it failed. Stops at once when this execution is cancelled. */
export const execute: JobMonitorOperation = async ({ fn }, settings) => {
	const { itemIndex } = settings;
	const id = String(fn.getNodeParameter('executionId', itemIndex)).trim();
	const job = await waitForJob(await apiClient(fn, settings), id, {
		intervalMs: (fn.getNodeParameter('intervalSeconds', itemIndex, 2) as number) * 1000,
		timeoutMs: (fn.getNodeParameter('timeoutSeconds', itemIndex, 300) as number) * 1000,
		signal: settings.signal,
		includeData: true,
	});
	return { ...job } as IDataObject;
};
