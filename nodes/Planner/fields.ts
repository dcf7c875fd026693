/** Parameters the Planner's operations share: goal, roles, checkpoints, limits and budget. */
import type { INodeProperties } from 'n8n-workflow';

import { sortedByName } from '../shared/fields/sortedByName';
import { budgetOptions, modelTimeoutOption } from '../shared/fields/modelCalls';
import { chatModelOption, versionedPicker } from '../shared/fields/locators';

import { storeField } from '../shared/fields/memory';
import { approvalTimeoutOptions } from '../shared/ai/approval';

export const goalField: INodeProperties = {
	displayName: 'Goal',
	name: 'goal',
	type: 'string',
	typeOptions: { rows: 3 },
	default: '',
	required: true,
	placeholder: 'e.g. Compare Redis and Postgres as the memory store of a queue-mode n8n cluster',
	description: 'What the plan must achieve; the chat model breaks it into tasks',
	displayOptions: { show: { operation: ['createPlan', 'planAndExecute'] } },
};

export const processField: INodeProperties = {
	displayName: 'Process',
	name: 'process',
	type: 'options',
	options: [
		{
			name: 'Plan First',
			value: 'planFirst',
			description: 'The chat model plans every task up front; the plan runs in parallel waves',
		},
		{
			name: 'Manager',
			value: 'manager',
			description:
				'A manager agent delegates tasks to the Roles one step at a time, sees their results and decides what to ask next',
		},
	],
	default: 'planFirst',
	displayOptions: { show: { operation: ['planAndExecute'] } },
};

export const planField: INodeProperties = {
	displayName: 'Plan',
	name: 'plan',
	type: 'json',
	default: '={{ $json.plan }}',
	required: true,
	description:
		'The plan to run, e.g. the output of Create Plan with Output: Whole Plan (a goal and its tasks with their dependencies)',
	hint: 'Shape: { "goal": "…", "tasks": [{ "id", "title", "description", "agent", "dependsOn": [] }] }',
	displayOptions: { show: { operation: ['executePlan'] } },
};

const SUB_WORKFLOW_DESCRIPTION =
	'Run this role\'s tasks in this workflow (it starts with an Execute Workflow Trigger and receives { task, goal, dependencies }; its last node\'s first item is the result, its "output" field if present). Leave empty to use the chat model.';

export const rolesField: INodeProperties = {
	displayName: 'Roles',
	name: 'roles',
	type: 'fixedCollection',
	typeOptions: { multipleValues: true },
	default: {},
	placeholder: 'Add Role',
	description:
		'The agents tasks are assigned to. With roles listed, the planner uses only these; a role with a sub-workflow runs its tasks there instead of with the chat model.',
	displayOptions: { show: { operation: ['createPlan', 'executePlan', 'planAndExecute'] } },
	options: [
		{
			displayName: 'Role',
			name: 'role',
			values: [
				{
					displayName: 'Name',
					name: 'name',
					type: 'string',
					default: '',
					required: true,
					placeholder: 'e.g. researcher',
				},
				{
					displayName: 'Instructions',
					name: 'instructions',
					type: 'string',
					typeOptions: { rows: 3 },
					default: '',
					description: 'System message for the tasks of this role',
				},
				...versionedPicker(
					{
						displayName: 'Sub-Workflow ID',
						name: 'workflowId',
						type: 'string',
						default: '',
						description: SUB_WORKFLOW_DESCRIPTION,
					},
					{
						displayName: 'Sub-Workflow',
						name: 'workflowId',
						type: 'workflowSelector',
						default: '',
						description: SUB_WORKFLOW_DESCRIPTION,
					},
				),
			],
		},
	],
};

const showExecute = { show: { operation: ['executePlan', 'planAndExecute'] } };

export const checkpointFields: INodeProperties[] = [
	{
		...storeField,
		displayName: 'Checkpoint Store',
		description:
			'Where finished tasks are saved so that a re-run with the same plan run ID resumes',
		displayOptions: showExecute,
	},
	{
		displayName: 'Plan Run ID',
		name: 'planRunId',
		type: 'string',
		default: '',
		placeholder: 'e.g. {{ $json.ticketId }}',
		description:
			'Identifies the run for checkpoints. Empty: a hash of the workflow ID, the goal (or plan) and the input item, so a retry or re-trigger of the same input resumes.',
		displayOptions: showExecute,
	},
];

