/**
 * One conversation turn of an agent, in three steps: the prompt (system message, chat history from memory or the
 * client's conversation, the user's message) → the tool-calling run (runAgent) → the answer (structured output
 * validated and repaired once, the turn saved to memory). A run waiting for a reviewer comes back as it is, to be
 * resumed with the reviewer's decisions.
 */
import { HumanMessage, SystemMessage, type BaseMessage } from '@langchain/core/messages';
import type { StructuredToolInterface } from '@langchain/core/tools';
import type { ZodType } from 'zod';

import { turnMessages } from '../memory/langchain-memory';
import { memoryErrorOf, storeFailureCode } from '../memory/store-failures';
import {
	runAgent,
	type AgentOptions,
	type AgentResult,
	type ToolCallDecision,
	type ToolCallingChatModel,
} from './agent';
import type { CallOptions } from './calls';
import { repairStructured, structuredInstruction } from './structured';

/** LangChain's BaseChatMemory as chat memory sub-nodes supply it (n8n's own, or the OpenAgents Chat Memory). */
interface ChatMemoryLike {
	memoryKey?: string;
	loadMemoryVariables(values: Record<string, unknown>): Promise<Record<string, unknown>>;
	saveContext(input: Record<string, unknown>, output: Record<string, unknown>): Promise<void>;
	/** OpenAgents Chat Memory only: stores a whole turn, tool calls and their results included. */
	saveTurn?(messages: BaseMessage[]): Promise<void>;
}

interface ConversationTurn {
	model: ToolCallingChatModel;
	tools: StructuredToolInterface[];
	/** For runAgent: call options, limits, budget, usage. */
	agentOptions: AgentOptions;
	/** For the structured-output repair call. */
	callOptions: CallOptions;
	system: string;
	/** The user's message (what memory records as the user's turn). */
	prompt: string;
	/** A client's whole conversation (an OpenAI-compatible request); with a memory, the memory holds it instead. */
	clientMessages?: BaseMessage[];
	memory?: ChatMemoryLike;
	/** The answer must be JSON matching this schema; undefined for text. */
	schema?: ZodType;
	/** Calls that wait for a reviewer. */
	needsApproval?: AgentOptions['needsApproval'];
	/** Continues a run that waited: where it paused, the decisions, where its own messages start. */
	resume?: { paused: AgentResult; decisions: ToolCallDecision[]; promptMessages: number };
}

/**
 * What became of the turn in memory: saved, or not saved (after the memory's own retries) with the failure's code
 * (store_unavailable, store_timeout, … or null) and message. The answer is returned either way.
 */
export type MemorySave = { saved: true } | { saved: false; code: string | null; error: string };

type TurnOutcome =
	| {
			status: 'completed' | 'budget_exceeded';
			/** The text answer, or the validated object. */
			output: unknown;
			result: AgentResult;
			/** Repair rounds of structured output (0 or 1), when a schema was given. */
			structuredRepairs?: number;
			/** With a memory: whether the turn was saved in it. */
			memory?: MemorySave;
	  }
	/** `promptMessages`: messages before the run's own, kept with the paused run. */
	| { status: 'awaiting_approval'; result: AgentResult; promptMessages: number };

/**
 * A run that stopped without a result (max iterations, too many tool errors, a failed step in strict mode, output
 * that stayed invalid, an approval that timed out with "fail"): `code` names why, `partial` holds the output so far.
 */
export class AgentRunError extends Error {
	override name = 'AgentRunError';

	constructor(
		message: string,
		readonly code: string,
		readonly partial: Record<string, unknown>,
	) {
		super(message);
	}
}

/** The JSON summary of a run (its steps without the raw messages). */
export function runSummary(result: AgentResult): Record<string, unknown> {
	return {
		status: result.status,
		iterations: result.iterations,
		steps: result.steps,
		...(result.reason ? { reason: result.reason } : {}),
	};
}

/** The conversation so far, as messages (memories that return a transcript string give one system message). */
async function loadHistory(memory: ChatMemoryLike): Promise<BaseMessage[]> {
	const variables = await memory.loadMemoryVariables({});
	const value = variables[memory.memoryKey ?? 'chat_history'] ?? Object.values(variables)[0];
	if (Array.isArray(value)) return value as BaseMessage[];
	if (typeof value === 'string' && value.trim())
		return [new SystemMessage(`The conversation so far:\n${value}`)];
	return [];
}

