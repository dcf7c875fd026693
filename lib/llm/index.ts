export { type LlmConfig, type RateLimitConfig, secretsOf } from './config';
export { DEFAULT_PRICES, DEFAULT_CURRENCY, parsePriceTable, priceOf } from './prices';
export { rateLimitKey, type RateLimit } from './limit';
export { createChatModel, createEmbeddings } from './models';
export {
	invokeChatModel,
	modelFailureCode,
	embedTexts,
	messageText,
	type CallOptions,
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
} from './usage';
export { redactText } from './redact';
export {
	runAgent,
	budgetSpent,
	AgentError,
	type AgentOptions,
	type AgentResult,
	type AgentBudget,
	type ToolCallingChatModel,
	type PendingToolCall,
	type ToolCallDecision,
} from './agent';
export { savePausedRun, restorePausedRun, type SavedAgentRun } from './paused-run';
export {
	invokeStructured,
	schemaFromFields,
	extractJson,
	describeIssues,
	StructuredOutputError,
	type OutputField,
} from './structured';
export {
	runTask,
	checkSteps,
	taskStepPrompt,
	TASK_STEP_INSTRUCTION,
	TaskError,
	type TaskStep,
	type StepResult,
} from './task';
export { rerankWithApi } from './rerank';
export { listModels, type ListedModel } from './model-list';
export { runConversationTurn, runSummary, AgentRunError } from './conversation';
export { runAgentTask } from './agent-task';
