/**
 * Knowledge Base ingest in real queue-mode n8n, side by side with n8n's own RAG ingest: our Knowledge Base node
 * (Ingest) vs n8n's Chroma Vector Store node (Insert Documents) with its Default Data Loader (simple splitting:
 * recursive character splitter, 1 000 characters, 200 overlap) and n8n's Embeddings OpenAI node. Same documents
 * (Markdown READMEs of this project's npm dependencies, sent in the webhook body), same chunking (ours: plain
 * text, 1 000 / 200 characters), same Chroma server, same embeddings (the offline model server).
 * Requests alternate between the two workflows. Then every document is sent again unchanged: ours should make zero
 * embedding calls (it skips unchanged chunks); n8n's inserts re-embed everything.
 * Embedding calls are told apart by the model name each side asks for.
 * The floor under any ingest of these documents, measured in the same run (each request's part in turn with the two
 * sides' requests, so all three meet the same load on the machine): n8n moving the same requests through
 * webhook → Split Out → No Operation (alternating with the two sides), Chroma writing the same chunks (one write per
 * request, chromadb client, random vectors) and one embedding request per request with its chunk texts, timed
 * against the same model server (its latency and its own work). n8n's ingest time over that
 * floor is the largest ratio any ingest could reach against it here.
 */
import { randomUUID } from 'node:crypto';
import { globSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ChromaClient } from 'chromadb';

import { createEmbeddings } from '../lib/llm';
import { chunkDocument } from '../lib/rag';
import { offlineModelConfig } from '../stack/model-server';
import { webhookNode } from '../stack/n8n/workflow-nodes';
import {
	activeWorkflow,
	benchCluster,
	chain,
	sub,
	WORKER_CONCURRENCY,
	WORKERS,
	type BenchCluster,
	REALISTIC_LATENCY,
	resetModelKeepingLatency,
	withProviderLatency,
} from './cluster';
import { randomVector } from './floors';
import { postJson, ratio } from './load';

const ROOT = join(__dirname, '..');
const THEIR_EMBEDDING_MODEL = 'text-embedding-3-small';
/** The model name of the floor's own embedding requests, so they are never counted as either side's. */
const FLOOR_EMBEDDING_MODEL = 'offline-embedding-floor';
const CHUNKING = { chunkSize: 1000, chunkOverlap: 200 };

export interface Doc {
	source: string;
	text: string;
}

/** The first `count` READMEs (≥ 500 characters) of the installed npm packages, by path. */
export function readmes(count: number): Doc[] {
	return globSync('node_modules/{*,@*/*}/README.md', { cwd: ROOT })
		.sort()
		.map((file) => ({
			source: file.slice('node_modules/'.length),
			text: readFileSync(join(ROOT, file), 'utf8'),
		}))
		.filter((d) => d.text.length >= 500)
		.slice(0, count);
}

function splitOut(position: [number, number]) {
	return {
		id: randomUUID(),
		name: 'Split Out',
		type: 'n8n-nodes-base.splitOut',
		typeVersion: 1,
		position,
		parameters: { fieldToSplitOut: 'body.documents', options: {} },
	};
}

const respondAll = (path: string) => webhookNode(path, [0, 0], { responseData: 'allEntries' });

/** n8n's own part of an ingest request: the documents in, split into items, and answered. */
async function floorWorkflow(bench: BenchCluster) {
	const path = `bench-kb-floor-${randomUUID()}`;
	const noOp = {
		id: randomUUID(),
		name: 'No Operation',
		type: 'n8n-nodes-base.noOp',
		typeVersion: 1,
		position: [440, 0],
		parameters: {},
	};
	await activeWorkflow(
		bench.client,
		'knowledge base ingest floor (webhook → Split Out → No Operation)',
		path,
		[respondAll(path), splitOut([220, 0]), noOp],
		chain('Webhook', 'Split Out', 'No Operation'),
	);
	return path;
}

/**
 * The floor's own parts, one request's documents at a time (ours: plain text, CHUNKING): the function returned takes a
 * batch and returns the ms
 * Chroma takes to write the batch's chunks (one write, random vectors) and the ms of one embedding request with the
 * batch's chunk texts, sent to the same model server at the same latency (so the floor's embedding round trip is the
 * server's whole answer time, as an ingest's is, not its configured latency alone). Called in turn with the two
 * sides' requests, so all three meet the same load on the machine.
 */
