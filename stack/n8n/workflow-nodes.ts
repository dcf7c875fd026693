/** n8n-nodes-base nodes that e2e workflows share. */
import { randomUUID } from 'node:crypto';

/**
 * A production webhook at `path` answering with the last node's output; `parameters` override the defaults, e.g.
 * `{ responseMode: 'onReceived' }` (answer at once) or `{ responseData: 'allEntries' }` (every output item).
 */
export function webhookNode(
	path: string,
	position: [number, number] = [0, 0],
	parameters: Record<string, unknown> = {},
) {
	return {
		id: randomUUID(),
		name: 'Webhook',
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		position,
		webhookId: randomUUID(),
		parameters: { httpMethod: 'POST', path, responseMode: 'lastNode', options: {}, ...parameters },
	};
}

/** A POST Webhook node that answers at once (n8n's "Workflow was started"), for runs that wait or take long. */
export function webhookAnsweringAtOnce(path: string) {
	return webhookNode(path, [0, 0], { responseMode: 'onReceived' });
}

type CredentialRefs = Record<string, { id: string; name: string }>;

/** This package's Agent node, named "Agent", at [220, 0]. */
export function agentNode(parameters: Record<string, unknown>, credentials: CredentialRefs = {}) {
	return {
		id: randomUUID(),
		name: 'Agent',
		type: 'n8n-nodes-openagents.openAgentsAgent',
		typeVersion: 1,
		position: [220, 0],
		parameters,
		credentials,
	};
}

/** This package's Planner node, named "Planner", at [220, 0]. */
export function plannerNode(
	parameters: Record<string, unknown>,
	credentials: CredentialRefs = {},
	typeVersion = 1,
) {
	return {
		id: randomUUID(),
		name: 'Planner',
		type: 'n8n-nodes-openagents.openAgentsPlanner',
		typeVersion,
		position: [220, 0],
		parameters,
		credentials,
	};
}

/** This package's Chat Completions Trigger, named "Chat Completions", serving `modelNames` at `<path>/v1`. */
export function chatCompletionsTriggerNode(
	path: string,
	modelNames: string,
	credentials: CredentialRefs,
	{ typeVersion = 1, parameters = {} }: { typeVersion?: number; parameters?: object } = {},
) {
	return {
		id: randomUUID(),
		name: 'Chat Completions',
		type: 'n8n-nodes-openagents.openAgentsChatCompletionsTrigger',
		typeVersion,
		position: [0, 0],
		webhookId: randomUUID(),
		parameters: { path, modelNames, ...parameters },
		credentials,
	};
}

/** This package's Approval sub-node, named "Approval" (for an Agent's or Planner's Tool input). */
export function approvalNode(position: [number, number]) {
	return {
		id: randomUUID(),
		name: 'Approval',
		type: 'n8n-nodes-openagents.openAgentsApproval',
		typeVersion: 1,
		position,
		webhookId: randomUUID(),
		parameters: {},
	};
}

/**
 * n8n's If node (2.2) with one condition, e.g. `{ leftValue: '={{ $json.n }}', rightValue: 3, operator: { type:
 * 'number', operation: 'gte' } }`; output 0 is true, output 1 false.
 */
export function ifNode(
	name: string,
	position: [number, number],
	condition: {
		leftValue: string;
		rightValue: string | number;
		operator: { type: string; operation: string };
	},
) {
	return {
		id: randomUUID(),
		name,
		type: 'n8n-nodes-base.if',
		typeVersion: 2.2,
		position,
		parameters: {
			conditions: {
				options: { caseSensitive: true, leftValue: '', typeValidation: 'loose', version: 2 },
				conditions: [{ id: randomUUID(), ...condition }],
				combinator: 'and',
			},
			options: {},
		},
	};
}

/** A Set node named "Where" adding `processName` (main, worker-1, ...) from the process's OPENAGENTS_PROCESS_NAME. */
export function whereNode(position: [number, number], includeOtherFields = false) {
	return {
		id: randomUUID(),
		name: 'Where',
		type: 'n8n-nodes-base.set',
		typeVersion: 3.4,
		position,
		parameters: {
			...(includeOtherFields ? { includeOtherFields: true } : {}),
			assignments: {
				assignments: [
					{
						id: randomUUID(),
						name: 'processName',
						value: '={{ $env.OPENAGENTS_PROCESS_NAME }}',
						type: 'string',
					},
				],
			},
			options: {},
		},
	};
}

