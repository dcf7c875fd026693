import { percentile } from '../lib/stats';

export function summary(values: readonly number[]) {
	const round = (x: number) => Math.round(x * 1000) / 1000;
	return {
		n: values.length,
		p50: round(percentile(values, 50)),
		p95: round(percentile(values, 95)),
		p99: round(percentile(values, 99)),
		max: round(Math.max(...values)),
	};
}
