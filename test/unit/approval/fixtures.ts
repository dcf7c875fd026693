/** Approval requests the approval tests share: two tool calls (one with an argument schema), and a plan. */
import type { PlanApproval, ToolCallsApproval } from '../../../lib/approval';

export const APPROVAL_ID = 'approval-id-0123456789abcdef';

/** `remember` takes `{ value: string, ttl?: number }`; `search` has no schema. */
export const toolCallsRequest = (
	overrides: Partial<ToolCallsApproval> = {},
): ToolCallsApproval => ({
	approvalId: APPROVAL_ID,
	kind: 'tool_calls',
	requestedBy: 'Support Agent',
	onTimeout: 'reject',
	reasoning: 'The user asked me to remember their plan.',
	calls: [
		{
			id: 'call_1',
			name: 'remember',
			args: { value: 'pro plan' },
			description: 'Stores a value',
			schema: {
				type: 'object',
				properties: { value: { type: 'string' }, ttl: { type: 'number' } },
				required: ['value'],
			},
		},
		{ id: 'call_2', name: 'search', args: { query: 'pricing' } },
	],
	...overrides,
});

export const planRequest = (overrides: Partial<PlanApproval> = {}): PlanApproval => ({
	approvalId: APPROVAL_ID,
	kind: 'plan',
	requestedBy: 'Research Planner',
	onTimeout: 'fail',
	maxTasks: 3,
	roles: ['researcher', 'writer'],
	plan: {
		goal: 'Compare vector databases',
		tasks: [
			{
				id: 'research',
				title: 'Collect facts',
				description: 'Find benchmarks',
				agent: 'researcher',
				dependsOn: [],
			},
			{
				id: 'write',
				title: 'Write the comparison',
				description: '',
				agent: 'writer',
				dependsOn: ['research'],
			},
		],
	},
	...overrides,
});
