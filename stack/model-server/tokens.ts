/** Rough token count (≈ 4 characters per token, OpenAI's rule of thumb); at least 1 for non-empty text. */
export function estimateTokens(text: string): number {
	return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));
}
