/**
 * Task template: ordered steps, each one tool-calling run with its own instruction, timeout and retries. Sequential
 * steps see the earlier steps' results; parallel steps are independent. Strict mode stops at the first failed step.
 */
import {
	NodeOperationError,
	updateDisplayOptions,
	type IDataObject,
	type INodeProperties,
} from 'n8n-workflow';

import { runAgentTask, type TaskStep } from '../../../lib/llm';
import { itemAgent } from './itemAgent';
import type { AgentRun, TemplateRun } from './types';

const properties: INodeProperties[] = [
	{
		displayName: 'Task Input',
		name: 'taskInput',
		type: 'string',
		typeOptions: { rows: 3 },
		default: '',
		placeholder: 'e.g. {{ $json.ticket }}',
		description: "The material the steps work on. Leave empty to give the steps the item's JSON.",
	},
	{
		displayName: 'Steps',
		name: 'steps',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		placeholder: 'Add Step',
		description: '1 to 20 steps, run in this order (or all at once with Run Steps: In Parallel)',
		options: [
			{
				displayName: 'Step',
				name: 'step',
				values: [
					{
						displayName: 'Name',
						name: 'name',
						type: 'string',
						default: '',
						required: true,
						placeholder: 'e.g. summary',
						description: 'Unique; the field of this step in structured output',
					},
					{
						displayName: 'Instruction',
						name: 'instruction',
						type: 'string',
						typeOptions: { rows: 3 },
						default: '',
						required: true,
						placeholder: 'e.g. Summarise the ticket in two sentences',
					},
					{
						displayName: 'Timeout (Seconds)',
						name: 'timeoutSeconds',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 120,
						description: 'Per attempt of this step',
					},
					{
						displayName: 'Retries',
						name: 'retries',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: 10 },
						default: 1,
						description:
							'Attempts after the first when the step fails or times out; waits follow the Retry Policy',
					},
				],
			},
		],
	},
	{
		displayName: 'Run Steps',
		name: 'stepExecution',
		type: 'options',
		options: [
			{
				name: 'In Order',
				value: 'sequential',
				description: "One after another; each step sees the earlier steps' results",
			},
			{
				name: 'In Parallel',
				value: 'parallel',
				description:
					'All at once (up to "Parallel Steps at Most"); steps are independent of each other',
			},
		],
		default: 'sequential',
	},
	{
		displayName: 'Strict Mode',
		name: 'strict',
		type: 'boolean',
		default: true,
		description:
			"Whether to stop at the first failed step and fail the item; otherwise every step runs and the item reports each step's status",
	},
	{
		displayName: 'Output Format',
		name: 'taskOutputFormat',
		type: 'options',
		options: [
			{
				name: 'Structured (One Field per Step)',
				value: 'structured',
				description: 'One field per step, named after the step, holding its result',
			},
			{
				name: 'Text',
				value: 'text',
				description: 'The step results as one text, a heading per step',
			},
		],
		default: 'structured',
	},
];

export const description = updateDisplayOptions({ show: { template: ['task'] } }, properties);

interface StepParams {
	name: string;
	instruction: string;
	timeoutSeconds: number;
	retries: number;
}

/** The item's Steps parameter as lib/llm task steps. */
function stepsOf(fn: AgentRun['fn'], itemIndex: number): TaskStep[] {
	return ((fn.getNodeParameter('steps.step', itemIndex, []) as StepParams[]) ?? []).map((s) => ({
		name: String(s.name ?? '').trim(),
		instruction: String(s.instruction ?? ''),
		timeoutMs: Number(s.timeoutSeconds ?? 120) * 1000,
		retries: Number(s.retries ?? 1),
	}));
}

/**
 * Output: { output ({ step: result } or text), status: completed | partial, taskSteps: [{ name, status, output?,
 * error?, attempts, startedAt, finishedAt, durationMs }], steps (every tool call, with its task step), usage,
 * durationMs }. Throws AgentRunError (code step_failed) in strict mode, with the steps so far.
 */
export const execute: TemplateRun = async (run, item) => {
	const { fn } = run;
	const { itemIndex } = item;
	const agent = await itemAgent(run, item);
	if (String(agent.options.requireApproval ?? '').trim())
		throw new NodeOperationError(
			fn.getNode(),
			'Require Approval For works with the Conversation template only',
			{
				itemIndex,
				description: 'Clear Options → Require Approval For, or use the Conversation template.',
			},
		);
	const result = await runAgentTask({
		...agent,
		system: String(fn.getNodeParameter('systemMessage', itemIndex, '') ?? ''),
		input:
			String(fn.getNodeParameter('taskInput', itemIndex, '') ?? '').trim() ||
			JSON.stringify(fn.getInputData()[itemIndex].json),
		steps: stepsOf(fn, itemIndex),
		strict: fn.getNodeParameter('strict', itemIndex, true) as boolean,
		parallel: fn.getNodeParameter('stepExecution', itemIndex, 'sequential') === 'parallel',
		concurrency: (agent.options.concurrency as number) ?? 4,
		retryPolicy: item.retryPolicy,
		signal: item.signal,
		outputFormat:
			fn.getNodeParameter('taskOutputFormat', itemIndex, 'structured') === 'text'
				? 'text'
				: 'structured',
	});
	return result as unknown as IDataObject;
};
