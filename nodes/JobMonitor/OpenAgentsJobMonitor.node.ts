import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { nodeCodex } from '../shared/fields/codex';
import codex from './OpenAgentsJobMonitor.node.json';
import * as getJob from './actions/getJob';
import * as listJobs from './actions/listJobs';
import * as prometheus from './actions/prometheus';
import * as queue from './actions/queue';
import * as renderDashboard from './actions/renderDashboard';
import * as retryJob from './actions/retryJob';
import { route } from './actions/router';
import { traced } from '../shared/runtime/nodeTracing';
import * as stats from './actions/stats';
import * as waitForJob from './actions/waitForJob';
import { memoryStoreCredentialTest } from '../shared/clients/memoryStore';
import { searchWorkflows } from '../shared/methods/listSearch';
import { PICKER_NODE_VERSIONS } from '../shared/fields/locators';
import { retryPolicyProperty } from '../shared/fields/retryPolicy';

/**
 * n8n executions as jobs: status, stats, queue depth, waiting, retrying failed or crashed executions, the operations
 * dashboard and Prometheus metrics.
 */
export class OpenAgentsJobMonitor implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'OpenAgents Job Monitor',
		name: 'openAgentsJobMonitor',
		icon: { light: 'file:jobMonitor.svg', dark: 'file:jobMonitor.dark.svg' },
		group: ['transform'],
		version: PICKER_NODE_VERSIONS,
		subtitle: '={{ $parameter["operation"] }}',
		description:
			'Watch and steer n8n executions as jobs: status, stats, queue depth, wait, retry failed or crashed runs, an operations dashboard and Prometheus metrics',
		defaults: { name: 'Job Monitor' },
		codex: nodeCodex(codex),
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'openAgentsN8nApi', displayName: 'n8n API', required: true },
			// Written out here (not shared) so that n8n's linter can see which method tests the credential.
			{
				name: 'openAgentsMemoryStore',
				displayName: 'Redis of the n8n Queue',
				required: true,
				testedBy: 'openAgentsMemoryStoreTest',
				// Get Queue Depth from Redis; the dashboard and metrics also keep their shared cache there.
				displayOptions: {
					show: { operation: ['queue', 'renderDashboard', 'prometheus'] },
					hide: { queueSource: ['metrics'] },
				},
			},
			{ name: 'openAgentsTracingApi', displayName: 'Tracing (Optional)', required: false },
		],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Job', value: 'job', description: 'One execution, or a list of them' },
					{
						name: 'Metric',
						value: 'metric',
						description:
							'Success rate, durations, failures, queue depth, dashboard, Prometheus metrics',
					},
				],
				default: 'job',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['job'] } },
				options: [
					{
						name: 'Get',
						value: 'getJob',
						action: 'Get a job',
						description: 'Status, timing, error and chosen nodes’ output of an execution',
					},
					{
						name: 'Get Many',
						value: 'listJobs',
						action: 'Get many jobs',
						description: 'Executions by workflow, status (crashed ones too) and time window',
					},
					{
						name: 'Retry',
						value: 'retryJob',
						action: 'Retry a failed or crashed job',
						description: 'Once now, or under the Retry Policy',
					},
					{
						name: 'Wait',
						value: 'waitForJob',
						action: 'Wait for a job to finish',
						description: 'Poll until the execution has finished',
					},
				],
				default: 'getJob',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['metric'] } },
				options: [
					{
						name: 'Get Prometheus Metrics',
						value: 'prometheus',
						action: 'Get prometheus metrics',
						description:
							'Executions, durations, tokens, cost, tool errors, retries, queue depth as a scrape target',
					},
					{
						name: 'Get Queue Depth',
						value: 'queue',
						action: 'Get queue depth',
						description: 'Waiting and active jobs of the queue-mode cluster',
					},
					{
						name: 'Get Stats',
						value: 'stats',
						action: 'Get job stats',
						description: 'Success rate, duration p50/p95, throughput, failures by node',
					},
					{
						name: 'Render Dashboard',
						value: 'renderDashboard',
						action: 'Render the operations dashboard',
						description:
							'An HTML page with KPIs, charts, failures, queue and workers, for Respond to Webhook',
					},
				],
				default: 'stats',
			},
			...getJob.description,
			...listJobs.description,
			...stats.description,
			...queue.description,
			...renderDashboard.description,
			...prometheus.description,
			...waitForJob.description,
			...retryJob.description,
			retryPolicyProperty,
		],
	};

	methods = {
		credentialTest: { openAgentsMemoryStoreTest: memoryStoreCredentialTest },
		listSearch: { searchWorkflows },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return traced(this, () => route.call(this));
	}
}