/** Step 1: the messages the run starts with; a resumed run continues its saved conversation (nothing read again). */
async function promptOf(turn: ConversationTurn): Promise<BaseMessage[]> {
	if (turn.resume) return [];
	const { schema, system, memory } = turn;
	const instruction = schema
		? `${system}\n\nWhen you give your final answer, ${structuredInstruction(schema).replace(/^Reply/, 'reply')}`
		: system;
	const conversation =
		turn.clientMessages && !memory
			? turn.clientMessages
			: [...(memory ? await loadHistory(memory) : []), new HumanMessage(turn.prompt)];
	return [new SystemMessage(instruction), ...conversation];
}

/** Step 3a: the validated answer; output still invalid after one repair throws AgentRunError invalid_output. */
async function structuredAnswer(
	turn: ConversationTurn,
	result: AgentResult,
): Promise<{ output: unknown; structuredRepairs?: number }> {
	if (!turn.schema || result.status !== 'completed') return { output: result.output };
	const { model, tools } = turn;
	// The repair continues the same conversation, so the tool definitions go with it (some APIs require them).
	const bound = tools.length && model.bindTools ? model.bindTools(tools) : model;
	try {
		const { value, repairs } = await repairStructured(
			bound,
			result.messages,
			result.output,
			turn.schema,
			turn.callOptions,
		);
		return { output: value, structuredRepairs: repairs };
	} catch (error) {
		throw new AgentRunError((error as Error).message, 'invalid_output', {
			output: result.output,
			...runSummary(result),
			issues: (error as { issues?: string[] }).issues ?? [],
		});
	}
}

/**
 * Step 3b: the turn into memory (our Chat Memory keeps the tool calls; any other gets LangChain's input/output). The
 * answer has been paid for, so a save that fails (the memory has retried under its own Retry Policy) does not fail the
 * turn: it is reported as `{ saved: false, code, error }`. Cancellation still ends the turn.
 */
async function remember(
	turn: ConversationTurn,
	produced: BaseMessage[],
	output: unknown,
): Promise<MemorySave | undefined> {
	const { memory, prompt } = turn;
	if (!memory) return undefined;
	const answer = typeof output === 'string' ? output : JSON.stringify(output);
	try {
		if (typeof memory.saveTurn === 'function')
			await memory.saveTurn(turnMessages(prompt, produced, answer));
		else await memory.saveContext({ input: prompt }, { output: answer });
		return { saved: true };
	} catch (error) {
		if (turn.agentOptions.signal?.aborted) throw error;
		// Our Chat Memory's MemoryError (n8n wraps it); another memory's error is classified the same way.
		const own = memoryErrorOf(error);
		const message = (own ?? (error as { message?: unknown } | undefined))?.message;
		return {
			saved: false,
			code: own?.code ?? storeFailureCode(error) ?? null,
			error: typeof message === 'string' ? message : String(error),
		};
	}
}

/**
 * Runs one turn (see the file comment). Throws AgentRunError for max_iterations, tool_errors and invalid_output (with
 * the partial result), and what runAgent throws; loading the history from memory throws what the memory throws, and
 * a failed save is the outcome's `memory`, not an error.
 */
export async function runConversationTurn(turn: ConversationTurn): Promise<TurnOutcome> {
	const messages = await promptOf(turn);
	const promptMessages = turn.resume?.promptMessages ?? messages.length;
	const result = await runAgent(turn.model, messages, turn.tools, {
		...turn.agentOptions,
		...(turn.needsApproval ? { needsApproval: turn.needsApproval } : {}),
		...(turn.resume ? { resume: turn.resume } : {}),
	});
	if (result.status === 'awaiting_approval')
		return { status: 'awaiting_approval', result, promptMessages };
	if (result.status === 'max_iterations' || result.status === 'tool_errors')
		throw new AgentRunError(result.reason!, result.status, {
			output: result.output,
			...runSummary(result),
		});
	const answer = await structuredAnswer(turn, result);
	const memory = await remember(turn, result.messages.slice(promptMessages), answer.output);
	return { status: result.status, result, ...answer, ...(memory ? { memory } : {}) };
}
