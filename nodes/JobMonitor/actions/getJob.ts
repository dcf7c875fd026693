import { updateDisplayOptions, type IDataObject, type INodeProperties } from 'n8n-workflow';

import { nodeOutput, toJob } from '../../../lib/jobs';
import { apiClient } from '../../shared/clients/n8nApi';
import { executionIdField, type JobMonitorOperation } from './types';

const properties: INodeProperties[] = [
	{ ...executionIdField },
	{
		displayName: 'Include Output of Nodes',
		name: 'nodeNames',
		type: 'string',
		default: '',
		placeholder: 'e.g. Summarize, HTTP Request',
		description:
			'Comma-separated node names whose output items to return under "output"; the error and last node are always returned',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['getJob'] } }, properties);

/** Output: Job { id, workflowId, status, finished, mode, startedAt, stoppedAt, durationMs, retryOf, retrySuccessId, error?, lastNode, output? }. */
export const execute: JobMonitorOperation = async ({ fn }, settings) => {
	const { itemIndex } = settings;
	const id = String(fn.getNodeParameter('executionId', itemIndex)).trim();
	const names = String(fn.getNodeParameter('nodeNames', itemIndex, ''))
		.split(',')
		.map((n) => n.trim())
		.filter(Boolean);
	const execution = await (await apiClient(fn, settings)).getExecution(id, { includeData: true });
	const job: IDataObject = { ...toJob(execution) };
	if (names.length)
		job.output = Object.fromEntries(
			names.map((name) => [name, nodeOutput(execution, name) ?? null]),
		) as IDataObject;
	return job;
};
