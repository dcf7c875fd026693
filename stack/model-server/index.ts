export { OfflineModelServer } from './server';
export { embed, cosine } from './embeddings';
export { lastUserText, offlineModel, parsePassages, planFor, systemText } from './offline-model';
export type { ChatRequest, ModelReply } from './types';
export { offlineModelConfig } from './config';
export { PROFILES, PROVIDER_PROFILES, type ProfileName, type ProviderProfile } from './profiles';
