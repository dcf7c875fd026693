export { RagError, type RagErrorCode } from './errors';
export {
	loadDocument,
	documentTooLarge,
	detectFormat,
	DOCUMENT_EXTENSIONS,
	jsonToText,
	valueAt,
	type DocumentInput,
	type LoadedDocument,
} from './loaders';
export {
	chunkDocument,
	checkChunking,
	countTokens,
	markdownHeadings,
	DEFAULT_CHUNKING,
} from './chunking';
export { chunkId } from './ids';
export { chromaAuthHeaders } from './chroma-auth';
export {
	ChromaKnowledgeStore,
	KnowledgeBaseCollection,
	DEFAULT_UPSERT_BATCH_SIZE,
	type ChromaConnection,
	type StoredChunk,
} from './chroma-store';
export { ingestDocuments, DEFAULT_EMBEDDING_BATCH_SIZE, type IngestOptions } from './ingest';
export {
	retrieve,
	mmrSelect,
	convexCombination,
	reciprocalRankFusion,
	DEFAULT_KEYWORD_WEIGHT,
	type Fusion,
	type Reranker,
	type RetrievalOptions,
	type RetrievedChunk,
	type SearchMode,
} from './retrieval';
export { keywordIndexFor, KeywordIndex } from './keyword-index';
export { keywordTerms } from './keyword-terms';
export { SharedKeywordIndex, type SharedKeywordIndexOptions } from './shared-keyword-index';
export { Bm25Index } from './bm25';
export { decodeDocument } from './encoding';
export { answerFromChunks, citationNumbers, resolveCitations } from './answer';
export {
	evaluateRetrieval,
	expectedSources,
	scoreQuestion,
	summarize,
	type EvaluationSummary,
	type ModeRun,
	type QuestionScores,
} from './evaluate';
