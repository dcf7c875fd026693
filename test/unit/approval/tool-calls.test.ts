/** lib/approval/tool-calls.ts: which tools wait for a reviewer, and the request showing the calls of one turn. */
import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { DynamicStructuredTool, type StructuredToolInterface } from '@langchain/core/tools';
import { z } from 'zod';

import { toolCallsApproval, toolsNeedingApproval } from '../../../lib/approval';
import { UsageTracker, type AgentResult, type PendingToolCall } from '../../../lib/llm';

function tool(name: string, sourceNodeName?: string): StructuredToolInterface {
	const made = new DynamicStructuredTool({
		name,
		description: `Does ${name}`,
		schema: z.object({
			value: z.string().describe('What to store'),
			ttl: z.number().optional(),
		}),
		func: async () => 'done',
	});
	if (sourceNodeName) made.metadata = { sourceNodeName };
	return made;
}

const tools = [
	tool('remember', 'Memory Tool'),
	tool('search', 'Knowledge Base Tool'),
	tool('send'),
];
const gated = (requireApproval: string) => {
	const result = toolsNeedingApproval(requireApproval, tools);
	return result && { gated: [...result.gated].sort(), unknown: result.unknown };
};

describe('toolsNeedingApproval', () => {
	it('gates nothing when no name is given', () => {
		expect(toolsNeedingApproval('', tools)).toBeUndefined();
		expect(toolsNeedingApproval(' ,\n , ', tools)).toBeUndefined();
	});

	it('gates tools by name, separated by commas or new lines, spaces trimmed', () => {
		expect(gated('remember')).toEqual({ gated: ['remember'], unknown: [] });
		expect(gated(' send ,\nremember\n')).toEqual({ gated: ['remember', 'send'], unknown: [] });
	});

	it('gates the tools of a sub-node by the name n8n gave that node', () => {
		expect(gated('Knowledge Base Tool')).toEqual({ gated: ['search'], unknown: [] });
		expect(gated('Memory Tool, send')).toEqual({ gated: ['remember', 'send'], unknown: [] });
	});

	it('gates every tool with *', () => {
		expect(gated('*')).toEqual({ gated: ['remember', 'search', 'send'], unknown: [] });
	});

	it('returns the names that match no tool, for the caller to report', () => {
		expect(gated('remember, Remember, Mail Tool')).toEqual({
			gated: ['remember'],
			unknown: ['Remember', 'Mail Tool'],
		});
		expect(gated('*\nnope')).toEqual({ gated: ['remember', 'search', 'send'], unknown: ['nope'] });
		expect(toolsNeedingApproval('remember', [])).toEqual({
			gated: new Set(),
			unknown: ['remember'],
		});
	});
});

describe('toolCallsApproval', () => {
	const pending: PendingToolCall[] = [
		{ id: 'call_1', name: 'remember', args: { value: 'pro plan' } },
		{ id: 'call_2', name: 'gone', args: { x: 1 } },
	];
	const paused = (messages: AgentResult['messages']): AgentResult => ({
		status: 'awaiting_approval',
		output: '',
		steps: [],
		usage: new UsageTracker().get(),
		iterations: 2,
		durationMs: 10,
		messages,
		pending,
	});
	const conversation = [
		new HumanMessage('Remember my plan, then look up pricing'),
		new AIMessage({
			content: 'First a search.',
			tool_calls: [{ id: 'call_0', name: 'search', args: { value: 'pricing' } }],
		}),
		new ToolMessage({ content: 'found', tool_call_id: 'call_0' }),
		new AIMessage({
			content: '  Storing the plan now.  ',
			tool_calls: pending.map((call) => ({ ...call, type: 'tool_call' as const })),
		}),
	];

	it("shows each pending call with its tool's description and argument schema, and the last AI turn's text as reasoning", () => {
		const request = toolCallsApproval(paused(conversation), tools, {
			requestedBy: 'Support Agent',
			expiresAt: '2026-03-01T12:30:00.000Z',
			onTimeout: 'fail',
		});
		expect(request.approvalId).toMatch(/^[A-Za-z0-9_-]{22}$/);
		expect(request).toMatchObject({
			kind: 'tool_calls',
			requestedBy: 'Support Agent',
			reasoning: 'Storing the plan now.',
			expiresAt: '2026-03-01T12:30:00.000Z',
			onTimeout: 'fail',
		});
		expect(request.calls).toHaveLength(2);
		expect(request.calls[0]).toMatchObject({
			id: 'call_1',
			name: 'remember',
			args: { value: 'pro plan' },
			description: 'Does remember',
			schema: {
				type: 'object',
				properties: {
					value: { type: 'string', description: 'What to store' },
					ttl: { type: 'number' },
				},
				required: ['value'],
			},
		});
		// A call to a tool that is not there: shown as it is, without description or schema.
		expect(request.calls[1]).toEqual({ id: 'call_2', name: 'gone', args: { x: 1 } });
	});

	it('leaves out reasoning and deadline when there are none, and uses a new ID each time', () => {
		const settings = { requestedBy: 'Agent', onTimeout: 'reject' as const };
		const silentTurn = [
			new HumanMessage('Remember it'),
			new AIMessage({ content: '', tool_calls: [] }),
			new ToolMessage({ content: 'partial', tool_call_id: 'call_x' }),
		];
		const first = toolCallsApproval(paused(silentTurn), tools, settings);
		expect('reasoning' in first).toBe(false);
		expect('expiresAt' in first).toBe(false);
		expect(first.onTimeout).toBe('reject');
		expect(toolCallsApproval(paused(silentTurn), tools, settings).approvalId).not.toBe(
			first.approvalId,
		);
		expect('reasoning' in toolCallsApproval(paused([]), tools, settings)).toBe(false);
	});
});
