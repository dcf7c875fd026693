/**
 * Deterministic stand-in embeddings: feature hashing (Weinberger et al., 2009) of lower-cased word unigrams
 * (weight 1) and character trigrams of each word (weight 0.5) into `dimensions` buckets with a hashed sign,
 * then L2-normalised. Texts that share words or word fragments get a higher cosine similarity; nothing is
 * learned, so this is a test fixture, not a semantic model.
 */
export const DEFAULT_EMBEDDING_DIMENSIONS = 256;

/** 32-bit FNV-1a over the UTF-16 code units of `text`. */
function fnv1a(text: string, seed = 0x811c9dc5): number {
	let hash = seed >>> 0;
	for (let i = 0; i < text.length; i++) {
		hash ^= text.charCodeAt(i);
		hash = Math.imul(hash, 0x01000193) >>> 0;
	}
	return hash >>> 0;
}

/** Lower-cased words (Unicode letters and digits). */
export function words(text: string): string[] {
	return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * embed(text, dimensions): number[] of length `dimensions`, unit L2 norm (all zeros only for text without words).
 */
export function embed(text: string, dimensions = DEFAULT_EMBEDDING_DIMENSIONS): number[] {
	const vector = new Array<number>(dimensions).fill(0);
	const add = (feature: string, weight: number) => {
		const bucket = fnv1a(feature) % dimensions;
		const sign = fnv1a(feature, 0x9747b28c) & 1 ? 1 : -1;
		vector[bucket] += sign * weight;
	};
	for (const word of words(text)) {
		add(`w:${word}`, 1);
		const padded = ` ${word} `;
		for (let i = 0; i + 3 <= padded.length; i++) add(`c:${padded.slice(i, i + 3)}`, 0.5);
	}
	const norm = Math.hypot(...vector);
	return norm === 0 ? vector : vector.map((v) => v / norm);
}

/** Cosine similarity of two equal-length vectors. */
export function cosine(a: number[], b: number[]): number {
	let dot = 0;
	let na = 0;
	let nb = 0;
	for (let i = 0; i < a.length; i++) {
		dot += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** OpenAI's `encoding_format: "base64"`: little-endian float32 array, base64-encoded. */
export function toBase64Float32(vector: number[]): string {
	return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}
