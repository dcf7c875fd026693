import {
	NodeConnectionTypes,
	type IDataObject,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type IPollFunctions,
} from 'n8n-workflow';

import { nodeCodex } from '../shared/fields/codex';
import codex from './OpenAgentsJobMonitorTrigger.node.json';
import {
	sortById,
	originalRuns,
	takeUnreported,
	toJob,
	type ApiExecution,
	type ExecutionStatus,
	type N8nApiClient,
	type ReportedExecutions,
} from '../../lib/jobs';
import { pollClient } from '../shared/clients/n8nApi';

interface PollState {
	/** Each failure fires once. */
	reported?: ReportedExecutions;
}

/**
 * Fires once for each execution of the chosen workflows that ends in error or crashed, for alerting and automatic
 * recovery flows (e.g. → Job Monitor: Retry).
 */
export class OpenAgentsJobMonitorTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'OpenAgents Job Monitor Trigger',
		name: 'openAgentsJobMonitorTrigger',
		icon: { light: 'file:jobMonitorTrigger.svg', dark: 'file:jobMonitorTrigger.dark.svg' },
		group: ['trigger'],
		version: [1],
		subtitle: '={{ "on " + $parameter["statuses"].join(", ") }}',
		description: 'Starts the workflow when executions of chosen workflows fail or crash',
		defaults: { name: 'Job Monitor Trigger' },
		codex: nodeCodex(codex),
		polling: true,
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'openAgentsN8nApi', displayName: 'n8n API', required: true }],
		properties: [
			{
				displayName: 'Workflow IDs',
				name: 'workflowIds',
				type: 'string',
				default: '',
				placeholder: 'e.g. 1a2B3c4D5e6F7g8H, 9i0J1k2L3m4N5o6P',
				description:
					'Comma-separated IDs of the workflows to watch; empty watches every workflow the API key can see',
			},
			{
				displayName: 'Statuses',
				name: 'statuses',
				type: 'multiOptions',
				options: [
					{ name: 'Crashed', value: 'crashed', description: 'A worker or main died while it ran' },
					{ name: 'Error', value: 'error', description: 'A node failed' },
				],
				default: ['error', 'crashed'],
			},
			{
				displayName: 'Look Back (Minutes)',
				name: 'lookBackMinutes',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 60,
				description:
					'Executions that started this long before a poll are checked; on its first poll the trigger also reports failures from this window',
			},
			{
				displayName: 'Include Retries',
				name: 'includeRetries',
				type: 'boolean',
				default: false,
				description:
					'Whether to also report failed executions that are retries of an earlier one. Off, a flow that retries failed jobs (as example 4 does) is not handed its own failed retries to retry again.',
			},
		],
	};

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		const workflowIds = String(this.getNodeParameter('workflowIds', ''))
			.split(',')
			.map((id) => id.trim())
			.filter(Boolean);
		const statuses = this.getNodeParameter('statuses', ['error', 'crashed']) as ExecutionStatus[];
		const lookBackMs = (this.getNodeParameter('lookBackMinutes', 60) as number) * 60_000;
		const includeRetries = this.getNodeParameter('includeRetries', false) as boolean;
		const state = this.getWorkflowStaticData('node') as PollState;
		const reported = (state.reported ??= {});
		const now = Date.now();
		const client = await pollClient(this);

		const listed: ApiExecution[] = [];
		for (const workflowId of workflowIds.length ? workflowIds : [undefined]) {
			for (const status of statuses)
				listed.push(
					...(await client.listExecutions(
						{ workflowId, status, startedAfter: new Date(now - lookBackMs).toISOString() },
						250,
					)),
				);
		}

		const failed = includeRetries ? listed : originalRuns(listed);

		// A manual test shows the newest failure without marking anything as reported.
		if (this.getMode() === 'manual') {
			const newest = sortById(failed).at(-1);
			return newest ? [[{ json: await details(this, client, newest) }]] : null;
		}

		const fresh = takeUnreported(failed, reported, now, lookBackMs);
		if (!fresh.length) return null;
		const items: INodeExecutionData[] = [];
		for (const execution of fresh) items.push({ json: await details(this, client, execution) });
		return [items];
	}
}

/**
 * The failed execution as a Job, with its error message and node (read with the execution's data). When that read
 * fails, the listed execution is reported without them rather than not at all.
 */
async function details(
	fn: IPollFunctions,
	client: N8nApiClient,
	execution: ApiExecution,
): Promise<IDataObject> {
	const full = await client
		.getExecution(String(execution.id), { includeData: true })
		.catch((error: Error) => {
			fn.logger.warn(
				`Job Monitor Trigger: reporting execution ${execution.id} without its error details: ${error.message}`,
			);
			return execution;
		});
	return { ...toJob(full) } as IDataObject;
}
