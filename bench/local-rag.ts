/**
 * What the in-process Knowledge Base benchmarks share: a local Chroma server with the offline model server's
 * embeddings, and timing retrieve() over a list of questions.
 */
import { createEmbeddings } from '../lib/llm';
import { retrieve, type KnowledgeBaseCollection, type RetrievalOptions } from '../lib/rag';
import { NoRetryPolicy } from '../lib/retry';
import { startChroma, type ChromaOptions } from '../stack/chroma';
import { OfflineModelServer, offlineModelConfig } from '../stack/model-server';
import { summary } from './stats';

/** Starts Chroma (with `chromaOptions`) and the offline model; `stop` ends both. */
export async function localRag(chromaOptions: ChromaOptions = {}) {
	const model = new OfflineModelServer();
	const [chroma, baseUrl] = await Promise.all([startChroma(chromaOptions), model.start()]);
	const policy = new NoRetryPolicy();
	const embeddings = createEmbeddings(offlineModelConfig(baseUrl));
	const rag = {
		chroma,
		model,
		policy,
		embeddings,
		/** Stops Chroma and starts it again on the same data: a server with no collection loaded (new port). */
		async restartChroma() {
			await rag.chroma.stop();
			rag.chroma = await startChroma(chromaOptions);
		},
		stop: () => Promise.all([rag.chroma.stop(), model.stop()]),
	};
	return rag;
}

type Rag = Awaited<ReturnType<typeof localRag>>;

/** Latency summary (ms) of top-4 retrieve() calls with `retrieval`, one question at a time. */
export async function queryLatencies(
	rag: Rag,
	kb: KnowledgeBaseCollection,
	questions: readonly string[],
	retrieval: RetrievalOptions,
) {
	const samples: number[] = [];
	for (const question of questions) {
		const t = performance.now();
		await retrieve(kb, rag.embeddings, question, {
			topK: 4,
			...retrieval,
			embedding: { policy: rag.policy },
		});
		samples.push(performance.now() - t);
	}
	return summary(samples);
}

/** ms of the first hybrid query of this process, which builds the keyword index (warm queries are timed apart). */
export async function firstHybridQueryMs(
	rag: Rag,
	kb: KnowledgeBaseCollection,
	question: string,
): Promise<number> {
	const started = performance.now();
	await retrieve(kb, rag.embeddings, question, {
		topK: 4,
		mode: 'hybrid',
		embedding: { policy: rag.policy },
	});
	return Math.round(performance.now() - started);
}
