import { createHash } from 'node:crypto';

/**
 * The chunk's record id: SHA-256 (hex) of knowledge base, source, chunk text and (when there is one) heading path,
 * NUL-separated. Equal inputs give equal ids on every run and machine, which makes re-ingesting an unchanged source a
 * no-op. Everything keyword search indexes is in the id, so a chunk whose id is unchanged needs no re-indexing.
 */
export function chunkId(
	knowledgeBase: string,
	source: string,
	text: string,
	headingPath = '',
): string {
	const heading = headingPath ? `\u0000${headingPath}` : '';
	return createHash('sha256')
		.update(`${knowledgeBase}\u0000${source}\u0000${text}${heading}`)
		.digest('hex');
}
