/**
 * The tool-calling loop: the chat model answers or calls tools; tool results go back to it until it answers, a
 * limit is reached, or the budget runs out. Model calls go through invokeChatModel (retry policy, timeout, usage);
 * each tool call gets its own time limit; a tool that fails, or arguments the model garbled, come back to the model
 * as the tool result (so it can recover) until `maxToolErrors`. Calls that need a reviewer (`needsApproval`) stop the
 * run with status 'awaiting_approval'; `resume` continues it once the reviewer has decided.
 */
import { ToolMessage, type BaseMessage } from '@langchain/core/messages';
import type { StructuredToolInterface } from '@langchain/core/tools';

import { AttemptTimeoutError, messageOf, withTimeout } from '../retry';
import { invokeChatModel, messageText, type CallOptions, type InvokableChatModel } from './calls';
import {
	contentAttribute,
	GEN_AI,
	GEN_AI_OPERATION,
	inSpan,
	markFailed,
	recordsContent,
} from '../tracing';
import { redactText } from './redact';
import { UsageTracker, withEarlier, type UsageTotals } from './usage';

/** A chat model that can bind tools (LangChain BaseChatModel, or n8n's chat model sub-nodes). */
export interface ToolCallingChatModel extends InvokableChatModel {
	bindTools?(tools: StructuredToolInterface[]): InvokableChatModel;
}

export interface AgentBudget {
	/** Stop before a model call that would exceed this many calls. */
	maxModelCalls?: number;
	/** Stop once prompt + completion tokens reach this. */
	maxTotalTokens?: number;
	/** Stop once this much time has passed since the start, ms. */
	maxWallTimeMs?: number;
	/** Stop once the cost of the calls reaches this, in the usage tracker's currency. */
	maxCost?: number;
}

export interface AgentOptions extends CallOptions {
	/** Model turns at most (default 10); each turn may call several tools. */
	maxIterations?: number;
	/** Per tool call, ms (default 60 000). */
	toolTimeoutMs?: number;
	/** Failed tool calls returned to the model before the run stops (default 3). */
	maxToolErrors?: number;
	budget?: AgentBudget;
	/** Receives the model's text as it is generated (every turn's), when the model can stream. */
	onText?: (delta: string) => void;
	/**
	 * True for a tool call that must wait for a reviewer. The other calls of the same model turn run at once; the run
	 * then stops with status 'awaiting_approval' and `pending` (the waiting calls).
	 */
	needsApproval?: (call: { name: string; args: unknown }) => boolean;
	/** Continues a run that stopped with 'awaiting_approval': its result and the reviewer's decision per pending call. */
	resume?: { paused: AgentResult; decisions: ToolCallDecision[] };
}

/** A tool call the model made, waiting for a reviewer. */
export interface PendingToolCall {
	/** The model's tool call ID. */
	id: string;
	name: string;
	args: Record<string, unknown>;
}

/**
 * A reviewer's decision on one pending call: approve (run with the model's arguments), edit (run with `args`),
 * reject (the model gets `message` as the tool result), or timed_out (nobody decided in time; treated as a rejection).
 */
export type ToolCallDecision =
	| { id: string; action: 'approve' }
	| { id: string; action: 'edit'; args: Record<string, unknown> }
	| { id: string; action: 'reject' | 'timed_out'; message?: string };

export interface AgentStep {
	tool: string;
	input: unknown;
	/** The tool's result as the model saw it (for a failure: the error text). */
	output: string;
	error?: string;
	durationMs: number;
	/** The model whose turn called the tool (a fallback model when the primary failed). */
	model?: string;
	/** For a call that needed approval: the decision, and the model's arguments when the reviewer edited them. */
	approval?: { decision: 'approved' | 'edited' | 'rejected' | 'timed_out'; modelInput?: unknown };
}

export type AgentStatus =
	'completed' | 'max_iterations' | 'budget_exceeded' | 'tool_errors' | 'awaiting_approval';

export interface AgentResult {
	status: AgentStatus;
	/** The model's final text; for a stopped run, its last text so far ('' when none). */
	output: string;
	steps: AgentStep[];
	usage: UsageTotals;
	/** Model turns made. */
	iterations: number;
	/** Time the run worked, ms (a wait for approval not counted). */
	durationMs: number;
	/** The conversation including tool calls and results, for memory. */
	messages: BaseMessage[];
	/** Why the run stopped early. */
	reason?: string;
	/** With status 'awaiting_approval': the calls waiting for a reviewer (the other calls of that turn have run). */
	pending?: PendingToolCall[];
}

export class AgentError extends Error {
	override name = 'AgentError';

	constructor(
		readonly code: 'NO_MODEL' | 'EMPTY_PROMPT' | 'TOOL_NAME_COLLISION' | 'TOOLS_UNSUPPORTED',
		message: string,
	) {
		super(message);
	}
}

