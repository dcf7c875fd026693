/**
 * Key derivation. Every user-supplied component (tenant, scope id, key) is percent-encoded over its UTF-8 bytes,
 * keeping only [A-Za-z0-9_.-] as is. The encoding is injective and its output never contains ':' (the separator)
 * nor any Redis glob character (* ? [ ] \), so no input — colons, wildcards, slashes, unicode, empty strings —
 * can produce another namespace's key or match another namespace in a pattern. A string that is not well-formed
 * UTF-16 (a lone surrogate, e.g. '\uD800') has no UTF-8 bytes of its own (it would encode as U+FFFD, the same key as
 * '\uFFFD'), so it is refused with MemoryError invalid_address instead.
 */
import { MemoryError } from './errors';
import type { Namespace } from './scope';

const KEEP = /^[A-Za-z0-9_.-]$/;

/** Encodes one component (see the file comment). Throws MemoryError invalid_address for a lone surrogate. */
export function encodeComponent(value: string): string {
	let out = '';
	for (const char of value) {
		// A string iterates by code point; a surrogate left alone comes out as one code unit of its range.
		if (char.length === 1 && char.charCodeAt(0) >= 0xd800 && char.charCodeAt(0) <= 0xdfff)
			throw new MemoryError(
				`A name, key or tenant contains an unpaired UTF-16 surrogate (\\u${char.charCodeAt(0).toString(16).toUpperCase()}), which is not text: remove it`,
				'invalid_address',
			);
		if (KEEP.test(char)) {
			out += char;
			continue;
		}
		for (const byte of Buffer.from(char, 'utf8'))
			out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
	}
	return out;
}

export function decodeComponent(encoded: string): string {
	return decodeURIComponent(encoded);
}

/** `<tenant>:<scope>:<scopeId>`, each user component encoded; unique per namespace. */
export function namespaceId(ns: Namespace): string {
	return `${encodeComponent(ns.tenant)}:${ns.scope}:${encodeComponent(ns.scopeId)}`;
}
