import { updateDisplayOptions, type IDataObject, type INodeProperties } from 'n8n-workflow';

import { FAILED_STATUSES, jobStats, toJob, type Job } from '../../../lib/jobs';
import { apiClient } from '../../shared/n8nApi';
import { filterFields, filterOf } from './listJobs';
import type { OperationExecute } from './types';

const properties: INodeProperties[] = [
	...filterFields('stats'),
	{
		displayName: 'Max Executions',
		name: 'maxExecutions',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 1000,
		description: 'The newest executions in the window that are counted',
	},
	{
		displayName: 'Group Failures',
		name: 'groupFailures',
		type: 'boolean',
		default: true,
		description:
			'Whether to read the data of failed executions (up to 250) to group them by node and error message',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['stats'] } }, properties);

/**
 * Output: { workflowId, total, byStatus, ended, successRate, durationMs { p50, p95, max, mean }, throughputPerMinute,
 * window { from, to }, failures [{ node, message, count, executionIds }] }.
 */
export const execute: OperationExecute = async (fn, itemIndex) => {
	const client = await apiClient(fn, itemIndex);
	const filter = filterOf(fn, itemIndex);
	const jobs: Job[] = (
		await client.listExecutions(
			filter,
			fn.getNodeParameter('maxExecutions', itemIndex, 1000) as number,
		)
	).map(toJob);
	if (
		fn.getNodeParameter('groupFailures', itemIndex, true) &&
		jobs.some((j) => FAILED_STATUSES.has(j.status))
	) {
		const byId = new Map(jobs.map((j) => [j.id, j]));
		for (const status of FAILED_STATUSES) {
			for (const failed of await client.listExecutions(
				{ ...filter, status, includeData: true },
				250,
			)) {
				const job = byId.get(String(failed.id));
				if (job) Object.assign(job, toJob(failed));
			}
		}
	}
	const windowMinutes = fn.getNodeParameter('windowMinutes', itemIndex, 60) as number;
	const window =
		windowMinutes > 0 ? { from: filter.startedAfter, to: new Date().toISOString() } : {};
	return {
		workflowId: filter.workflowId ?? null,
		...jobStats(jobs, window),
	} as unknown as IDataObject;
};