async function floorParts(chroma: ChromaClient, name: string, bench: BenchCluster) {
	const collection = await chroma.createCollection({
		name,
		metadata: { 'hnsw:space': 'cosine' },
		embeddingFunction: null,
	});
	const embeddings = createEmbeddings(
		offlineModelConfig(bench.model, { embeddingModel: FLOOR_EMBEDDING_MODEL }),
	);
	return async (batch: Doc[]) => {
		const chunks: Array<{ source: string; text: string }> = [];
		for (const d of batch)
			for (const chunk of await chunkDocument(
				{ source: d.source, text: d.text, format: 'text', metadata: {} },
				CHUNKING,
			))
				chunks.push({ source: d.source, text: chunk.text });
		const embedded = performance.now();
		await embeddings.embedDocuments(chunks.map((c) => c.text));
		const embeddingRoundTrip = performance.now() - embedded;
		const record = {
			ids: chunks.map(() => randomUUID()),
			embeddings: chunks.map(randomVector),
			documents: chunks.map((c) => c.text),
			metadatas: chunks.map((c) => ({ source: c.source })),
		};
		const written = performance.now();
		await collection.add(record);
		return { chromaWrite: performance.now() - written, embeddingRoundTrip };
	};
}

async function ourWorkflow(bench: BenchCluster, knowledgeBase: string) {
	const path = `bench-kb-ours-${randomUUID()}`;
	const ingest = {
		id: randomUUID(),
		name: 'Knowledge Base',
		type: 'n8n-nodes-openagents.openAgentsKnowledgeBase',
		typeVersion: 1,
		position: [440, 0],
		parameters: {
			operation: 'ingest',
			knowledgeBase,
			// Read from the item as n8n's Default Data Loader reads it, not through expressions.
			inputType: 'fields',
			textField: 'text',
			sourceIdField: 'source',
			format: 'text',
			options: { ...CHUNKING },
		},
		credentials: {
			openAgentsChromaApi: bench.credentials.openAgentsChromaApi,
			openAgentsLlmApi: bench.credentials.openAgentsLlmApi,
		},
	};
	await activeWorkflow(
		bench.client,
		'knowledge base ingest (ours)',
		path,
		[respondAll(path), splitOut([220, 0]), ingest],
		chain('Webhook', 'Split Out', 'Knowledge Base'),
	);
	return path;
}

/** n8n's Chroma Vector Store insert; with `clearCollection`, its Clear Collection option (the n8n way to re-ingest without duplicates). */
async function theirWorkflow(bench: BenchCluster, collection: string, clearCollection = false) {
	const path = `bench-kb-n8n-${randomUUID()}`;
	const nodes = [
		respondAll(path),
		splitOut([220, 0]),
		{
			id: randomUUID(),
			name: 'Chroma Vector Store',
			type: '@n8n/n8n-nodes-langchain.vectorStoreChromaDB',
			typeVersion: 1.3,
			position: [440, 0],
			parameters: {
				mode: 'insert',
				chromaCollection: { __rl: true, mode: 'id', value: collection },
				options: clearCollection ? { clearCollection: true } : {},
				// n8n clears the collection before each embedding batch it writes: one batch for all chunks, else only
				// the last batch of 200 chunks would remain.
				...(clearCollection ? { embeddingBatchSize: 100_000 } : {}),
			},
			credentials: { chromaSelfHostedApi: bench.credentials.chromaSelfHostedApi },
		},
		{
			id: randomUUID(),
			name: 'Embeddings',
			type: '@n8n/n8n-nodes-langchain.embeddingsOpenAi',
			typeVersion: 1.2,
			position: [400, 220],
			parameters: { model: THEIR_EMBEDDING_MODEL, options: {} },
			credentials: { openAiApi: bench.credentials.openAiApi },
		},
		{
			id: randomUUID(),
			name: 'Data Loader',
			type: '@n8n/n8n-nodes-langchain.documentDefaultDataLoader',
			typeVersion: 1.1,
			position: [560, 220],
			parameters: {
				dataType: 'json',
				jsonMode: 'expressionData',
				jsonData: '={{ $json.text }}',
				textSplittingMode: 'simple',
				options: {
					metadata: { metadataValues: [{ name: 'source', value: '={{ $json.source }}' }] },
				},
			},
		},
	];
	await activeWorkflow(
		bench.client,
		'knowledge base ingest (n8n Chroma Vector Store)',
		path,
		nodes,
		{
			...chain('Webhook', 'Split Out', 'Chroma Vector Store'),
			...sub('Embeddings', 'ai_embedding', 'Chroma Vector Store'),
			...sub('Data Loader', 'ai_document', 'Chroma Vector Store'),
		},
	);
	return path;
}

