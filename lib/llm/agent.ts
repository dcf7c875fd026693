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

type AgentStatus =
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
function checkToolNames(tools: readonly StructuredToolInterface[]): void {
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
 * partial result with status 'max_iterations' / 'budget_exceeded' / 'tool_errors' / 'awaiting_approval' and `reason`.
 * With `options.resume`, first carries out the reviewer's decisions on the paused run's pending calls, then goes on
 * from there. Throws AgentError for tool name collisions or a model without tool support, and model errors as
 * invokeChatModel throws them (after its retries), with secrets redacted.
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
	const loop = new AgentLoop(model, messages, tools, options);
	if (options.resume) {
		const stop = await loop.applyDecisions(options.resume);
		if (stop) return stop;
	}
	return loop.run();
}

/** A tool call as the model made it (the id may be missing with some providers). */
type ToolCall = { id?: string; name: string; args: unknown };

/**
 * The state of one runAgent call: the conversation so far, the steps (tool calls made), the failed tool calls and the
 * model turns. A resumed run starts from the paused run's state.
 */
class AgentLoop {
	private readonly bound: InvokableChatModel;
	private readonly fallbacks?: InvokableChatModel[];
	private readonly byName: Map<string, StructuredToolInterface>;
	private readonly usage: UsageTracker;
	/** A resumed run's usage so far, added to this run's. */
	private readonly before?: UsageTotals;
	/** ms since the epoch; a resumed run's working time is counted in (its wait for approval is not). */
	private readonly started: number;
	private readonly maxIterations: number;
	private readonly maxToolErrors: number;
	private readonly history: BaseMessage[];
	private readonly steps: AgentStep[];
	private lastText: string;
	private toolErrors: number;
	private iterations: number;

	constructor(
		model: ToolCallingChatModel,
		messages: BaseMessage[],
		private readonly tools: StructuredToolInterface[],
		private readonly options: AgentOptions,
	) {
		this.bound = this.bind(model);
		this.fallbacks = (options.fallbacks as ToolCallingChatModel[] | undefined)?.map((m) =>
			this.bind(m),
		);
		this.byName = new Map(tools.map((t) => [t.name, t]));
		this.usage = options.usage ?? new UsageTracker();
		const paused = options.resume?.paused;
		// A resumed run goes on from where it paused: its usage and working time count against the budget.
		this.before = paused?.usage;
		this.started = Date.now() - (paused?.durationMs ?? 0);
		this.maxIterations = options.maxIterations ?? 10;
		this.maxToolErrors = options.maxToolErrors ?? 3;
		this.history = paused ? [...paused.messages] : [...messages];
		this.steps = paused ? [...paused.steps] : [];
		this.lastText = paused?.output ?? '';
		this.toolErrors = this.steps.filter((step) => step.error).length;
		this.iterations = paused?.iterations ?? 0;
	}

	/** The model with the tools bound; throws AgentError TOOLS_UNSUPPORTED for a fallback model that cannot call tools. */
	private bind(m: ToolCallingChatModel): InvokableChatModel {
		if (!this.tools.length) return m;
		if (!m.bindTools)
			throw new AgentError(
				'TOOLS_UNSUPPORTED',
				'A fallback chat model cannot call tools; connect one that supports tool calling',
			);
		return m.bindTools(this.tools);
	}

	/**
	 * Carries out the reviewer's decisions on the paused run's pending calls: approved and edited calls run, rejected
	 * and timed-out ones reach the model as a "Not run" tool result. Returns a stopped result when the calls failed
	 * too often, else undefined.
	 */
	async applyDecisions(
		resume: NonNullable<AgentOptions['resume']>,
	): Promise<AgentResult | undefined> {
		const answeredBy = resume.paused.usage.model;
		for (const call of resume.paused.pending ?? []) {
			const decision = resume.decisions.find((d) => d.id === call.id);
			if (decision?.action === 'approve') {
				await this.runCall(call, answeredBy, { decision: 'approved' });
			} else if (decision?.action === 'edit') {
				await this.runCall({ ...call, args: decision.args }, answeredBy, {
					decision: 'edited',
					modelInput: call.args,
				});
			} else {
				this.refuseCall(call, answeredBy, decision);
			}
		}
		return this.tooManyErrors();
	}

	/** Model turns until the model answers without calling tools, or a limit, the budget or an approval stops the run. */
	async run(): Promise<AgentResult> {
		while (this.iterations < this.maxIterations) {
			const stop = this.overBudget();
			if (stop) return this.result('budget_exceeded', `Stopped: ${stop}`);
			const result = await this.turn();
			if (result) return result;
		}
		return this.result(
			'max_iterations',
			`Stopped: the model was still calling tools after ${this.maxIterations} turns (Max Iterations)`,
		);
	}

