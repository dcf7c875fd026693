import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time comparison of a presented secret (API key, approval ID) with the expected one: both are hashed
 * first (SHA-256), so neither the content nor the length of the expected secret leaks through timing.
 * Returns false for anything that is not a string.
 */
export function sameSecret(presented: unknown, expected: string): boolean {
	if (typeof presented !== 'string') return false;
	const digest = (value: string) => createHash('sha256').update(value).digest();
	return timingSafeEqual(digest(presented), digest(expected));
}
