/**
 * Fact embeddings as stored: the vector's float32 values (little-endian: the byte order of every platform n8n runs on) in base64 — about 5.5 bytes per dimension
 * instead of ~20 as JSON numbers, so a 1536-dimension fact costs 8 KiB of store memory. float32 keeps 7 significant
 * digits, far more than a cosine ranking tells apart.
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
