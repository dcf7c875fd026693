/** parse-prometheus-text-format (a Prometheus text-format parser ported from the Python client), typed for tests. */
export interface ParsedFamily {
	name: string;
	help: string;
	type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
	metrics: Array<{
		labels?: Record<string, string>;
		value?: string;
		buckets?: Record<string, string>;
		count?: string;
		sum?: string;
	}>;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const parse = require('parse-prometheus-text-format') as (text: string) => ParsedFamily[];

export function parsePrometheusText(text: string): ParsedFamily[] {
	return parse(text);
}
