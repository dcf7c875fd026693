import {
	updateDisplayOptions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeProperties,
} from 'n8n-workflow';

import {
	EXECUTION_STATUSES,
	toJob,
	type ExecutionFilter,
	type ExecutionStatus,
} from '../../../lib/jobs';
import { locatorValue, versionedPicker, workflowPicker } from '../../shared/fields/locators';
import { apiClient } from '../../shared/clients/n8nApi';
import type { JobMonitorOperation } from './types';

const statusOptions = EXECUTION_STATUSES.filter((s) => s !== 'unknown' && s !== 'new').map(
	(value) => ({ name: value[0].toUpperCase() + value.slice(1), value }),
);

const workflowIdText: INodeProperties = {
	displayName: 'Workflow ID',
	name: 'workflowId',
	type: 'string',
	default: '',
	placeholder: 'e.g. 4Jk2mQ9xV1nR8sT0',
	hint: 'The ID in the workflow’s URL; {{ $workflow.id }} is this workflow',
	description: 'Only executions of this workflow; empty = all workflows the API key can see',
};

/** The Workflow filter (text at version 1, picker from 1.1), read with locatorValue. */
export const workflowFields = (operation: string): INodeProperties[] =>
	updateDisplayOptions(
		{ show: { operation: [operation] } },
		versionedPicker(workflowIdText, workflowPicker(workflowIdText)),
	);

/** Workflow and time-window filters shared by List Jobs and Stats. */
export const filterFields = (operation: string): INodeProperties[] => [
	...workflowFields(operation),
	{
		displayName: 'Started Within (Minutes)',
		name: 'windowMinutes',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 60,
		description: 'Only executions that started this many minutes ago or later; 0 = no time limit',
		displayOptions: { show: { operation: [operation] } },
	},
];

const properties: INodeProperties[] = [
	...filterFields('listJobs'),
	{
		displayName: 'Status',
		name: 'status',
		type: 'options',
		options: [{ name: 'Any', value: '' }, ...statusOptions],
		default: '',
		description: 'Only executions with this status; Crashed = a worker or main died while it ran',
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['listJobs'] } }, properties);

/** The API filter for an item's Workflow ID and Started Within (Minutes). */
export function filterOf(
	fn: IExecuteFunctions,
	itemIndex: number,
): ExecutionFilter & { startedAfter?: string } {
	const workflowId = locatorValue(fn.getNodeParameter('workflowId', itemIndex, '')) || undefined;
	const minutes = fn.getNodeParameter('windowMinutes', itemIndex, 60) as number;
	return {
		workflowId,
		...(minutes > 0 ? { startedAfter: new Date(Date.now() - minutes * 60_000).toISOString() } : {}),
	};
}

/** Output: one item per job, newest first. */
export const execute: JobMonitorOperation = async ({ fn }, settings) => {
	const { itemIndex } = settings;
	const status =
		(fn.getNodeParameter('status', itemIndex, '') as ExecutionStatus | '') || undefined;
	const limit = fn.getNodeParameter('limit', itemIndex, 50) as number;
	const client = await apiClient(fn, settings);
	const executions = await client.listExecutions({ ...filterOf(fn, itemIndex), status }, limit);
	return executions.map((e) => ({ ...toJob(e) }) as IDataObject);
};
