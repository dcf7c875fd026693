export {
	SCOPES,
	INTERNAL_SCOPES,
	LIMITS,
	namespace,
	internalNamespace,
	tenantPath,
	checkKey,
	type Scope,
	type InternalScope,
	type Namespace,
} from './scope';
export { encodeComponent, decodeComponent, namespaceId } from './keys';
export { checkAccess, FULL_ACCESS, type AccessPolicy } from './access';
export { serializeValue, DEFAULT_MAX_VALUE_BYTES, type JsonValue } from './values';
export { MemoryError, VersionConflictError } from './errors';
export {
	compareKeys,
	type MemoryStore,
	type StoredValue,
	type SetOptions,
	type ListOptions,
	type ListPage,
	type AppendMessagesOptions,
} from './store';
export { InProcessMemoryStore, assertSingleInstance } from './in-process-store';
export { RedisMemoryStore } from './redis-store';
export { PostgresMemoryStore } from './postgres-store';
export {
	selectRecent,
	messagesToTrim,
	fromTurnStart,
	estimateMessageTokens,
	type ConversationMessage,
	type ToolCallRecord,
	type RecentOptions,
} from './conversation';
export { Memory, type MemoryOptions } from './memory';
export {
	ScopedChatMemory,
	ChatMessageHistory,
	toConversationMessage,
	toLangChainMessage,
	turnMessages,
	type ChatMemoryOptions,
} from './langchain-memory';
export { memoryTools } from './tools';
