/**
 * Nearest-rank percentile (p in 0..100) of `values` (need not be sorted): the smallest value v such that at least
 * p % of the values are ≤ v (Hyndman & Fan 1996, definition 1). NaN for no values; throws RangeError for p out of range.
 */
export function percentile(values: readonly number[], p: number): number {
	if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be between 0 and 100, got ${p}`);
	if (!values.length) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
