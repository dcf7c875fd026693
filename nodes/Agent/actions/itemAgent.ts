/** The model, tools and loop options of one item, shared by both templates. */
import type { StructuredToolInterface } from '@langchain/core/tools';
import { NodeOperationError, type IDataObject } from 'n8n-workflow';

import type {
	AgentOptions,
	CallOptions,
	ToolCallingChatModel,
	UsageTracker,
} from '../../../lib/llm';
import {
	knowledgeBaseSearcher,
	knowledgeBaseSearchTool,
	DEFAULT_SEARCH_TOOL_DESCRIPTION,
} from '../../shared/ai/searchTool';
import { memoryFor, resolveNamespace } from '../../shared/clients/memory';
import { memoryTools } from '../../../lib/memory';
import { budgetFromOptions } from '../../shared/fields/modelCalls';
import { itemModel } from '../../shared/ai/connections';
import { locatorValue } from '../../shared/fields/locators';
import { itemFacts, type ItemFacts } from './longTermMemory';
import type { AgentItem, AgentRun } from './types';

export interface ItemAgent {
	model: ToolCallingChatModel;
	tools: StructuredToolInterface[];
	/** For runAgent: call options, limits, budget, the item's usage tracker. */
	agentOptions: AgentOptions;
	/** Long-Term Memory, when on. */
	facts?: ItemFacts;
	/** For single model calls (structured output repair, learning). */
	callOptions: CallOptions & { usage: UsageTracker };
	options: IDataObject;
}

const seconds = (value: unknown) => (Number(value) > 0 ? Number(value) * 1000 : undefined);

/**
 * The item's model, tools (connected, plus the built-in Knowledge Base Search, memory and long-term memory tools), loop
 * options and long-term memory.
 */
export async function itemAgent(run: AgentRun, item: AgentItem): Promise<ItemAgent> {
	const { fn } = run;
	const { itemIndex } = item;
	const { model, llm, callOptions, options } = await itemModel(fn, run.llm, item);
	const tools = [...run.connectedTools];

	if (fn.getNodeParameter('knowledgeBaseSearch', itemIndex, false)) {
		if (!llm) {
			throw new NodeOperationError(
				fn.getNode(),
				"Knowledge Base Search needs an OpenAgents LLM API credential: it embeds the query with the credential's embedding model",
				{ itemIndex },
			);
		}
		const search = await knowledgeBaseSearcher(fn, item, llm, {
			knowledgeBase: locatorValue(fn.getNodeParameter('knowledgeBase', itemIndex)),
			topK: fn.getNodeParameter('topK', itemIndex, 4) as number,
			mode: 'hybrid',
			reranker: 'none',
			options: {},
		});
		tools.push(
			knowledgeBaseSearchTool('search_knowledge_base', DEFAULT_SEARCH_TOOL_DESCRIPTION, search),
		);
	}
	if (fn.getNodeParameter('memoryTools', itemIndex, false)) {
		const opened = await run.memoryStore.get();
		tools.push(...memoryTools(memoryFor(opened, item), resolveNamespace(fn, opened, item)));
	}
	const facts = await itemFacts(run, item);
	if (facts) tools.push(...facts.tools);

	const agentOptions: AgentOptions = {
		...callOptions,
		maxIterations: (options.maxIterations as number) ?? 10,
		toolTimeoutMs: seconds(options.toolTimeoutSeconds) ?? 60_000,
		maxToolErrors: (options.maxToolErrors as number) ?? 3,
		budget: budgetFromOptions(options),
	};
	return { model, tools, agentOptions, callOptions, options, ...(facts ? { facts } : {}) };
}
