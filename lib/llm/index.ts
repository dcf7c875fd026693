export { type LlmConfig, secretsOf } from './config';
export { createChatModel, createEmbeddings, type ChatModelOptions, type EmbeddingsOptions } from './models';
export { invokeChatModel, embedTexts, type CallOptions, type EmbedOptions, type EmbedResult, type InvokableChatModel, type DocumentEmbedder } from './calls';
export { UsageTracker, type TokenUsage, type UsageTotals } from './usage';
export { redactError, redactText } from './redact';