export const optionsField: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: sortedByName([
		{
			displayName: 'Approve Plan Before Running',
			name: 'approvePlan',
			type: 'boolean',
			default: false,
			description:
				'Whether Plan and Execute waits for a reviewer to approve, edit or reject the plan before any task runs (the execution waits; needs an OpenAgents Approval sub-node on the Tool input)',
		},
		...approvalTimeoutOptions('Approve Plan Before Running'),
		...chatModelOption(
			"Overrides the credential's chat model (ignored when a chat model sub-node is connected)",
		),
		{
			displayName: 'Concurrency',
			name: 'concurrency',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 32 },
			default: 4,
			description: 'Tasks running at the same time at most',
		},
		modelTimeoutOption,
		...budgetOptions('For the whole run', 'no new task starts'),
		{
			displayName: 'Minimum Score',
			name: 'minimumScore',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 },
			default: 0.7,
			description:
				'With Review Rounds: an answer the reviewer scores below this (0–1) gets another round',
		},
		{
			displayName: 'Review Rounds',
			name: 'reviewRounds',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 5 },
			default: 0,
			description:
				'Refinement rounds at most: a reviewer scores the answer against the goal (and Rubric); below Minimum Score its gaps become new tasks and the answer is made again. 0 = no review.',
		},
		{
			displayName: 'Reviewer Instructions',
			name: 'reviewerInstructions',
			type: 'string',
			typeOptions: { rows: 3 },
			default: '',
			description: "The reviewer's own system message (replaces the default reviewer instructions)",
		},
		{
			displayName: 'Reviewer Model',
			name: 'reviewerModel',
			type: 'string',
			default: '',
			description:
				"The LLM API credential's model that reviews (default: the run's chat model; a connected chat model sub-node reviews itself)",
		},
		{
			displayName: 'Rubric',
			name: 'rubric',
			type: 'string',
			typeOptions: { rows: 3 },
			default: '',
			placeholder: 'Names at least two trade-offs; cites a source for every figure',
			description: 'With Review Rounds: what a good answer must do, in your words',
		},
		{
			displayName: 'Manager Instructions',
			name: 'managerInstructions',
			type: 'string',
			typeOptions: { rows: 3 },
			default: '',
			description:
				"Process Manager: added to the manager's instructions (e.g. whom to ask first, when to stop)",
		},
		{
			displayName: 'Max Re-Plans',
			name: 'maxReplans',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 10 },
			default: 2,
			description:
				'With On Task Failure = Re-Plan: revisions at most per plan run (a resumed run counts those made before)',
		},
		{
			displayName: 'On Task Failure',
			name: 'onTaskFailure',
			type: 'options',
			options: [
				{
					name: 'Skip Dependents',
					value: 'skip',
					description: "The failed task's dependents are skipped; the run ends partial",
				},
				{
					name: 'Re-Plan',
					value: 'replan',
					description:
						'The chat model replaces the failed branch with new tasks (completed tasks are kept and not run again)',
				},
			],
			default: 'skip',
			description: 'What happens when a task still fails after its retries',
		},
		{
			displayName: 'Max Tasks',
			name: 'maxTasks',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 50 },
			default: 10,
			description: "Tasks per plan at most (Process Manager: the manager's turns at most)",
		},
		{
			displayName: 'Synthesize Final Answer',
			name: 'synthesize',
			type: 'boolean',
			default: true,
			description: 'Whether the chat model combines the task results into one answer to the goal',
		},
		{
			displayName: 'Task Timeout (Seconds)',
			name: 'taskTimeoutSeconds',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 300,
			description: 'Per attempt of a task',
		},
		{
			displayName: 'Temperature',
			name: 'temperature',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 2, numberPrecision: 2 },
			default: 0,
		},
	]),
};
