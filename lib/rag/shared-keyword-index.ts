/**
 * A keyword index kept once in Redis for every process, instead of one in-memory index per process (keyword-index.ts).
 *
 * Why: the per-process index is rebuilt from Chroma by each process on its first keyword query and held in its heap;
 * at a million chunks that is minutes and hundreds of MiB per worker, paid again after every restart or scale-out.
 * Here the postings live in Redis (the server queue mode already runs), are built once for the whole cluster, and a
 * query fetches only its own terms' postings, so a fresh worker answers its first query at once and keeps 24 bytes per
 * chunk between queries (length, length normalisation, score and scratch arrays).
 *
 * Scoring is the same Okapi BM25 as bm25.ts (same terms, idf, parameters and arithmetic), so both indexes rank exactly
 * alike (a property test holds them to it).
 *
 * Layout, all keys under `<prefix>{<knowledge base hash>}:` (one hash tag, so a Redis Cluster keeps them on one slot):
 * - `next`: how many document numbers were handed out (numbers are never reused);
 * - `len`: each number's length in terms, a uint32 little-endian at offset 4·n (0 for a number never written);
 * - `dead`: a bitmap, bit n set when number n was removed or replaced;
 * - `num` (chunk id → number) and `ids` (number → chunk id): hashes;
 * - `stats`: hash of `docs` (live documents), `length` (their total length) and `generation` (a token each full build
 *   replaces, so a process drops the lengths it read of an earlier build);
 * - `t:<term>`: the term's postings, pairs of uint32 little-endian (number, term frequency), appended as documents are
 *   numbered;
 * - `rev`: the knowledge base revision the index reflects; `lock`: held by the process bringing it up to date.
 *
 * Writes run as Lua scripts, so each batch is atomic. Removed documents stay in the postings, skipped through the
 * `dead` bitmap; a term's document frequency is counted from its live postings at query time.
 */
import { createHash, randomUUID } from 'node:crypto';

import type Redis from 'ioredis';

import { bm25Idf, BM25_PARAMETERS, topByScore } from './bm25';
import type { KnowledgeBaseCollection } from './chroma-store';
import { indexedText, keywordTerms, type KeywordHit } from './keyword-terms';
import { recentlyUsed } from './recently-used';

/** Where the shared keyword index lives: an ioredis client and a key prefix (default `openagents:keywords:`). */
export interface SharedKeywordIndexOptions {
	redis: Redis;
	prefix?: string;
}

/** Chunks per write script: bounds how long one script holds Redis (a script runs alone). */
const WRITE_BATCH = 500;
/** How long a sync holds its lock without renewing it, ms; renewed every third of it while the sync runs. */
const LOCK_MS = 30_000;
/** How often a process waiting for another's sync checks again, ms. */
const WAIT_MS = 100;

const ADD_SCRIPT = `
local counter, len, dead, num, ids, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local a, docs, total = 2, 0, 0
for _ = 1, tonumber(ARGV[1]) do
  local id, length, terms = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  local old = redis.call('HGET', num, id)
  if old then
    local o = tonumber(old)
    redis.call('SETBIT', dead, o, 1)
    redis.call('HDEL', ids, old)
    docs = docs - 1
    total = total - struct.unpack('<I4', redis.call('GETRANGE', len, o * 4, o * 4 + 3))
  end
  local n = redis.call('INCR', counter) - 1
  redis.call('SETRANGE', len, n * 4, struct.pack('<I4', length))
  redis.call('HSET', num, id, n)
  redis.call('HSET', ids, n, id)
  for _ = 1, terms do
    redis.call('APPEND', KEYS[tonumber(ARGV[a])], struct.pack('<I4I4', n, tonumber(ARGV[a + 1])))
    a = a + 2
  end
  docs = docs + 1
  total = total + length
end
redis.call('HINCRBY', stats, 'docs', docs)
redis.call('HINCRBY', stats, 'length', total)
`;

const REMOVE_SCRIPT = `
local len, dead, num, ids, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local docs, total = 0, 0
for i = 1, #ARGV do
  local old = redis.call('HGET', num, ARGV[i])
  if old then
    local o = tonumber(old)
    redis.call('SETBIT', dead, o, 1)
    redis.call('HDEL', num, ARGV[i])
    redis.call('HDEL', ids, old)
    docs = docs - 1
    total = total - struct.unpack('<I4', redis.call('GETRANGE', len, o * 4, o * 4 + 3))
  end
end
redis.call('HINCRBY', stats, 'docs', docs)
redis.call('HINCRBY', stats, 'length', total)
`;