/** Why `budget` is used up after `spent` and `elapsedMs` (ms), or undefined while some is left. */
export function budgetSpent(
	budget: AgentBudget,
	spent: UsageTotals,
	elapsedMs: number,
): string | undefined {
	if (budget.maxModelCalls !== undefined && spent.modelCalls >= budget.maxModelCalls)
		return `the budget of ${budget.maxModelCalls} model calls is used up`;
	if (budget.maxTotalTokens !== undefined && spent.totalTokens >= budget.maxTotalTokens)
		return `the budget of ${budget.maxTotalTokens} tokens is used up (${spent.totalTokens} used)`;
	if (budget.maxCost !== undefined && spent.cost >= budget.maxCost)
		return `the budget of ${budget.maxCost} ${spent.currency} is used up (${spent.cost} spent)`;
	if (budget.maxWallTimeMs !== undefined && elapsedMs >= budget.maxWallTimeMs)
		return `the time budget of ${budget.maxWallTimeMs / 1000} s is used up`;
	return undefined;
}

/** Throws AgentError TOOL_NAME_COLLISION when two tools share a name (the model could not tell them apart). */
export function checkToolNames(tools: readonly StructuredToolInterface[]): void {
	const seen = new Map<string, number>();
	tools.forEach((tool, i) => {
		if (seen.has(tool.name))
			throw new AgentError(
				'TOOL_NAME_COLLISION',
				`Two tools are named "${tool.name}" (tools ${seen.get(tool.name)! + 1} and ${i + 1}); give each tool a unique name`,
			);
		seen.set(tool.name, i);
	});
}

/**
 * One tool call under the tool time limit, traced as an `execute_tool {name}` span. Returns the tool's output as the
 * model will see it, or for a failure `Error: …` with `error` (secrets redacted); rethrows only on cancellation.
 */
async function callTool(
	byName: ReadonlyMap<string, StructuredToolInterface>,
	call: { id?: string; name: string; args: unknown },
	options: AgentOptions,
): Promise<{ output: string; error?: string }> {
	return inSpan(
		`${GEN_AI_OPERATION.executeTool} ${call.name}`,
		{
			[GEN_AI.operationName]: GEN_AI_OPERATION.executeTool,
			[GEN_AI.toolName]: call.name,
			[GEN_AI.toolType]: 'function',
			...(call.id ? { [GEN_AI.toolCallId]: call.id } : {}),
		},
		async (span) => {
			if (recordsContent())
				span.setAttribute(GEN_AI.toolCallArguments, contentAttribute(call.args));
			const tool = byName.get(call.name);
			try {
				if (!tool)
					throw new Error(
						`There is no tool named "${call.name}"; available: ${[...byName.keys()].join(', ') || 'none'}`,
					);
				const value: unknown = await withTimeout(
					(signal) => tool.invoke(call.args, { signal }),
					options.toolTimeoutMs ?? 60_000,
					options.signal,
				);
				const output = typeof value === 'string' ? value : JSON.stringify(value);
				if (recordsContent()) span.setAttribute(GEN_AI.toolCallResult, contentAttribute(output));
				return { output };
			} catch (e) {
				if (options.signal?.aborted) throw e;
				const error =
					e instanceof AttemptTimeoutError
						? `Tool "${call.name}" timed out after ${e.timeoutMs} ms`
						: redactText(messageOf(e), options.secrets ?? []);
				markFailed(span, new Error(error));
				return { output: `Error: ${error}`, error };
			}
		},
	);
}

/**
 * Runs the loop over `messages` (system, history, user) with `tools`. Returns the result with status 'completed', or a
 * partial result with status 'max_iterations' / 'budget_exceeded' / 'tool_errors' and `reason`. Throws AgentError for
 * tool name collisions or a model without tool support, and model errors as invokeChatModel throws them (after
 * its retries), with secrets redacted.
 */