const post = (bench: BenchCluster, path: string, documents: Doc[]) =>
	postJson<Array<Record<string, unknown>>>(bench.client, path, { documents }, Array.isArray);

export async function knowledgeBaseVsN8n(
	// 20 requests per side: with 10 (and the floor timed after the passes), six runs on a 2-core machine gave ratios to
	// the floor from 1.04 to 1.32.
	documentCount = Number(process.env.BENCH_KB_N8N_DOCUMENTS ?? 400),
	perRequest = Number(process.env.BENCH_KB_N8N_PER_REQUEST ?? 20),
) {
	const bench = await benchCluster();
	return {
		...(await compare(bench, documentCount, perRequest)),
		// The same comparison, with embeddings answering in REALISTIC_LATENCY.embeddingMs per request.
		realisticLatency: await withProviderLatency(
			bench,
			{ modelMs: 0, embeddingMs: REALISTIC_LATENCY.embeddingMs },
			() => compare(bench, documentCount, perRequest),
		),
	};
}

async function compare(bench: BenchCluster, documentCount: number, perRequest: number) {
	resetModelKeepingLatency(bench);
	const run = randomUUID().slice(0, 8);
	const names = {
		ours: `bench-ours-${run}`,
		theirs: `bench-n8n-${run}`,
		clearing: `bench-n8n-clear-${run}`,
		floor: `bench-floor-${run}`,
	};
	const paths = {
		ours: await ourWorkflow(bench, names.ours),
		theirs: await theirWorkflow(bench, names.theirs),
		clearing: await theirWorkflow(bench, names.clearing, true),
		floor: await floorWorkflow(bench),
	};
	const documents = readmes(documentCount);
	const batches = Array.from({ length: Math.ceil(documents.length / perRequest) }, (_, i) =>
		documents.slice(i * perRequest, (i + 1) * perRequest),
	);
	const chroma = new ChromaClient({ host: bench.chroma.host, port: bench.chroma.port });
	const count = async (name: string) => (await chroma.getCollection({ name })).count();

	const embeddingCalls = () => {
		const calls = { ours: 0, theirs: 0, oursInputs: 0, theirsInputs: 0 };
		for (const entry of bench.model.requestsTo('embeddings')) {
			const body = entry.body as { model?: string; input?: unknown };
			if (body.model === FLOOR_EMBEDDING_MODEL) continue;
			const side = body.model === THEIR_EMBEDDING_MODEL ? 'theirs' : 'ours';
			calls[side]++;
			calls[`${side}Inputs`] += Array.isArray(body.input) ? body.input.length : 1;
		}
		return calls;
	};

	const timeFloorParts = await floorParts(chroma, names.floor, bench);
	/**
	 * One pass over all documents, rotating which side goes first per batch; ms and chunks per side. The first pass
	 * also times the floor: n8n's floor workflow, then the floor's Chroma write and embedding request.
	 */
	const pass = async (withFloor: boolean) => {
		resetModelKeepingLatency(bench);
		const ms = { ours: 0, theirs: 0, floor: 0, chromaWrite: 0, embeddingRoundTrips: 0 };
		const ourTotals = { chunks: 0, added: 0, unchanged: 0 };
		let theirChunks = 0;
		const sides = withFloor
			? (['ours', 'theirs', 'floor'] as const)
			: (['ours', 'theirs'] as const);
		for (const [i, batch] of batches.entries()) {
			for (const side of [...sides.slice(i % sides.length), ...sides.slice(0, i % sides.length)]) {
				const t = performance.now();
				const items = await post(bench, paths[side], batch);
				ms[side] += performance.now() - t;
				if (side === 'floor') {
					const parts = await timeFloorParts(batch);
					ms.chromaWrite += parts.chromaWrite;
					ms.embeddingRoundTrips += parts.embeddingRoundTrip;
				} else if (side === 'theirs') theirChunks += items.length;
				else if (side === 'ours')
					for (const item of items) {
						if (item.error)
							throw new Error(`our ingest failed: ${JSON.stringify(item).slice(0, 300)}`);
						for (const key of Object.keys(ourTotals) as Array<keyof typeof ourTotals>)
							ourTotals[key] += Number(item[key] ?? 0);
					}
			}
		}
		return {
			ms: Object.fromEntries(
				Object.entries(ms).map(([side, total]) => [side, Math.round(total)]),
			) as typeof ms,
			ours: ourTotals,
			theirChunks,
			embeddings: embeddingCalls(),
		};
	};

	try {
		const first = await pass(true);
		const stored = { ours: await count(names.ours), theirs: await count(names.theirs) };
		if (first.ours.added !== stored.ours || first.theirChunks !== stored.theirs)
			throw new Error(`chunk counts disagree: ${JSON.stringify({ first, stored })}`);
		const again = await pass(false);
		const storedAgain = { ours: await count(names.ours), theirs: await count(names.theirs) };
		// n8n without duplicates: Clear Collection + insert, all documents in one execution (clearing per request
		// would keep only the last request's documents). Filled once, then timed re-ingesting the same documents.
		await post(bench, paths.clearing, documents);
		resetModelKeepingLatency(bench);
		const t = performance.now();
		await post(bench, paths.clearing, documents);
		const clearing = {
			ms: Math.round(performance.now() - t),
			embeddingCalls: embeddingCalls().theirs,
			chunksStored: await count(names.clearing),
		};
		if (clearing.chunksStored !== stored.theirs)
			throw new Error(
				`Clear Collection + insert kept ${clearing.chunksStored} chunks, expected ${stored.theirs}`,
			);
		const floor = {
			n8nWebhookSplitOutMs: first.ms.floor,
			chromaWriteMs: first.ms.chromaWrite,
			embeddingRoundTripsMs: first.ms.embeddingRoundTrips,
		};
		const floorMs = floor.n8nWebhookSplitOutMs + floor.chromaWriteMs + floor.embeddingRoundTripsMs;
		const perSecond = (chunks: number, ms: number) => Math.round((chunks / ms) * 1000);
		const ours = {
			chunks: stored.ours,
			ms: first.ms.ours,
			chunksPerSecond: perSecond(stored.ours, first.ms.ours),
			embeddingCalls: first.embeddings.ours,
			textsEmbedded: first.embeddings.oursInputs,
		};
		const theirs = {
			chunks: stored.theirs,
			ms: first.ms.theirs,
			chunksPerSecond: perSecond(stored.theirs, first.ms.theirs),
			embeddingCalls: first.embeddings.theirs,
			textsEmbedded: first.embeddings.theirsInputs,
		};
		return {
			setup: `queue mode, main + ${WORKERS} workers (concurrency ${WORKER_CONCURRENCY}); ${documents.length} READMEs (${Math.round(documents.reduce((n, d) => n + d.text.length, 0) / 1000)} k characters), ${perRequest} per webhook request, one request at a time, alternating; chunks of ${CHUNKING.chunkSize} characters, ${CHUNKING.chunkOverlap} overlap; offline embeddings (256 dimensions)`,
			ingest: {
				openAgentsKnowledgeBase: ours,
				n8nChromaVectorStore: theirs,
				chunksPerSecondRatio: ratio(ours.chunksPerSecond, theirs.chunksPerSecond),
				floor: {
					what: `n8n's webhook → Split Out → No Operation with the same requests + Chroma writing the same chunks (one write per request) + one embedding request per request with its chunk texts (the model server at ${bench.model.embeddingLatencyMs} ms latency), timed`,
					...floor,
					ms: floorMs,
					oursOverFloor: ratio(ours.ms, floorMs),
					bestPossibleRatio: ratio(theirs.ms, floorMs),
				},
			},
			reingestUnchanged: {
				openAgentsKnowledgeBase: {
					ms: again.ms.ours,
					unchanged: again.ours.unchanged,
					added: again.ours.added,
					embeddingCalls: again.embeddings.ours,
					chunksStored: storedAgain.ours,
				},
				n8nChromaVectorStore: {
					ms: again.ms.theirs,
					embeddingCalls: again.embeddings.theirs,
					textsEmbedded: again.embeddings.theirsInputs,
					chunksStored: storedAgain.theirs,
				},
				timeRatio: ratio(again.ms.ours, again.ms.theirs),
				n8nClearCollectionAndInsert: clearing,
				clearAndInsertTimeRatio: ratio(again.ms.ours, clearing.ms),
			},
		};
	} finally {
		await Promise.all([
			chroma.deleteCollection({ name: names.ours }).catch(() => {}),
			chroma.deleteCollection({ name: names.theirs }).catch(() => {}),
			chroma.deleteCollection({ name: names.clearing }).catch(() => {}),
			chroma.deleteCollection({ name: names.floor }).catch(() => {}),
		]);
	}
}
