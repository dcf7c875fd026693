/** Token counts as reported by the API (prompt = input, completion = output). */
export interface TokenUsage {
	promptTokens: number;
	completionTokens: number;
	totalTokens: number;
}

export interface UsageTotals extends TokenUsage {
	/** Successful model calls (retried failures are not counted). */
	modelCalls: number;
}

/** Accumulates token usage over the calls of one item, node run or plan. */
export class UsageTracker {
	private totals: UsageTotals = {
		promptTokens: 0,
		completionTokens: 0,
		totalTokens: 0,
		modelCalls: 0,
	};

	/** Adds one successful call; `usage` is LangChain's usage_metadata (input/output/total tokens) when the API sent it. */
	record(usage?: { input_tokens?: number; output_tokens?: number; total_tokens?: number }): void {
		const prompt = usage?.input_tokens ?? 0;
		const completion = usage?.output_tokens ?? 0;
		this.totals = {
			promptTokens: this.totals.promptTokens + prompt,
			completionTokens: this.totals.completionTokens + completion,
			totalTokens: this.totals.totalTokens + (usage?.total_tokens ?? prompt + completion),
			modelCalls: this.totals.modelCalls + 1,
		};
	}

	/** Adds another tracker's totals (e.g. an item's to the node run's). */
	add(totals: UsageTotals): void {
		this.totals = {
			promptTokens: this.totals.promptTokens + totals.promptTokens,
			completionTokens: this.totals.completionTokens + totals.completionTokens,
			totalTokens: this.totals.totalTokens + totals.totalTokens,
			modelCalls: this.totals.modelCalls + totals.modelCalls,
		};
	}

	get(): UsageTotals {
		return { ...this.totals };
	}
}
