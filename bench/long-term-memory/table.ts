/**
 * The README's long-term memory recall table, from the long-term-memory benchmark's result (bench/results/latest.json,
 * key "long-term-memory"); test/unit/support/readme.test.ts holds the README to it.
 */
export interface RecallQuality {
	recallAt5: number;
	hitAt1: number;
	/** Share of the returned facts that were superseded or forgotten (0–1). */
	supersededShare: number;
	tokensPerTurn: { recallMemories: number; fullHistory: number };
}

export interface LongTermMemoryResult {
	keywords: RecallQuality;
	hashingEmbeddings: RecallQuality;
	semanticEmbeddings: RecallQuality;
}

const ROWS: Array<[keyof LongTermMemoryResult, string]> = [
	['keywords', 'keywords (BM25)'],
	['hashingEmbeddings', 'keywords + word-hashing embeddings (the stand-in)'],
	['semanticEmbeddings', 'keywords + semantic embeddings (Universal Sentence Encoder Lite)'],
];

export function recallTable(result: LongTermMemoryResult): string {
	return [
		'| recall by | recall@5 | hit@1 | superseded or forgotten facts returned | tokens per turn, Recall Memories (top 5) | tokens per turn, full history replayed |',
		'|---|---|---|---|---|---|',
		...ROWS.map(([key, label]) => {
			const q = result[key];
			return `| ${label} | ${q.recallAt5.toFixed(3)} | ${q.hitAt1.toFixed(3)} | ${q.supersededShare} | ${q.tokensPerTurn.recallMemories} | ${q.tokensPerTurn.fullHistory} |`;
		}),
	].join('\n');
}
