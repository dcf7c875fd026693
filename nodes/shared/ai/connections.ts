/**
 * What is plugged into the Agent: a chat model sub-node (else the OpenAgents LLM API credential), tool sub-nodes,
 * a memory sub-node. Sub-nodes are n8n's own or any package's; they are used through LangChain's interfaces, checked
 * by shape (as n8n's AI Agent does), since each package brings its own copy of LangChain.
 */
import type { BaseMessage } from '@langchain/core/messages';
import type { StructuredToolInterface } from '@langchain/core/tools';
import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeInputConfiguration,
} from 'n8n-workflow';

import {
	AgentError,
	createChatModel,
	type CallOptions,
	type LlmConfig,
	type ToolCallingChatModel,
	type UsageTracker,
} from '../../../lib/llm';
import { llmCallOptions } from '../clients/llmApi';
import type { ModelItemSettings } from '../runtime/itemSettings';
import { locatorValue } from '../fields/locators';
import { isApprovalGate } from './approval';

/** LangChain's BaseChatMemory as n8n's memory sub-nodes supply it. */
interface ChatMemoryLike {
	memoryKey?: string;
	loadMemoryVariables(values: Record<string, unknown>): Promise<Record<string, unknown>>;
	saveContext(input: Record<string, unknown>, output: Record<string, unknown>): Promise<void>;
	/** OpenAgents Chat Memory only: stores a whole turn, tool calls and their results included. */
	saveTurn?(messages: BaseMessage[]): Promise<void>;
}

/**
 * The Chat Model and Fallback Model inputs of the Agent and the Planner. n8n hands both models over in one list,
 * the later input first (as its AI Agent's fallback input relies on), so a list of two is [fallback, chat model].
 */
export const chatModelInputs: INodeInputConfiguration[] = [
	{
		type: NodeConnectionTypes.AiLanguageModel,
		displayName: 'Chat Model',
		maxConnections: 1,
		required: false,
	},
	{
		type: NodeConnectionTypes.AiLanguageModel,
		displayName: 'Fallback Model',
		maxConnections: 1,
		required: false,
	},
];

interface ModelSource {
	model: ToolCallingChatModel;
	/** The model on the Fallback Model input (only with one on Chat Model too). */
	fallback?: ToolCallingChatModel;
	/** The credential's config when one is selected (the model's source without a sub-node; embeddings; the key to redact). */
	llm?: LlmConfig;
}

/**
 * The connected chat model, or one built from the credential `llm` (the node's, when one is selected) with the item's
 * options. Throws AgentError NO_MODEL when neither is there.
 */
async function chatModelFor(
	fn: IExecuteFunctions,
	llm: LlmConfig | undefined,
	options: { chatModel?: string; temperature?: number },
): Promise<ModelSource> {
	const connected = (await fn.getInputConnectionData(NodeConnectionTypes.AiLanguageModel, 0)) as
		ToolCallingChatModel | ToolCallingChatModel[] | undefined;
	const models = Array.isArray(connected) ? connected : connected ? [connected] : [];
	if (models.length) return { model: models.at(-1)!, fallback: models.at(-2), llm };
	if (!llm) {
		throw new AgentError(
			'NO_MODEL',
			'No chat model: connect a chat model sub-node to the Chat Model input, or select an OpenAgents LLM API credential',
		);
	}
	return {
		model: createChatModel(llm, {
			model: options.chatModel || undefined,
			temperature: options.temperature ?? 0,
		}),
		llm,
	};
}

export interface ItemModel extends ModelSource {
	/** For the item's model calls: its Retry Policy, cancel signal, timeout, key to redact, and `usage`. */
	callOptions: CallOptions & { usage: UsageTracker };
	/** The item's Options collection (Chat Model, Temperature, limits, budget). */
	options: IDataObject;
}

/**
 * The item's chat model (from chatModelFor, with its Options' Chat Model and Temperature) and call options: the
 * credential's rate limit, and the fallbacks tried after the chat model: the Fallback Model sub-node, then the
 * credential's Fallback Chat Models.
 */
export async function itemModel(
	fn: IExecuteFunctions,
	llm: LlmConfig | undefined,
	settings: ModelItemSettings,
): Promise<ItemModel> {
	const { options, usage } = settings;
	const source = await chatModelFor(fn, llm, {
		chatModel: locatorValue(options.chatModel),
		temperature: options.temperature as number,
	});
	return {
		...source,
		callOptions: {
			...llmCallOptions(settings, source.llm),
			usage,
			fallbacks: [
				...(source.fallback ? [source.fallback] : []),
				...(source.llm?.fallbackChatModels ?? []).map((name) =>
					createChatModel(source.llm!, {
						model: name,
						temperature: (options.temperature as number) ?? 0,
					}),
				),
			],
		},
		options,
	};
}

/** Tools of the connected tool sub-nodes; toolkits (e.g. MCP Client) are expanded into their tools. */
export async function connectedTools(fn: IExecuteFunctions): Promise<StructuredToolInterface[]> {
	const connected = ((await fn.getInputConnectionData(NodeConnectionTypes.AiTool, 0)) ??
		[]) as unknown[];
	return (Array.isArray(connected) ? connected : [connected]).flatMap((entry) => {
		if (isApprovalGate(entry)) return [];
		const toolkit = entry as { getTools?: () => StructuredToolInterface[] };
		return typeof toolkit.getTools === 'function'
			? toolkit.getTools()
			: [entry as StructuredToolInterface];
	});
}

/** The connected memory sub-node for the item, or undefined. */
export async function connectedMemory(
	fn: IExecuteFunctions,
	itemIndex: number,
): Promise<ChatMemoryLike | undefined> {
	const memory = (await fn.getInputConnectionData(NodeConnectionTypes.AiMemory, itemIndex)) as
		ChatMemoryLike | undefined;
	if (memory && typeof memory.loadMemoryVariables !== 'function') {
		throw new NodeOperationError(
			fn.getNode(),
			'The node connected to Memory is not a chat memory',
			{ itemIndex },
		);
	}
	return memory;
}
