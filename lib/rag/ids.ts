import { createHash } from 'node:crypto';

/**
 * The chunk's record id: SHA-256 (hex) of knowledge base, source and chunk text, NUL-separated. Equal inputs give
 * equal ids on every run and machine, which makes re-ingesting an unchanged source a no-op.
 */
export function chunkId(knowledgeBase: string, source: string, text: string): string {
	return createHash('sha256').update(`${knowledgeBase}\u0000${source}\u0000${text}`).digest('hex');
}
