import type { IExecuteFunctions } from 'n8n-workflow';

import type { Operation } from '../../shared/runtime/itemLoop';
import type { ItemSettings } from '../../shared/runtime/itemSettings';

/** What the Job Monitor's operations share for a run: n8n's functions (clients are built per item from its settings). */
export interface JobMonitorRun {
	fn: IExecuteFunctions;
}

/** An operation's output for one item: one JSON object, or several (List Jobs: one item per job). */
export type JobMonitorOperation = Operation<JobMonitorRun, ItemSettings>;

export const executionIdField = {
	displayName: 'Execution ID',
	name: 'executionId',
	type: 'string' as const,
	default: '',
	required: true,
	placeholder: 'e.g. 1234 or {{ $json.executionId }}',
	description: 'ID of the execution (job), as in n8n’s executions list',
};
