import { existsSync } from 'node:fs';

import { ChromaClient } from 'chromadb';

import { startChroma, type ChromaServer } from '../../../stack/chroma';
import { embed } from '../../../stack/model-server';

let chroma: ChromaServer;

beforeAll(async () => {
	chroma = await startChroma();
}, 60_000);
afterAll(() => chroma?.stop());

it('upserts vectors and queries them back with a metadata filter on the real server', async () => {
	const client = new ChromaClient({ host: chroma.host, port: chroma.port });
	const collection = await client.getOrCreateCollection({
		name: 'launcher_test',
		metadata: { 'hnsw:space': 'cosine' },
		embeddingFunction: null,
	});
	const docs = [
		{ id: 'a', text: 'Redis connection timeout is set with connectTimeout', source: 'ioredis.md' },
		{ id: 'b', text: 'Postgres pool size is set with max', source: 'pg.md' },
		{ id: 'c', text: 'Redis keys expire after their TTL', source: 'ioredis.md' },
	];
	await collection.upsert({
		ids: docs.map((d) => d.id),
		documents: docs.map((d) => d.text),
		embeddings: docs.map((d) => embed(d.text)),
		metadatas: docs.map((d) => ({ source: d.source })),
	});
	// Upserting the same ids again must not duplicate anything.
	await collection.upsert({
		ids: ['a'],
		documents: [docs[0].text],
		embeddings: [embed(docs[0].text)],
		metadatas: [{ source: 'ioredis.md' }],
	});
	expect(await collection.count()).toBe(3);

	const result = await collection.query({
		queryEmbeddings: [embed('redis timeout')],
		nResults: 2,
		where: { source: 'ioredis.md' },
	});
	expect(result.ids[0]).toEqual(['a', 'c']);
	expect(result.distances[0][0]).toBeLessThan(result.distances[0][1]!);

	const unfiltered = await collection.query({
		queryEmbeddings: [embed('postgres pool')],
		nResults: 1,
	});
	expect(unfiltered.ids[0]).toEqual(['b']);
});

it('stops the server and removes its temporary data directory', async () => {
	const other = await startChroma();
	await other.stop();
	expect(other.process.running).toBe(false);
	await expect(fetch(`${other.url}/api/v2/heartbeat`)).rejects.toThrow();
	expect(existsSync(other.dataDir)).toBe(false);
}, 60_000);
