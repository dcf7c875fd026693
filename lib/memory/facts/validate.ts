import { MemoryError } from '../errors';
import type { FactMetadata } from './types';

/** Longest fact text or query, characters. */
export const MAX_FACT_CHARS = 10_000;
/** Largest topK of one recall. */
export const MAX_TOP_K = 100;

/**
 * A prompt or a turn as a recall query: its first MAX_FACT_CHARS characters (a recall query is held to a fact's
 * length, a chat message is not).
 */
export const asRecallQuery = (text: string): string => text.slice(0, MAX_FACT_CHARS);

/** The text trimmed; throws MemoryError invalid_value when it is empty, not text or longer than MAX_FACT_CHARS. */
export function checkText(text: unknown, what = 'The fact text'): string {
	if (typeof text !== 'string' || !text.trim())
		throw new MemoryError(`${what} must be non-empty text`, 'invalid_value');
	const trimmed = text.trim();
	if (trimmed.length > MAX_FACT_CHARS)
		throw new MemoryError(
			`${what} is ${trimmed.length} characters long; at most ${MAX_FACT_CHARS} are allowed`,
			'invalid_value',
		);
	return trimmed;
}

/** Flat metadata (string, finite number or boolean values); throws MemoryError invalid_value otherwise. */
export function checkMetadata(metadata: unknown): FactMetadata {
	if (metadata === undefined || metadata === null) return {};
	if (typeof metadata !== 'object' || Array.isArray(metadata))
		throw new MemoryError('Metadata must be an object of keys and values', 'invalid_value');
	for (const [key, value] of Object.entries(metadata)) {
		const flat =
			typeof value === 'string' ||
			typeof value === 'boolean' ||
			(typeof value === 'number' && Number.isFinite(value));
		if (!key || !flat)
			throw new MemoryError(
				`Metadata "${key}" must be a string, a finite number or a boolean, got ${JSON.stringify(value) ?? typeof value}`,
				'invalid_value',
			);
	}
	return { ...(metadata as FactMetadata) };
}

export function checkTopK(topK: unknown = 5): number {
	if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K)
		throw new MemoryError(
			`Top K must be a whole number from 1 to ${MAX_TOP_K}, got ${String(topK)}`,
			'invalid_value',
		);
	return topK;
}

/** True when `metadata` has every pair of `filter`. */
export function matchesMetadata(metadata: FactMetadata, filter: FactMetadata): boolean {
	return Object.entries(filter).every(([key, value]) => metadata[key] === value);
}

/** The form two texts are compared in to find a repeated fact: case, whitespace and a final full stop folded. */
export function sameFactText(a: string, b: string): boolean {
	const fold = (text: string) =>
		text
			.toLowerCase()
			.replace(/\s+/g, ' ')
			.replace(/[.!]+$/, '')
			.trim();
	return fold(a) === fold(b);
}

export function sameMetadata(a: FactMetadata, b: FactMetadata): boolean {
	const keys = Object.keys(a);
	return keys.length === Object.keys(b).length && matchesMetadata(a, b);
}