/** n8n's AI Agent (3.1) prompted with `text` (an expression). */
export function aiAgentNode(text: string, position: [number, number] = [220, 0]) {
	return {
		id: randomUUID(),
		name: 'AI Agent',
		type: '@n8n/n8n-nodes-langchain.agent',
		typeVersion: 3.1,
		position,
		parameters: { promptType: 'define', text, options: {} },
	};
}

/**
 * n8n's OpenAI Chat Model node on Chat Completions (its 1.3 default is the Responses API, which OpenAI-compatible
 * servers such as our offline stand-in do not serve), with an `openAiApi` credential.
 */
export function openAiChatModelNode(
	credential: { id: string; name: string },
	model = 'offline-chat',
	position: [number, number] = [200, 200],
) {
	return {
		id: randomUUID(),
		name: 'Chat Model',
		type: '@n8n/n8n-nodes-langchain.lmChatOpenAi',
		typeVersion: 1.3,
		position,
		parameters: {
			model: { __rl: true, mode: 'id', value: model },
			responsesApiEnabled: false,
			options: {},
		},
		credentials: { openAiApi: { id: credential.id, name: credential.name } },
	};
}

/**
 * The nodes and connections of a sub-workflow for a Planner role: an Execute Workflow Trigger passing its input
 * ({ task, goal, dependencies }) through, then a Set node "Answer" whose `output` field is the expression `output`.
 */
export function roleSubWorkflow(output: string) {
	return {
		nodes: [
			{
				id: randomUUID(),
				name: 'Start',
				type: 'n8n-nodes-base.executeWorkflowTrigger',
				typeVersion: 1.1,
				position: [0, 0],
				parameters: { inputSource: 'passthrough' },
			},
			{
				id: randomUUID(),
				name: 'Answer',
				type: 'n8n-nodes-base.set',
				typeVersion: 3.4,
				position: [220, 0],
				parameters: {
					assignments: {
						assignments: [{ id: randomUUID(), name: 'output', value: output, type: 'string' }],
					},
					options: {},
				},
			},
		],
		connections: { Start: { main: [[{ node: 'Answer', type: 'main', index: 0 }]] } },
	};
}

/**
 * A workflow whose outcome the request picks (body.kind): Webhook → "Fail?" (fail → Stop and Error) → "Agent?" (agent →
 * OpenAgents Agent with `llm`, which records usage in custom data; anything else → Where).
 */
export function mixedOutcomeWorkflow(
	name: string,
	path: string,
	llm: { id: string; name: string },
) {
	const ifKind = (name: string, kind: string, position: [number, number]) =>
		ifNode(name, position, {
			leftValue: '={{ $json.body.kind }}',
			rightValue: kind,
			operator: { type: 'string', operation: 'equals' },
		});
	const nodes = [
		webhookNode(path),
		ifKind('Fail?', 'fail', [200, 0]),
		{
			id: randomUUID(),
			name: 'Stop and Error',
			type: 'n8n-nodes-base.stopAndError',
			typeVersion: 1,
			position: [400, -120],
			parameters: { errorMessage: 'Planned failure' },
		},
		ifKind('Agent?', 'agent', [400, 80]),
		{
			id: randomUUID(),
			name: 'Agent',
			type: 'n8n-nodes-openagents.openAgentsAgent',
			typeVersion: 1,
			position: [600, 0],
			parameters: { template: 'conversation', prompt: '={{ $json.body.question }}', options: {} },
			credentials: { openAgentsLlmApi: llm },
		},
		whereNode([600, 160]),
	];
	const to = (node: string) => [{ node, type: 'main', index: 0 }];
	return {
		name,
		nodes,
		connections: {
			Webhook: { main: [to('Fail?')] },
			'Fail?': { main: [to('Stop and Error'), to('Agent?')] },
			'Agent?': { main: [to('Agent'), to('Where')] },
		},
	};
}
