import { updateDisplayOptions, type IDataObject, type INodeProperties } from 'n8n-workflow';

import {
	analyze,
	FAILED_STATUSES,
	jobStats,
	summarize,
	toJob,
	type ExecutionSummary,
	type Job,
} from '../../../lib/jobs';
import { apiClient } from '../../shared/clients/n8nApi';
import { filterFields, filterOf } from './listJobs';
import type { JobMonitorOperation } from './types';

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
	{
		displayName: 'Include Usage and Cost',
		name: 'includeUsage',
		type: 'boolean',
		default: false,
		description:
			'Whether to read every counted execution with its data, for the model calls, tokens, cost, retries and tool errors OpenAgents nodes record in it (slower: pages of 50)',
	},
	{
		displayName: 'Series Interval (Minutes)',
		name: 'bucketMinutes',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description:
			'Also return the window cut into intervals of this many minutes (executions by status, duration p50/p95, tokens and cost per workflow); 0 = no series',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['stats'] } }, properties);

/**
 * Output: { workflowId, total, byStatus, ended, successRate, durationMs { p50, p95, max, mean }, throughputPerMinute,
 * window { from, to }, failures [{ node, message, count, executionIds }] }; with Include Usage and Cost also
 * usage { executions, modelCalls, promptTokens, completionTokens, totalTokens, cost, retries, toolErrors }; with a
 * Series Interval also series [{ start, byStatus, durationP50, durationP95, tokensByWorkflow, costByWorkflow }].
 */
export const execute: JobMonitorOperation = async ({ fn }, settings) => {
	const { itemIndex } = settings;
	const client = await apiClient(fn, settings);
	const filter = filterOf(fn, itemIndex);
	const maxExecutions = fn.getNodeParameter('maxExecutions', itemIndex, 1000) as number;
	const includeUsage = fn.getNodeParameter('includeUsage', itemIndex, false) as boolean;
	const bucketMinutes = fn.getNodeParameter('bucketMinutes', itemIndex, 0) as number;

	let jobs: ExecutionSummary[];
	if (includeUsage) {
		jobs = [];
		for await (const execution of client.executions({ ...filter, includeData: true }, 50)) {
			jobs.push(summarize(execution));
			if (jobs.length >= maxExecutions) break;
		}
	} else {
		jobs = (await client.listExecutions(filter, maxExecutions)).map(toJob);
		if (
			fn.getNodeParameter('groupFailures', itemIndex, true) &&
			jobs.some((j) => FAILED_STATUSES.has(j.status))
		)
			await addFailureDetails(client, filter, jobs);
	}

	const windowMinutes = fn.getNodeParameter('windowMinutes', itemIndex, 60) as number;
	const to = new Date().toISOString();
	const window = windowMinutes > 0 ? { from: filter.startedAfter, to } : {};
	const result: IDataObject = {
		workflowId: filter.workflowId ?? null,
		...(jobStats(jobs, window) as unknown as IDataObject),
	};
	if (includeUsage || bucketMinutes > 0) {
		const starts = jobs
			.map((j) => j.startedAt)
			.filter((t): t is string => !!t)
			.sort();
		// Without a time limit the window starts at the oldest counted execution (a minute when there is none).
		const from =
			filter.startedAfter ?? starts[0] ?? new Date(Date.parse(to) - 60_000).toISOString();
		const bucketMs =
			bucketMinutes > 0 ? bucketMinutes * 60_000 : Date.parse(to) - Date.parse(from) + 1;
		const analytics = analyze(jobs, { from, to, bucketMs: Math.max(bucketMs, 1000) });
		if (includeUsage) result.usage = { ...analytics.usage };
		if (bucketMinutes > 0) result.series = analytics.series as unknown as IDataObject[];
	}
	return result;
};

/** Reads the data of failed executions (up to 250 per status) for their error and node. */
async function addFailureDetails(
	client: Awaited<ReturnType<typeof apiClient>>,
	filter: ReturnType<typeof filterOf>,
	jobs: Job[],
): Promise<void> {
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
