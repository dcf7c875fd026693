export { RagError, type RagErrorCode } from './errors';
export { checkMetadata, RESERVED_KEYS, type Metadata, type MetadataValue } from './metadata';
export {
	loadDocument,
	documentTooLarge,
	detectFormat,
	htmlToText,
	pdfToText,
	jsonToText,
	DOCUMENT_FORMATS,
	DEFAULT_MAX_DOCUMENT_BYTES,
	type DocumentFormat,
	type DocumentInput,
	type LoadedDocument,
} from './loaders';
export {
	chunkDocument,
	checkChunking,
	countTokens,
	markdownHeadings,
	DEFAULT_CHUNKING,
	type Chunk,
	type ChunkingOptions,
	type ChunkUnit,
} from './chunking';
export { chunkId } from './ids';
export { chromaAuthHeaders, type ChromaAuthentication } from './chroma-auth';
export {
	ChromaKnowledgeStore,
	KnowledgeBaseCollection,
	checkKnowledgeBaseName,
	DEFAULT_UPSERT_BATCH_SIZE,
	REVISION_KEY,
	type ChromaConnection,
	type ChunkRecord,
	type QueryMatch,
	type StoreCallOptions,
	type StoredChunk,
} from './chroma-store';
export {
	ingestDocuments,
	checkDimension,
	DEFAULT_EMBEDDING_BATCH_SIZE,
	type IngestOptions,
	type IngestResult,
	type SourceResult,
} from './ingest';
export {
	retrieve,
	mmrSelect,
	checkRetrieval,
	reciprocalRankFusion,
	SEARCH_MODES,
	DEFAULT_RRF_K,
	type Reranker,
	type RetrievalOptions,
	type RetrievedChunk,
	type SearchMode,
} from './retrieval';
export { keywordIndexFor, keywordTerms, KeywordIndex, type KeywordHit } from './keyword-index';
export { Bm25Index, BM25_PARAMETERS } from './bm25';
export { decodeDocument, charsetOf, type DecodeOptions } from './encoding';
export {
	answerFromChunks,
	answerPrompt,
	citationNumbers,
	resolveCitations,
	checkCitations,
	formatPassage,
	CITATION_RULE,
	NOT_FOUND_ANSWER,
	type Answer,
	type Citation,
} from './answer';