	/**
	 * One model turn: the reply goes into the history and its tool calls run, except those waiting for a reviewer.
	 * Returns the result when the run ends with this turn, else undefined.
	 */
	private async turn(): Promise<AgentResult | undefined> {
		this.iterations++;
		const reply = await invokeChatModel(this.bound, this.history, {
			...this.options,
			usage: this.usage,
			fallbacks: this.fallbacks,
		});
		const answeredBy = this.usage.get().model;
		this.history.push(reply);
		this.lastText = messageText(reply) || this.lastText;
		const calls = reply.tool_calls ?? [];
		const invalid = reply.invalid_tool_calls ?? [];
		if (!calls.length && !invalid.length) return this.result('completed');

		for (const call of invalid) this.rejectInvalidCall(call, answeredBy);
		const pending: PendingToolCall[] = [];
		for (const call of calls) {
			// A call to a tool that does not exist fails at once (nothing to approve).
			if (this.byName.has(call.name) && this.options.needsApproval?.(call)) {
				pending.push({ id: call.id ?? '', name: call.name, args: call.args });
				continue;
			}
			await this.runCall(call, answeredBy);
		}
		const stopped = this.tooManyErrors();
		if (stopped) return stopped;
		if (pending.length) {
			const names = [...new Set(pending.map((call) => call.name))].join(', ');
			return {
				...this.result('awaiting_approval', `Waiting for a reviewer to approve: ${names}`),
				pending,
			};
		}
		return undefined;
	}

	/** Runs one tool call and records its result (as the model sees it) in the history and the steps. */
	private async runCall(
		call: ToolCall,
		answeredBy: string | undefined,
		approval?: AgentStep['approval'],
	): Promise<void> {
		const t0 = Date.now();
		const { output, error } = await callTool(this.byName, call, this.options);
		if (error) this.countToolError();
		this.history.push(
			new ToolMessage({
				tool_call_id: call.id ?? '',
				content: output,
				...(error ? { status: 'error' as const } : {}),
			}),
		);
		this.steps.push({
			tool: call.name,
			input: call.args,
			output,
			...(error ? { error } : {}),
			durationMs: Date.now() - t0,
			...(answeredBy ? { model: answeredBy } : {}),
			...(approval ? { approval } : {}),
		});
	}

	/** A pending call the reviewer rejected, or nobody decided on in time (no decision counts as timed out). */
	private refuseCall(
		call: PendingToolCall,
		answeredBy: string | undefined,
		decision: Extract<ToolCallDecision, { action: 'reject' | 'timed_out' }> | undefined,
	): void {
		const timedOut = !decision || decision.action === 'timed_out';
		const message = decision?.message;
		const output = timedOut
			? `Not run: no reviewer approved this call in time.${message ? ` ${message}` : ''}`
			: `Not run: the reviewer rejected this call.${message ? ` Reviewer's message: ${message}` : ''}`;
		this.history.push(new ToolMessage({ tool_call_id: call.id, content: output }));
		this.steps.push({
			tool: call.name,
			input: call.args,
			output,
			durationMs: 0,
			...(answeredBy ? { model: answeredBy } : {}),
			approval: { decision: timedOut ? 'timed_out' : 'rejected' },
		});
	}

	/** A call whose arguments are not valid JSON: the model gets the parse error as a failed tool result. */
	private rejectInvalidCall(
		call: { id?: string; name?: string; args?: string; error?: string },
		answeredBy: string | undefined,
	): void {
		const error = `The arguments for tool "${call.name ?? '?'}" are not valid JSON (${call.error ?? 'parse error'}): ${String(call.args ?? '').slice(0, 200)}. Call it again with a JSON object that matches its schema.`;
		this.history.push(
			new ToolMessage({ tool_call_id: call.id ?? '', content: error, status: 'error' }),
		);
		this.steps.push({
			tool: call.name ?? '?',
			input: call.args ?? null,
			output: error,
			error,
			durationMs: 0,
			...(answeredBy ? { model: answeredBy } : {}),
		});
		this.countToolError();
	}

	private countToolError(): void {
		this.toolErrors++;
		this.usage.recordToolError();
	}

	private tooManyErrors(): AgentResult | undefined {
		return this.toolErrors > this.maxToolErrors
			? this.result(
					'tool_errors',
					`Stopped: ${this.toolErrors} failed tool calls (limit ${this.maxToolErrors})`,
				)
			: undefined;
	}

	/** This run's usage plus a resumed run's earlier usage. */
	private spent(): UsageTotals {
		return withEarlier(this.usage.get(), this.before);
	}

	private overBudget(): string | undefined {
		return budgetSpent(this.options.budget ?? {}, this.spent(), Date.now() - this.started);
	}

	private result(status: AgentStatus, reason?: string): AgentResult {
		return {
			status,
			output: this.lastText,
			steps: this.steps,
			usage: this.spent(),
			iterations: this.iterations,
			durationMs: Date.now() - this.started,
			messages: this.history,
			...(reason ? { reason } : {}),
		};
	}
}