/** Moves `rev` from ARGV[1] to ARGV[2]; leaves it when it is anything else (then a sync re-reads what changed). */
const ADVANCE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0`;

const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** A Redis reply as a Uint32Array in this machine's byte order, little-endian on x86 and Arm (copied when not 4-byte aligned). */
function uint32s(buffer: Uint8Array): Uint32Array {
	const bytes = buffer.byteOffset % 4 ? new Uint8Array(buffer) : buffer;
	return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
}

/** One knowledge base's keyword index in Redis, shared by every process that opens it with the same options. */
export class SharedKeywordIndex {
	private readonly key: (name: string) => string;

	/**
	 * Document lengths read so far, of the index generation they were read from: numbers only ever get appended, so
	 * later queries read just the new tail; a rebuilt index (a new generation) is read again.
	 */
	private lengths = new Uint8Array(0);
	private generation?: string;
	private scores?: Float64Array;
	private touched?: Uint32Array;
	private norms?: { averageLength: number; values: Float64Array };

	/**
	 * `collectionId`: the knowledge base's Chroma collection id, a UUID, so every worker finds the same index whatever
	 * URL it reaches Chroma by.
	 */
	constructor(
		private readonly redis: Redis,
		collectionId: string,
		prefix = 'openagents:keywords:',
	) {
		const tag = createHash('sha256').update(collectionId).digest('hex').slice(0, 24);
		this.key = (name) => `${prefix}{${tag}}:${name}`;
	}

	/** Whether the index was ever brought up to a revision (until then, the first sync reads every chunk). */
	async built(): Promise<boolean> {
		return (await this.redis.exists(this.key('rev'))) === 1;
	}

	/**
	 * Records that a write of `previous` → `revision` is in the index already (its chunks were added and removed here
	 * as they were written to Chroma), so no process re-reads it; when the index was at another revision it stays
	 * there, and the next sync reads what changed.
	 */
	async advance(previous: string, revision: string): Promise<void> {
		await this.redis.eval(ADVANCE_SCRIPT, 1, this.key('rev'), previous, revision);
	}

	/** Deletes the whole index (when its knowledge base is deleted). */
	async drop(): Promise<void> {
		const pattern = this.key('*').replace(/[?[\]\\]|\*(?!$)/g, '\\$&');
		let cursor = '0';
		do {
			const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
			if (keys.length) await this.redis.unlink(...keys);
			cursor = next;
		} while (cursor !== '0');
	}

	/** Live documents (chunks) in the index. */
	async size(): Promise<number> {
		return Number((await this.redis.hget(this.key('stats'), 'docs')) ?? 0);
	}

	/**
	 * Brings the index up to the knowledge base's current revision (as KeywordIndex.sync does, once for all
	 * processes): one process, holding the lock, reads what changed from Chroma while the others wait for it.
	 * Nothing is read when the revision is unchanged.
	 */
	async sync(kb: KnowledgeBaseCollection): Promise<void> {
		const revision = await kb.revision();
		while ((await this.redis.get(this.key('rev'))) !== revision) {
			const token = randomUUID();
			if (await this.redis.set(this.key('lock'), token, 'PX', LOCK_MS, 'NX')) {
				const renew = setInterval(
					() => void this.redis.pexpire(this.key('lock'), LOCK_MS).catch(() => undefined),
					LOCK_MS / 3,
				);
				try {
					await this.load(kb);
					await this.redis.set(this.key('rev'), revision);
				} finally {
					clearInterval(renew);
					await this.redis.eval(RELEASE_SCRIPT, 1, this.key('lock'), token);
				}
			} else {
				await new Promise((resolve) => setTimeout(resolve, WAIT_MS));
			}
		}
	}

	private async load(kb: KnowledgeBaseCollection): Promise<void> {
		if (!(await this.size())) {
			await this.redis.hset(this.key('stats'), 'generation', randomUUID());
			await kb.forEachChunk((chunks) => this.add(chunks));
			return;
		}
		// The index's ids first: a chunk a concurrent write adds to both after this read is then never taken for removed.
		const indexed = await this.redis.hkeys(this.key('num'));
		const current = new Set(await kb.allIds());
		await this.remove(indexed.filter((id) => !current.has(id)));
		const have = new Set(indexed);
		const missing = [...current].filter((id) => !have.has(id));
		for (let i = 0; i < missing.length; i += WRITE_BATCH) {
			await this.add(await kb.getByIds(missing.slice(i, i + WRITE_BATCH), { documents: true }));
		}
	}

	/** Indexes chunks (a chunk already indexed under its id is replaced). */
	async add(
		chunks: ReadonlyArray<{ id: string; text: string; metadata: Record<string, unknown> }>,
	): Promise<void> {
		for (let i = 0; i < chunks.length; i += WRITE_BATCH) {
			const termKeys = new Map<string, number>();
			const args: Array<string | number> = [];
			const batch = chunks.slice(i, i + WRITE_BATCH);
			for (const chunk of batch) {
				const terms = keywordTerms(indexedText(chunk.text, chunk.metadata));
				const counts = new Map<string, number>();
				for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
				args.push(chunk.id, terms.length, counts.size);
				for (const [term, tf] of counts) {
					let k = termKeys.get(term);
					if (k === undefined) termKeys.set(term, (k = 7 + termKeys.size));
					args.push(k, tf);
				}
			}
			const keys = [
				...['next', 'len', 'dead', 'num', 'ids', 'stats'].map(this.key),
				...[...termKeys.keys()].map((term) => this.key(`t:${term}`)),
			];
			await this.redis.eval(ADD_SCRIPT, keys.length, ...keys, batch.length, ...args);
		}
	}

	/** Drops chunks by id (unknown ids are ignored). */
	async remove(ids: readonly string[]): Promise<void> {
		const keys = ['len', 'dead', 'num', 'ids', 'stats'].map(this.key);
		for (let i = 0; i < ids.length; i += WRITE_BATCH) {
			await this.redis.eval(REMOVE_SCRIPT, keys.length, ...keys, ...ids.slice(i, i + WRITE_BATCH));
		}
	}

	/**
	 * The best `limit` chunks for `query`, best first, scored as Bm25Index.search scores them; [] when no query term
	 * occurs. Two round trips to Redis: the query terms' postings with the statistics, then the winners' chunk ids.
	 */
	async search(query: string, limit: number): Promise<KeywordHit[]> {
		const terms = [...new Set(keywordTerms(query))];
		if (!terms.length || limit < 1) return [];
		const { docs, totalLength, dead, postingsByTerm } = await this.read(terms);
		if (!docs) return [];
		const lengths = new Uint32Array(this.lengths.buffer, 0, this.lengths.byteLength >> 2);
		const isDead = (n: number) => ((dead[n >> 3] ?? 0) & (0x80 >> (n & 7))) !== 0;
		const { k1 } = BM25_PARAMETERS;
		const norms = this.lengthNorms(lengths, totalLength / docs || 1);
		const { scores, touched } = this.scratch(lengths.length);
		let count = 0;
		for (const postings of postingsByTerm) {
			let df = postings.length >> 1;
			if (dead.length) for (let i = 0; i < postings.length; i += 2) if (isDead(postings[i])) df--;
			if (!df) continue;
			const idf = bm25Idf(docs, df);
			const end = postings.length;
			for (let i = 0; i < end; i += 2) {
				const n = postings[i];
				// A number past the lengths read was written after them: left out, as it would be a moment earlier.
				if (n >= lengths.length || (dead.length && isDead(n))) continue;
				const tf = postings[i + 1];
				if (scores[n] === 0) touched[count++] = n;
				scores[n] += (idf * tf * (k1 + 1)) / (tf + norms[n]);
			}
		}
		const best = topByScore(touched.subarray(0, count), scores, limit);
		const hits = best.map((n) => ({ n, score: scores[n] }));
		for (let i = 0; i < count; i++) scores[touched[i]] = 0; // clean for the next query
		if (!hits.length) return [];
		const ids = await this.redis.hmget(this.key('ids'), ...hits.map((hit) => String(hit.n)));
		return hits.flatMap(({ score }, i) => (ids[i] ? [{ id: ids[i]!, score }] : []));
	}

	/**
	 * Each document's BM25 length normalisation, k1·(1 − b + b·|d| / avgdl), kept while the lengths and the average are
	 * those it was computed for (they change only with writes): a query then does one division per posting.
	 */
	private lengthNorms(lengths: Uint32Array, averageLength: number): Float64Array {
		const { k1, b } = BM25_PARAMETERS;
		const cached = this.norms;
		if (cached?.averageLength === averageLength && cached.values.length === lengths.length)
			return cached.values;
		const values = new Float64Array(lengths.length);
		for (let n = 0; n < lengths.length; n++)
			values[n] = k1 * (1 - b + (b * lengths[n]) / averageLength);
		this.norms = { averageLength, values };
		return values;
	}

	/**
	 * Per-document scores (all zero between queries) and the list of documents a query scored, kept between queries so
	 * a query over a million chunks allocates nothing of that size; grown as the index grows.
	 */
	private scratch(documents: number): { scores: Float64Array; touched: Uint32Array } {
		if (!this.scores || this.scores.length < documents) {
			this.scores = new Float64Array(documents + (documents >> 3));
			this.touched = new Uint32Array(this.scores.length);
		}
		return { scores: this.scores, touched: this.touched! };
	}

	/**
	 * One pipeline: the statistics, the lengths written since the last read (all of them after a rebuild: a second
	 * pipeline), the dead bitmap and each term's postings as (number, tf) pairs.
	 */
	private async read(terms: readonly string[]) {
		const pipelineFrom = async (lengthsFrom: number) => {
			const pipeline = this.redis
				.pipeline()
				.hmget(this.key('stats'), 'docs', 'length', 'generation')
				.getrangeBuffer(this.key('len'), lengthsFrom, -1)
				.getBuffer(this.key('dead'));
			for (const term of terms) pipeline.getBuffer(this.key(`t:${term}`));
			return (await pipeline.exec())!.map(([error, value]) => {
				if (error) throw error;
				return value;
			});
		};
		const from = this.lengths.byteLength;
		let replies = await pipelineFrom(from);
		const stats = () => replies[0] as Array<string | null>;
		if ((stats()[2] ?? undefined) !== this.generation) {
			// The index was rebuilt since the lengths were read: read them all again.
			[this.lengths, this.generation] = [new Uint8Array(0), stats()[2] ?? undefined];
			this.norms = undefined;
			if (from) replies = await pipelineFrom(0);
		}
		this.appendLengths(replies[1] as Buffer);
		return {
			docs: Number(stats()[0]),
			totalLength: Number(stats()[1]),
			dead: (replies[2] as Buffer | null) ?? Buffer.alloc(0),
			postingsByTerm: (replies.slice(3) as Array<Buffer | null>).flatMap((reply) =>
				reply ? [uint32s(reply)] : [],
			),
		};
	}

	/** Appends newly read lengths to the cache, whole entries only (a 4-byte aligned buffer for uint32s()). */
	private appendLengths(tail: Buffer): void {
		const usable = tail.byteLength - (tail.byteLength % 4);
		if (!usable) return;
		const grown = new Uint8Array(this.lengths.byteLength + usable);
		grown.set(this.lengths);
		grown.set(tail.subarray(0, usable), this.lengths.byteLength);
		this.lengths = grown;
	}
}

/** Handles on shared indexes, per Redis client (so a closed client's go with it), by prefix and knowledge base. */
const handles = new WeakMap<Redis, Map<string, SharedKeywordIndex>>();
const MAX_HANDLES = 16;

/**
 * This process's handle on the shared index of the knowledge base with Chroma collection id `collectionId`: one per Redis
 * client, prefix and knowledge base, so what it read of the document lengths serves later queries; the least recently
 * used are dropped past 16.
 */
export function sharedKeywordIndex(
	{ redis, prefix }: SharedKeywordIndexOptions,
	collectionId: string,
): SharedKeywordIndex {
	if (!handles.has(redis)) handles.set(redis, new Map());
	return recentlyUsed(
		handles.get(redis)!,
		`${prefix ?? ''}|${collectionId}`,
		() => new SharedKeywordIndex(redis, collectionId, prefix),
		MAX_HANDLES,
	);
}
