export { type LlmConfig, secretsOf } from './config';
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
export { UsageTracker, type TokenUsage, type UsageTotals } from './usage';
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
} from './agent';
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
