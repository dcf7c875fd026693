/**
 * Key derivation. Every user-supplied component (tenant, scope id, key) is percent-encoded over its UTF-8 bytes,
 * keeping only [A-Za-z0-9_.-] as is. The encoding is injective and its output never contains ':' (the separator)
 * nor any Redis glob character (* ? [ ] \), so no input — colons, wildcards, slashes, unicode, empty strings —
 * can produce another namespace's key or match another namespace in a pattern.
 */
import type { Namespace } from './scope';

const KEEP = /^[A-Za-z0-9_.-]$/;

export function encodeComponent(value: string): string {
	let out = '';
	for (const char of value) {
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
