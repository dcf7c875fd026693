export {
	SCOPES,
	LIMITS,
	namespace,
	internalNamespace,
	tenantPath,
	checkKey,
	type Scope,
	type Namespace,
} from './scope';
export { encodeComponent, decodeComponent, namespaceId } from './keys';
export { checkAccess, type AccessPolicy } from './access';
export { serializeValue } from './values';
export { MemoryError, VersionConflictError } from './errors';
export { memoryErrorOf, openFailure, storeFailureCode } from './store-failures';
export { type MemoryStore } from './store';
export { InProcessMemoryStore, assertSingleInstance } from './in-process-store';
export { RedisMemoryStore, redisAddress } from './redis-store';
export { PostgresMemoryStore, postgresAddress } from './postgres-store';
export { selectRecent, messagesToTrim, type ConversationMessage } from './conversation';
export { Memory } from './memory';
export { ScopedChatMemory, turnMessages } from './langchain-memory';
export { memoryTools } from './tools';
