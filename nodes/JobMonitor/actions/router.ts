/**
 * Runs the chosen operation for every item. Errors become NodeOperationError with the item index and a hint for the
 * cause, or error items ({ error, code }) with continueOnFail; every output item has pairedItem.
 */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { JobsErrorCode } from '../../../lib/jobs';
import { operationSpan, runItems } from '../../shared/runtime/itemLoop';
import { readItemSettings } from '../../shared/runtime/itemSettings';
import * as getJob from './getJob';
import * as listJobs from './listJobs';
import * as prometheus from './prometheus';
import * as queue from './queue';
import * as renderDashboard from './renderDashboard';
import * as retryJob from './retryJob';
import * as stats from './stats';
import type { JobMonitorOperation, JobMonitorRun } from './types';
import * as waitForJob from './waitForJob';

const operations: Record<string, JobMonitorOperation> = {
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
		'Create an API key in n8n (Settings → n8n API) and put it in the OpenAgents Instance API credential.',
	API_UNAVAILABLE:
		'Check the Base URL of the OpenAgents Instance API credential: it ends in /api/v1.',
	NOT_FOUND:
		'Check the execution or workflow ID, and that the API key’s owner can see that workflow.',
	FORBIDDEN: 'The API key lacks the scope for this call, or its owner cannot access the workflow.',
	QUEUE_UNAVAILABLE:
		'Queue depth needs the Redis of the n8n cluster, or main’s /metrics with queue metrics on. Other operations still work.',
	WAIT_TIMEOUT: 'Raise the timeout, or check that workers are running.',
};

export async function route(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	const run: JobMonitorRun = { fn: this };
	return runItems(this, {
		errors: { hints: HINTS, fallback: `Job Monitor "${operation}" failed.` },
		span: () => operationSpan(this, operation),
		settings: (itemIndex) => readItemSettings(this, itemIndex),
		run: (settings) => operations[operation](run, settings),
	});
}
