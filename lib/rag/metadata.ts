import { RagError } from './errors';

/** Chroma metadata values are scalars; anything else is rejected before it reaches the server. */
type MetadataValue = string | number | boolean;
export type Metadata = Record<string, MetadataValue>;

/** Metadata keys this library writes on every chunk; user metadata may not use them. */
const RESERVED_KEYS: ReadonlySet<string> = new Set([
	'source',
	'format',
	'chunkIndex',
	'start',
	'end',
	'headingPath',
	'page',
]);

/**
 * Checks user metadata: scalar values only (string, finite number, boolean), no reserved key. Null/undefined
 * values are dropped. Throws RagError INVALID_DOCUMENT naming the key.
 */
export function checkMetadata(metadata: Record<string, unknown> | undefined): Metadata {
	const out: Metadata = {};
	for (const [key, value] of Object.entries(metadata ?? {})) {
		if (value === null || value === undefined) continue;
		if (RESERVED_KEYS.has(key))
			throw new RagError(
				'INVALID_DOCUMENT',
				`Metadata key "${key}" is reserved (${[...RESERVED_KEYS].join(', ')})`,
			);
		const ok =
			typeof value === 'string' ||
			typeof value === 'boolean' ||
			(typeof value === 'number' && Number.isFinite(value));
		if (!ok)
			throw new RagError(
				'INVALID_DOCUMENT',
				`Metadata "${key}" must be a string, finite number or boolean, got ${Array.isArray(value) ? 'an array' : typeof value}`,
			);
		out[key] = value as MetadataValue;
	}
	return out;
}
