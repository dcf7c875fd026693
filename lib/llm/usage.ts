import { costOf, DEFAULT_CURRENCY, DEFAULT_PRICES, priceOf, type PriceTable } from './prices';

/** Token counts as reported by the API (prompt = input, completion = output). */
export interface TokenUsage {
	promptTokens: number;
	completionTokens: number;
	totalTokens: number;
}

export interface UsageTotals extends TokenUsage {
	/** Successful model calls (retried failures are not counted). */
	modelCalls: number;
	/** Prompt tokens the provider served from its prompt cache (part of promptTokens). */
	cachedPromptTokens: number;
	/** Completion tokens a reasoning model spent thinking, as the provider reports them (part of completionTokens). */
	reasoningTokens: number;
	/**
	 * True when the tokens of some call are our own count (cl100k_base), because the provider reported none (e.g. a
	 * stream without usage); absent when every count is the provider's.
	 */
	estimated?: true;
	/** Money spent on calls whose model has a price, in `currency`; calls without one are counted in unpricedCalls. */
	cost: number;
	currency: string;
	/** Successful calls whose model has no price (their cost is missing from `cost`). */
	unpricedCalls: number;
	/** Time spent waiting for rate-limit slots, ms. */
	rateLimitWaitMs: number;
	/** Model and embedding requests that failed and were tried again (under the Retry Policy). */
	retries: number;
	/** Tool calls that failed (the tool threw, or its arguments were invalid); the model saw the error. */
	toolErrors: number;
	/** The model that answered the latest call (the provider's name for it when it sends one). */
	model?: string;
	/** Set when the shared rate-limit store failed and calls were limited in this process only. */
	rateLimitWarning?: string;
}

/** LangChain's usage_metadata (input/output/total tokens, cache reads) as an API reports it. */
interface ReportedUsage {
	input_tokens?: number;
	output_tokens?: number;
	total_tokens?: number;
	input_token_details?: { cache_read?: number };
	output_token_details?: { reasoning?: number };
}

/** Accumulates token usage, cost and rate-limit waits over the calls of one item, node run or plan. */
export class UsageTracker {
	private totals: UsageTotals = {
		promptTokens: 0,
		completionTokens: 0,
		totalTokens: 0,
		modelCalls: 0,
		cachedPromptTokens: 0,
		reasoningTokens: 0,
		cost: 0,
		currency: DEFAULT_CURRENCY,
		unpricedCalls: 0,
		rateLimitWaitMs: 0,
		retries: 0,
		toolErrors: 0,
	};

	/** `prices`: per million tokens (default: DEFAULT_PRICES); `currency`: theirs. */
	constructor(
		private readonly prices: PriceTable = DEFAULT_PRICES,
		currency: string = DEFAULT_CURRENCY,
	) {
		this.totals.currency = currency;
	}

	/**
	 * Adds one successful call of `model` (the name the provider answered with, else the requested one); `usage` is
	 * LangChain's usage_metadata when the API sent it (`estimated`: counted by us because it sent none). The call's cost
	 * is added when the model has a price.
	 */
	record(usage?: ReportedUsage, model?: string, { estimated = false } = {}): void {
		const prompt = usage?.input_tokens ?? 0;
		const completion = usage?.output_tokens ?? 0;
		const cached = usage?.input_token_details?.cache_read ?? 0;
		const price = priceOf(model, this.prices);
		const t = this.totals;
		t.promptTokens += prompt;
		t.completionTokens += completion;
		t.totalTokens += usage?.total_tokens ?? prompt + completion;
		t.cachedPromptTokens += cached;
		t.reasoningTokens += usage?.output_token_details?.reasoning ?? 0;
		if (estimated) t.estimated = true;
		t.modelCalls += 1;
		if (price) t.cost += costOf(price, { input: prompt, output: completion, cachedInput: cached });
		else t.unpricedCalls += 1;
		if (model) t.model = model;
	}

	/** Adds input tokens an API does not report (embeddings: counted or estimated by the caller) to cost only. */
	recordEmbedding(tokens: number, model?: string): void {
		const price = priceOf(model, this.prices);
		if (price) this.totals.cost += costOf(price, { input: tokens, output: 0 });
	}

	/** Adds a rate-limit wait, ms, and the store's warning if it failed. */
	recordRateLimitWait(waitMs: number, warning?: string): void {
		this.totals.rateLimitWaitMs += waitMs;
		if (warning) this.totals.rateLimitWarning = warning;
	}

	/** Counts one failed request that is tried again. */
	recordRetry(): void {
		this.totals.retries += 1;
	}

	/** Counts one failed tool call. */
	recordToolError(): void {
		this.totals.toolErrors += 1;
	}

	/** Adds another tracker's totals (e.g. an item's to the node run's). */
	add(totals: UsageTotals): void {
		const t = this.totals;
		t.promptTokens += totals.promptTokens;
		t.completionTokens += totals.completionTokens;
		t.totalTokens += totals.totalTokens;
		t.modelCalls += totals.modelCalls;
		t.cachedPromptTokens += totals.cachedPromptTokens;
		t.reasoningTokens += totals.reasoningTokens ?? 0;
		if (totals.estimated) t.estimated = true;
		t.cost += totals.cost;
		t.unpricedCalls += totals.unpricedCalls;
		t.rateLimitWaitMs += totals.rateLimitWaitMs;
		t.retries += totals.retries ?? 0;
		t.toolErrors += totals.toolErrors ?? 0;
		if (totals.model) t.model = totals.model;
		if (totals.rateLimitWarning) t.rateLimitWarning = totals.rateLimitWarning;
	}

	get(): UsageTotals {
		return { ...this.totals, cost: Math.round(this.totals.cost * 1e8) / 1e8 };
	}
}

/**
 * `usage` plus what was spent `before` (e.g. before a wait for approval; undefined: `usage` as it is), in the currency
 * of `usage`.
 */
export function withEarlier(usage: UsageTotals, before: UsageTotals | undefined): UsageTotals {
	if (!before) return usage;
	const sum = new UsageTracker(DEFAULT_PRICES, usage.currency);
	sum.add(before);
	sum.add(usage);
	return sum.get();
}

/** The usage totals kept per execution (summed over every Agent, Planner and Knowledge Base node of it). */
export type ExecutionUsageField =
	| 'promptTokens'
	| 'completionTokens'
	| 'totalTokens'
	| 'modelCalls'
	| 'cost'
	| 'retries'
	| 'toolErrors';

/**
 * The execution custom data keys ($execution.customData; n8n keeps up to 10 per execution, values as strings) that
 * hold an execution's usage totals; cost in the credential's currency. Read back by lib/jobs for stats and metrics.
 */
export const EXECUTION_USAGE_KEYS: Record<ExecutionUsageField, string> = {
	promptTokens: 'openagents_prompt_tokens',
	completionTokens: 'openagents_completion_tokens',
	totalTokens: 'openagents_total_tokens',
	modelCalls: 'openagents_model_calls',
	cost: 'openagents_cost',
	retries: 'openagents_retries',
	toolErrors: 'openagents_tool_errors',
};
