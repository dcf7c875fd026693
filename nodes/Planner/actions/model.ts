/** The item's chat model and call options (a connected chat model sub-node, else the OpenAgents LLM API credential). */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { CallOptions, ToolCallingChatModel, UsageTracker } from '../../../lib/llm';
import { chatModelFor } from '../../Agent/transport/connections';
import { llmCallOptions } from '../../shared/llm';

export interface ItemModel {
	model: ToolCallingChatModel;
	callOptions: CallOptions & { usage: UsageTracker };
	options: IDataObject;
}

export async function itemModel(fn: IExecuteFunctions, itemIndex: number, usage: UsageTracker): Promise<ItemModel> {
	const options = fn.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const { model, llm } = await chatModelFor(fn, { chatModel: options.chatModel as string, temperature: options.temperature as number });
	return { model, callOptions: { ...llmCallOptions(fn, itemIndex, llm), usage }, options };
}

export interface Role {
	name: string;
	instructions: string;
	workflowId: string;
}

export function rolesOf(fn: IExecuteFunctions, itemIndex: number): Role[] {
	return ((fn.getNodeParameter('roles.role', itemIndex, []) as Role[]) ?? []).map((r) => ({
		name: String(r.name ?? '').trim(),
		instructions: String(r.instructions ?? ''),
		workflowId: String(r.workflowId ?? '').trim(),
	}));
}
