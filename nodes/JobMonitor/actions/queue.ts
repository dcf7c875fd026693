import { updateDisplayOptions, type IDataObject, type INodeProperties } from 'n8n-workflow';

import { queueStatsFromMetrics, queueStatsFromRedis } from '../../../lib/jobs';
import { apiClient, queueRedis } from '../../shared/clients/n8nApi';
import type { JobMonitorOperation } from './types';

const properties: INodeProperties[] = [
	{
		displayName: 'Read From',
		name: 'queueSource',
		type: 'options',
		options: [
			{
				name: 'Redis (Live)',
				value: 'redis',
				description: 'The Bull queue in the Redis of your n8n cluster; also lists the active jobs',
			},
			{
				name: 'Metrics Endpoint of Main',
				value: 'metrics',
				description:
					"Main's /metrics (needs N8N_METRICS=true and N8N_METRICS_INCLUDE_QUEUE_METRICS=true); refreshed every few seconds",
			},
		],
		default: 'redis',
	},
	{
		displayName: 'Queue Prefix',
		name: 'bullPrefix',
		type: 'string',
		default: 'bull',
		description: 'QUEUE_BULL_PREFIX of your n8n (default "bull")',
		displayOptions: { show: { queueSource: ['redis'] } },
	},
];

export const description = updateDisplayOptions({ show: { operation: ['queue'] } }, properties);

/** Output: { source, waiting, active, delayed?, paused?, completed, failed, activeJobs?: [{ jobId, executionId, workflowId }] }. */
export const execute: JobMonitorOperation = async ({ fn }, settings) => {
	const { itemIndex } = settings;
	if (fn.getNodeParameter('queueSource', itemIndex) === 'metrics') {
		return {
			...queueStatsFromMetrics(await (await apiClient(fn, settings)).metricsText()),
		} as IDataObject;
	}
	const redis = await queueRedis(fn);
	try {
		return {
			...(await queueStatsFromRedis(
				redis,
				fn.getNodeParameter('bullPrefix', itemIndex, 'bull') as string,
			)),
		} as unknown as IDataObject;
	} finally {
		redis.disconnect();
	}
};
