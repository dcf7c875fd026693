export { OfflineModelServer } from './server';
export type { Fault, ModelServerOptions, RequestLogEntry, Route } from './server';
export { embed, cosine, DEFAULT_EMBEDDING_DIMENSIONS } from './embeddings';
export {
	citedAnswer,
	lastUserText,
	offlineModel,
	parsePassages,
	planFor,
	systemText,
	valueForSchema,
} from './offline-model';
export type { ChatRequest, ModelReply, ReplyHandler } from './types';
export { offlineModelConfig, type OfflineModelConfig } from './config';
