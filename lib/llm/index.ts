export { type LlmConfig, type RateLimitConfig, secretsOf } from './config';
export {
	DEFAULT_PRICES,
	DEFAULT_PRICES_AS_OF,
	DEFAULT_CURRENCY,
	parsePriceTable,
	priceOf,
	costOf,
	type ModelPrice,
	type PriceTable,
} from './prices';
export {
	rateLimitKey,
	rateLimitGate,
	estimateTokens,
	DEFAULT_COOL_DOWN_MS,
	type RateLimit,
} from './limit';
export {
	createChatModel,
	createEmbeddings,
	type ChatModelOptions,
	type EmbeddingsOptions,
} from './models';
export {
	invokeChatModel,
	modelFailureCode,
	embedTexts,
	messageText,
	type CallOptions,
	type EmbedOptions,
	type EmbedResult,
	type InvokableChatModel,
	type DocumentEmbedder,
} from './calls';
export {
	EXECUTION_USAGE_KEYS,
	UsageTracker,
	withEarlier,
	type ExecutionUsageField,
	type TokenUsage,
	type UsageTotals,
	type ReportedUsage,
} from './usage';
export { redactError, redactText } from './redact';
export {
	runAgent,
	budgetSpent,
	checkToolNames,
	AgentError,
	type AgentOptions,
	type AgentResult,
	type AgentStep,
	type AgentStatus,
	type AgentBudget,
	type ToolCallingChatModel,
	type PendingToolCall,
	type ToolCallDecision,
} from './agent';
export { savePausedRun, restorePausedRun, type SavedAgentRun } from './paused-run';
export {
	invokeStructured,
	repairStructured,
	structuredInstruction,
	schemaFromFields,
	checkOutput,
	extractJson,
	describeIssues,
	StructuredOutputError,
	type OutputField,
	type FieldType,
} from './structured';
export {
	runTask,
	checkSteps,
	taskStepPrompt,
	TASK_STEP_INSTRUCTION,
	TaskError,
	type TaskStep,
	type TaskOptions,
	type TaskResult,
	type StepResult,
	type StepStatus,
	type StepContext,
} from './task';
export { rerankWithApi, RerankHttpError, type RerankOptions } from './rerank';
export { listModels, ModelListError, type ListedModel, type ListModelsOptions } from './model-list';
export {
	runConversationTurn,
	runSummary,
	loadHistory,
	AgentRunError,
	type ChatMemoryLike,
	type ConversationTurn,
	type TurnOutcome,
} from './conversation';
