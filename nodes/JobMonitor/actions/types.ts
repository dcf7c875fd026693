import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

/** An operation's output for one item: one JSON object, or several (List Jobs: one item per job). */
export type OperationExecute = (
	fn: IExecuteFunctions,
	itemIndex: number,
) => Promise<IDataObject | IDataObject[]>;

export const executionIdField = {
	displayName: 'Execution ID',
	name: 'executionId',
	type: 'string' as const,
	default: '',
	required: true,
	placeholder: 'e.g. 1234 or {{ $json.executionId }}',
	description: 'ID of the execution (job), as in n8n’s executions list',
};
