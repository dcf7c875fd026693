import { MemoryError } from './errors';

export type JsonValue =
	null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Default largest stored value: 1 MiB of JSON text. */
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;

function findNonJson(value: unknown, path: string, seen: Set<object>): string | undefined {
	if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
	if (typeof value === 'number')
		return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot hold`;
	if (typeof value !== 'object') return `${path} is a ${typeof value}, which JSON cannot hold`;
	if (seen.has(value)) return `${path} refers back to itself (circular)`;
	seen.add(value);
	const proto = Object.getPrototypeOf(value);
	if (!Array.isArray(value) && proto !== Object.prototype && proto !== null)
		return `${path} is a ${value.constructor?.name ?? 'non-plain'} object, not plain JSON`;
	for (const [k, v] of Object.entries(value)) {
		const problem = findNonJson(v, Array.isArray(value) ? `${path}[${k}]` : `${path}.${k}`, seen);
		if (problem) return problem;
	}
	seen.delete(value);
	return undefined;
}

/**
 * Checks that `value` is plain JSON (no undefined, functions, NaN/Infinity, class instances, cycles) and that its
 * JSON text is at most `maxBytes` bytes (UTF-8). Returns the JSON text. Throws MemoryError('invalid_value').
 */
export function serializeValue(value: unknown, maxBytes = DEFAULT_MAX_VALUE_BYTES): string {
	const problem = findNonJson(value, 'value', new Set());
	if (problem) throw new MemoryError(`Cannot store this value: ${problem}`, 'invalid_value');
	const text = JSON.stringify(value);
	const bytes = Buffer.byteLength(text, 'utf8');
	if (bytes > maxBytes)
		throw new MemoryError(
			`The value is ${bytes} bytes as JSON; at most ${maxBytes} are allowed`,
			'invalid_value',
		);
	return text;
}