export async function runAgent(
	model: ToolCallingChatModel,
	messages: BaseMessage[],
	tools: StructuredToolInterface[],
	options: AgentOptions,
): Promise<AgentResult> {
	checkToolNames(tools);
	if (tools.length && !model.bindTools)
		throw new AgentError(
			'TOOLS_UNSUPPORTED',
			'This chat model cannot call tools; connect one that supports tool calling, or remove the tools',
		);
	const bind = (m: ToolCallingChatModel): InvokableChatModel => {
		if (!tools.length) return m;
		if (!m.bindTools)
			throw new AgentError(
				'TOOLS_UNSUPPORTED',
				'A fallback chat model cannot call tools; connect one that supports tool calling',
			);
		return m.bindTools(tools);
	};
	const bound = bind(model);
	const fallbacks = (options.fallbacks as ToolCallingChatModel[] | undefined)?.map(bind);
	const byName = new Map(tools.map((t) => [t.name, t]));
	const usage = options.usage ?? new UsageTracker();
	const paused = options.resume?.paused;
	// A resumed run goes on from where it paused: its usage and working time count against the budget.
	const before = paused?.usage;
	const started = Date.now() - (paused?.durationMs ?? 0);
	const maxIterations = options.maxIterations ?? 10;
	const maxToolErrors = options.maxToolErrors ?? 3;
	const budget = options.budget ?? {};
	const history = paused ? [...paused.messages] : [...messages];
	const steps: AgentStep[] = paused ? [...paused.steps] : [];
	let lastText = paused?.output ?? '';
	let toolErrors = steps.filter((step) => step.error).length;
	let iterations = paused?.iterations ?? 0;

	const spent = (): UsageTotals => withEarlier(usage.get(), before);
	const result = (status: AgentStatus, reason?: string): AgentResult => ({
		status,
		output: lastText,
		steps,
		usage: spent(),
		iterations,
		durationMs: Date.now() - started,
		messages: history,
		...(reason ? { reason } : {}),
	});
	const overBudget = () => budgetSpent(budget, spent(), Date.now() - started);
	const runCall = async (
		call: { id?: string; name: string; args: unknown },
		answeredBy: string | undefined,
		approval?: AgentStep['approval'],
	) => {
		const t0 = Date.now();
		const { output, error } = await callTool(byName, call, options);
		if (error) {
			toolErrors++;
			usage.recordToolError();
		}
		history.push(
			new ToolMessage({
				tool_call_id: call.id ?? '',
				content: output,
				...(error ? { status: 'error' as const } : {}),
			}),
		);
		steps.push({
			tool: call.name,
			input: call.args,
			output,
			...(error ? { error } : {}),
			durationMs: Date.now() - t0,
			...(answeredBy ? { model: answeredBy } : {}),
			...(approval ? { approval } : {}),
		});
	};
	const tooManyErrors = () =>
		toolErrors > maxToolErrors
			? result('tool_errors', `Stopped: ${toolErrors} failed tool calls (limit ${maxToolErrors})`)
			: undefined;

	if (options.resume) {
		const answeredBy = paused!.usage.model;
		for (const call of paused!.pending ?? []) {
			const decision = options.resume.decisions.find((d) => d.id === call.id);
			if (decision?.action === 'approve') {
				await runCall(call, answeredBy, { decision: 'approved' });
			} else if (decision?.action === 'edit') {
				await runCall({ ...call, args: decision.args }, answeredBy, {
					decision: 'edited',
					modelInput: call.args,
				});
			} else {
				const timedOut = !decision || decision.action === 'timed_out';
				const output = timedOut
					? `Not run: no reviewer approved this call in time.${decision?.message ? ` ${decision.message}` : ''}`
					: `Not run: the reviewer rejected this call.${decision.message ? ` Reviewer's message: ${decision.message}` : ''}`;
				history.push(new ToolMessage({ tool_call_id: call.id, content: output }));
				steps.push({
					tool: call.name,
					input: call.args,
					output,
					durationMs: 0,
					...(answeredBy ? { model: answeredBy } : {}),
					approval: { decision: timedOut ? 'timed_out' : 'rejected' },
				});
			}
		}
		const stop = tooManyErrors();
		if (stop) return stop;
	}

	while (iterations < maxIterations) {
		const stop = overBudget();
		if (stop) return result('budget_exceeded', `Stopped: ${stop}`);
		iterations++;
		const reply = await invokeChatModel(bound, history, { ...options, usage, fallbacks });
		const answeredBy = usage.get().model;
		history.push(reply);
		lastText = messageText(reply) || lastText;
		const calls = reply.tool_calls ?? [];
		const invalid = reply.invalid_tool_calls ?? [];
		if (!calls.length && !invalid.length) return result('completed');

		for (const call of invalid) {
			const error = `The arguments for tool "${call.name ?? '?'}" are not valid JSON (${call.error ?? 'parse error'}): ${String(call.args ?? '').slice(0, 200)}. Call it again with a JSON object that matches its schema.`;
			history.push(
				new ToolMessage({ tool_call_id: call.id ?? '', content: error, status: 'error' }),
			);
			steps.push({
				tool: call.name ?? '?',
				input: call.args ?? null,
				output: error,
				error,
				durationMs: 0,
				...(answeredBy ? { model: answeredBy } : {}),
			});
			toolErrors++;
			usage.recordToolError();
		}
		const pending: PendingToolCall[] = [];
		for (const call of calls) {
			// A call to a tool that does not exist fails at once (nothing to approve).
			if (byName.has(call.name) && options.needsApproval?.(call)) {
				pending.push({ id: call.id ?? '', name: call.name, args: call.args });
				continue;
			}
			await runCall(call, answeredBy);
		}
		const stopped = tooManyErrors();
		if (stopped) return stopped;
		if (pending.length) {
			const names = [...new Set(pending.map((call) => call.name))].join(', ');
			return {
				...result('awaiting_approval', `Waiting for a reviewer to approve: ${names}`),
				pending,
			};
		}
	}
	return result(
		'max_iterations',
		`Stopped: the model was still calling tools after ${maxIterations} turns (Max Iterations)`,
	);
}
