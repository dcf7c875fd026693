/** Nearest-rank percentile (p in 0..100) of `values`, which need not be sorted. */
export function percentile(values: readonly number[], p: number): number {
	if (!values.length) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function summary(values: readonly number[]) {
	const round = (x: number) => Math.round(x * 1000) / 1000;
	return { n: values.length, p50: round(percentile(values, 50)), p95: round(percentile(values, 95)), p99: round(percentile(values, 99)), max: round(Math.max(...values)) };
}
