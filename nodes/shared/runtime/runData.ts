/**
 * Sub-node calls in n8n's run data, as n8n's own sub-nodes show them: each call is one run of the sub-node with its
 * input and output (or error) under the sub-node's connection type, so the execution view lists it.
 */
import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type ISupplyDataFunctions,
	type NodeConnectionType,
} from 'n8n-workflow';

/** Runs `call`, recording `input` before and `output(result)` (or the error) after it, as one run of the sub-node. */
export async function recordCall<T>(
	fn: ISupplyDataFunctions,
	connectionType: NodeConnectionType,
	input: IDataObject,
	call: () => Promise<T>,
	output: (result: T) => IDataObject | Promise<IDataObject>,
): Promise<T> {
	const { index } = fn.addInputData(connectionType, [[{ json: input }]]);
	try {
		const result = await call();
		fn.addOutputData(connectionType, index, [[{ json: await output(result) }]]);
		return result;
	} catch (error) {
		// As n8n's own sub-nodes do: the failure is the sub-node's error, shown on it and passed to the agent.
		const failure = new NodeOperationError(fn.getNode(), error as Error, {
			functionality: 'configuration-node',
		});
		// n8n rewords a message naming a network code (ECONNREFUSED, …) and drops the server it names: keep ours.
		if (error instanceof Error) failure.message = error.message;
		fn.addOutputData(connectionType, index, failure);
		throw failure;
	}
}

/** The chat memory shape agents use (LangChain's BaseChatMemory). */
interface ChatMemory {
	loadMemoryVariables(values: Record<string, unknown>): Promise<Record<string, unknown>>;
	saveContext(input: Record<string, unknown>, output: Record<string, unknown>): Promise<void>;
	saveTurn?(messages: unknown[]): Promise<void>;
	chatHistory: { getMessages(): Promise<unknown[]> };
}

/**
 * The memory with each load and save recorded: `{ action: 'loadMemoryVariables', values }` → `{ action,
 * chatHistory }`, `{ action: 'saveContext', input, output }` or `{ action: 'saveTurn', messages }` → `{ action,
 * chatHistory }` (the history after the save, as n8n's memory nodes show it), errors too. Everything else passes
 * through unchanged.
 */
export function recordMemoryCalls<M extends ChatMemory>(fn: ISupplyDataFunctions, memory: M): M {
	const type = NodeConnectionTypes.AiMemory;
	const history = async () => ({
		chatHistory: (await memory.chatHistory.getMessages()) as unknown as IDataObject[],
	});
	return new Proxy(memory, {
		get(target, property, receiver) {
			if (property === 'loadMemoryVariables') {
				return (values: Record<string, unknown> = {}) =>
					recordCall(
						fn,
						type,
						{ action: 'loadMemoryVariables', values: values as IDataObject },
						() => target.loadMemoryVariables(values),
						(variables) => ({
							action: 'loadMemoryVariables',
							chatHistory: (variables.chat_history ?? variables) as IDataObject[],
						}),
					);
			}
			if (property === 'saveContext') {
				return (input: Record<string, unknown>, output: Record<string, unknown>) =>
					recordCall(
						fn,
						type,
						{ action: 'saveContext', input: input as IDataObject, output: output as IDataObject },
						() => target.saveContext(input, output),
						async () => ({
							action: 'saveContext',
							...(await history()),
						}),
					);
			}
			if (property === 'saveTurn' && target.saveTurn) {
				return (messages: unknown[]) =>
					recordCall(
						fn,
						type,
						{ action: 'saveTurn', messages: messages as IDataObject[] },
						() => target.saveTurn!(messages),
						async () => ({ action: 'saveTurn', ...(await history()) }),
					);
			}
			return Reflect.get(target, property, receiver);
		},
	});
}
