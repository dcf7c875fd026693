import { updateDisplayOptions, type IDataObject, type INodeProperties } from 'n8n-workflow';

import { indexRollup, opsSnapshot, prometheusMetrics } from '../../../lib/jobs';
import { locatorValue } from '../../shared/fields/locators';
import { workflowFields } from './listJobs';
import { partStatus, snapshotOptions, withOpsSources } from './opsSource';
import type { JobMonitorOperation } from './types';

const properties: INodeProperties[] = [
	...workflowFields('prometheus'),
	{
		displayName: 'Count From (Days Ago)',
		name: 'countDays',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 7,
		description:
			'The counters start with the executions of this many days ago, and keep counting from there on every scrape',
	},
	snapshotOptions('prometheus'),
];

export const description = updateDisplayOptions(
	{ show: { operation: ['prometheus'] } },
	properties,
);

/**
 * Output: { metrics (Prometheus text exposition format 0.0.4), contentType, executions, panels }. Answer the scrape
 * with Respond to Webhook (Text, {{ $json.metrics }}, header Content-Type {{ $json.contentType }}). A part that failed
 * (queue, workers) is left out of the metrics and named under `panels`; failing to read executions fails the item.
 */
export const execute: JobMonitorOperation = async ({ fn }, settings) => {
	const { itemIndex } = settings;
	const workflowId = locatorValue(fn.getNodeParameter('workflowId', itemIndex, '')) || undefined;
	const days = fn.getNodeParameter('countDays', itemIndex, 7) as number;
	const { options } = settings;
	const from = new Date(Date.now() - days * 86_400_000).toISOString();
	const { executions, queue, workers, workflows } = await withOpsSources(
		fn,
		settings,
		({ n8nUrl: _n8nUrl, cacheError: _cacheError, ...sources }) =>
			opsSnapshot({ ...sources, from, workflowId }),
	);
	if ('error' in executions) throw executions.cause;
	const { text, contentType } = await prometheusMetrics({
		workflows: indexRollup(executions.data),
		indexFrom: executions.data.since,
		workflowNames: new Map('data' in workflows ? workflows.data.map((w) => [w.id, w.name]) : []),
		queue: 'data' in queue ? queue.data : undefined,
		workers: 'data' in workers ? workers.data : undefined,
		currency: String(options.currency || 'USD'),
	});
	return {
		metrics: text,
		contentType,
		executions: executions.data.coverage.executions,
		panels: {
			queue: partStatus(queue),
			workers: partStatus(workers),
			workflows: partStatus(workflows),
		},
	} as IDataObject;
};
