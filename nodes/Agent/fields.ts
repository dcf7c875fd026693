/** Parameters the Agent's templates share: instructions, built-in tools, limits and budget. */
import { updateDisplayOptions, type INodeProperties } from 'n8n-workflow';

import { sortedByName } from '../shared/fields/sortedByName';
import { budgetOptions, modelTimeoutOption } from '../shared/fields/modelCalls';
import { chatModelOption } from '../shared/fields/locators';
import { knowledgeBaseFields, topKField } from '../shared/fields/knowledgeBase';
import { addressFields, storeField } from '../shared/fields/memory';
import { approvalTimeoutOptions } from '../shared/ai/approval';

export const systemMessageField: INodeProperties = {
	displayName: 'System Message',
	name: 'systemMessage',
	type: 'string',
	typeOptions: { rows: 4 },
	default:
		'You are a helpful assistant. Use the tools when they help, and say so when you do not know.',
	description: "The agent's instructions: role, tone, rules. Sent before the conversation.",
};

const showKnowledgeBase = { show: { knowledgeBaseSearch: [true] } };
const showMemory = { show: { memoryTools: [true] } };
const showFacts = { show: { longTermMemory: [true] } };

// Booleans, not one multiOptions field: n8n's editor hides an options field whose every value selects a credential
// (it takes it for the node's authentication selector) and then lists the wrong credentials.
export const builtInToolFields: INodeProperties[] = [
	{
		displayName: 'Built-In Knowledge Base Search',
		name: 'knowledgeBaseSearch',
		type: 'boolean',
		default: false,
		description:
			'Whether to give the agent the tool search_knowledge_base over a knowledge base of the OpenAgents Chroma API credential, without a Knowledge Base Tool node',
	},
	...updateDisplayOptions(showKnowledgeBase, knowledgeBaseFields),
	{ ...topKField, displayOptions: showKnowledgeBase },
	{
		displayName: 'Built-In Memory Tools',
		name: 'memoryTools',
		type: 'boolean',
		default: false,
		description:
			'Whether to give the agent the tools memory_get and memory_set, reading and writing long-term memory keys in one scope',
	},
	{ ...storeField, displayName: 'Memory Store', displayOptions: showMemory },
	...addressFields.map((field) => ({
		...field,
		displayName: `Memory ${field.displayName}`,
		displayOptions: { ...field.displayOptions, ...showMemory },
	})),
	{
		displayName: 'Long-Term Memory',
		name: 'longTermMemory',
		type: 'boolean',
		default: false,
		description:
			'Whether the agent remembers facts about a subject (a user, a customer) across conversations and workflows, in the store of the OpenAgents Memory Store API credential (inside its tenant)',
	},
	// The same store choice as the memory tools', shown here when those are off.
	{
		...storeField,
		displayName: 'Memory Store',
		displayOptions: { show: { longTermMemory: [true], memoryTools: [false] } },
	},
	// The memory tools' Isolation Key, shown here when those are off: facts live under the same tenant path.
	{
		...addressFields.find((field) => field.name === 'isolationKey')!,
		displayName: 'Memory Isolation Key',
		displayOptions: { show: { longTermMemory: [true], memoryTools: [false] } },
	},
	{
		displayName: 'Subject',
		name: 'memorySubject',
		type: 'string',
		default: '',
		placeholder: 'e.g. {{ $json.customerId }}',
		description:
			'Whose facts: a user or customer ID. Leave empty after an OpenAgents Chat Completions Trigger for the caller\'s user (the request\'s "user", kept apart per client key like sessions). The model cannot choose another subject.',
		displayOptions: showFacts,
	},
	{
		displayName: 'Recall Memories',
		name: 'recallMemories',
		type: 'boolean',
		default: true,
		description:
			"Whether to put the subject's facts most relevant to the prompt, with their IDs, into the system message (Conversation template)",
		displayOptions: showFacts,
	},
	{
		displayName: 'Memories to Recall',
		name: 'recallTopK',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 100 },
		default: 5,
		description: 'How many facts at most Recall Memories puts into the prompt',
		displayOptions: { show: { longTermMemory: [true], recallMemories: [true] } },
	},
	{
		displayName: 'Learn From Conversation',
		name: 'learnFromConversation',
		type: 'boolean',
		default: false,
		description:
			"Whether after each turn one model call takes the durable facts from it and reconciles them with the subject's stored ones (add, update, delete, or leave), under the item's budget and Retry Policy (Conversation template)",
		displayOptions: showFacts,
	},
	{
		displayName: 'Memory Recall and Remember Tools',
		name: 'factTools',
		type: 'boolean',
		default: false,
		description:
			'Whether to give the agent the tools recall_memory and remember, bound to the subject, for agents that decide themselves what to look up and keep',
		displayOptions: showFacts,
	},
];

export const optionsField: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: sortedByName([
		...approvalTimeoutOptions('Require Approval For'),
		{
			displayName: 'Require Approval For',
			name: 'requireApproval',
			type: 'string',
			default: '',
			placeholder: 'send_email, Delete Record',
			description:
				'Tool calls a reviewer must approve, edit or reject before they run: tool names, or names of tool sub-nodes (all their tools), separated by commas; * for every tool. Needs an OpenAgents Approval sub-node on the Tool input; Conversation template.',
		},
		...chatModelOption(
			"Overrides the credential's chat model (ignored when a chat model sub-node is connected)",
		),
		{
			displayName: 'Enable Streaming',
			name: 'enableStreaming',
			type: 'boolean',
			default: true,
			description:
				"Whether to stream the Conversation template's text answer as it is generated, when a Chat Trigger or Webhook is set to stream its response",
		},
		{
			displayName: 'Max Iterations',
			name: 'maxIterations',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 100 },
			default: 10,
			description:
				'Model turns at most per run (per step in Task); each turn may call several tools',
		},
		modelTimeoutOption,
		...budgetOptions(
			'Per item',
			'no further model call is made and the result so far is returned with status budget_exceeded',
		),
		{
			displayName: 'Max Tool Errors',
			name: 'maxToolErrors',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 3,
			description:
				'Failed tool calls returned to the model (so it can recover) before the run stops with an error',
		},
		{
			displayName: 'Parallel Steps at Most',
			name: 'concurrency',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 20 },
			default: 4,
			description: 'Task template with parallel steps: how many steps run at the same time',
		},
		{
			displayName: 'Temperature',
			name: 'temperature',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 2, numberPrecision: 2 },
			default: 0,
			description:
				"Sampling temperature of the credential's chat model (a connected sub-node uses its own settings)",
		},
		{
			displayName: 'Tool Timeout (Seconds)',
			name: 'toolTimeoutSeconds',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 60,
			description: 'Per tool call; a slower call is returned to the model as a timeout error',
		},
	]),
};
