import { updateDisplayOptions, type IDataObject, type INodeProperties } from 'n8n-workflow';

import { retryJob } from '../../../lib/jobs';
import { NoRetryPolicy } from '../../../lib/retry';
import { apiClient } from '../../shared/clients/n8nApi';
import { executionIdField, type JobMonitorOperation } from './types';

const properties: INodeProperties[] = [
	{ ...executionIdField, description: 'ID of a failed or crashed execution' },
	{
		displayName: 'Attempts',
		name: 'retryMode',
		type: 'options',
		options: [
			{ name: 'Once, Now', value: 'once' },
			{
				name: 'Under the Retry Policy',
				value: 'policy',
				description:
					'Up to Max Retries + 1 attempts, waiting the policy’s delay before each; stops at the first success',
			},
		],
		default: 'once',
	},
	{
		displayName: 'Use Current Workflow Version',
		name: 'loadWorkflow',
		type: 'boolean',
		default: false,
		description:
			'Whether to retry with the workflow as saved now instead of as it was when the execution ran',
	},
	{
		displayName: 'Execution Timeout (Seconds)',
		name: 'executionTimeoutSeconds',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 600,
		description: 'How long to wait for each retried execution to finish',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['retryJob'] } }, properties);

/**
 * Output: { originalExecutionId, succeeded, finalExecutionId, finalStatus, attempts: [{ attempt, retriedExecutionId,
 * executionId, status, delayMs, error? }] }.
 */
export const execute: JobMonitorOperation = async ({ fn }, settings) => {
	const { itemIndex } = settings;
	const id = String(fn.getNodeParameter('executionId', itemIndex)).trim();
	const policy =
		fn.getNodeParameter('retryMode', itemIndex) === 'policy'
			? settings.retryPolicy
			: new NoRetryPolicy();
	const result = await retryJob(await apiClient(fn, settings), id, {
		policy,
		loadWorkflow: fn.getNodeParameter('loadWorkflow', itemIndex, false) as boolean,
		signal: settings.signal,
		executionTimeoutMs:
			(fn.getNodeParameter('executionTimeoutSeconds', itemIndex, 600) as number) * 1000,
	});
	return { ...result, policy: policy.toJSON() } as unknown as IDataObject;
};
