/**
 * Runs the chosen operation for every item. Errors become NodeOperationError with the item index and a hint for the
 * cause, or error items ({ error, code }) with continueOnFail; every output item has pairedItem.
 */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { JobsErrorCode } from '../../../lib/jobs';
import { failedItem } from '../../shared/itemError';
import * as getJob from './getJob';
import * as listJobs from './listJobs';
import * as prometheus from './prometheus';
import * as queue from './queue';
import * as renderDashboard from './renderDashboard';
import * as retryJob from './retryJob';
import * as stats from './stats';
import type { OperationExecute } from './types';
import * as waitForJob from './waitForJob';

const operations: Record<string, OperationExecute> = {
	getJob: getJob.execute,
	listJobs: listJobs.execute,
	stats: stats.execute,
	queue: queue.execute,
	renderDashboard: renderDashboard.execute,
	prometheus: prometheus.execute,
	waitForJob: waitForJob.execute,
	retryJob: retryJob.execute,
};

const HINTS: Partial<Record<JobsErrorCode, string>> = {
	UNAUTHORIZED:
		'Create an API key in n8n (Settings → n8n API) and put it in the OpenAgents n8n API credential.',
	API_UNAVAILABLE: 'Check the Base URL of the OpenAgents n8n API credential: it ends in /api/v1.',
	NOT_FOUND:
		'Check the execution or workflow ID, and that the API key’s owner can see that workflow.',
	FORBIDDEN: 'The API key lacks the scope for this call, or its owner cannot access the workflow.',
	QUEUE_UNAVAILABLE:
		'Queue depth needs the Redis of the n8n cluster, or main’s /metrics with queue metrics on. Other operations still work.',
	WAIT_TIMEOUT: 'Raise the timeout, or check that workers are running.',
};

export async function route(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const operation = this.getNodeParameter('operation', 0) as string;
	const out: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			const result = await operations[operation](this, itemIndex);
			for (const json of Array.isArray(result) ? result : [result])
				out.push({ json, pairedItem: { item: itemIndex } });
		} catch (error) {
			out.push(
				failedItem(this, error, itemIndex, {
					hints: HINTS,
					fallback: `Job Monitor "${operation}" failed.`,
				}),
			);
		}
	}
	return [out];
}
