/**
 * Vectors as float32 values in base64 (little-endian: the byte order of every platform n8n runs on), the compact form
 * OpenAI's `encoding_format: "base64"` embeddings, Chroma's base64 embeddings and stored facts use: about 5.5 bytes
 * per dimension instead of ~20 as JSON numbers (a 1536-dimension fact costs 8 KiB of store memory). float32 keeps 7
 * significant digits, far more than a cosine ranking tells apart.
 */

export function encodeVector(vector: readonly number[]): string {
	const floats = Float32Array.from(vector);
	return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}

export function decodeVector(encoded: string): Float32Array {
	const bytes = Buffer.from(encoded, 'base64');
	// Copied into a fresh buffer: Buffer.from may share a pool whose offset is not float-aligned.
	return new Float32Array(new Uint8Array(bytes).buffer);
}
