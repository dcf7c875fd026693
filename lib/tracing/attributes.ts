/**
 * Attribute names of the spans we emit. The `gen_ai.*` names are OpenTelemetry's GenAI semantic conventions
 * (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/, still "development"): the semantic-conventions
 * package asks users of unstable names to copy them rather than import its `incubating` entry, so they live here.
 * `n8n.*` names match the ones n8n's own workflow/node spans use; `openagents.*` are this package's.
 */
export const GEN_AI = {
	operationName: 'gen_ai.operation.name',
	providerName: 'gen_ai.provider.name',
	agentName: 'gen_ai.agent.name',
	requestModel: 'gen_ai.request.model',
	responseModel: 'gen_ai.response.model',
	responseId: 'gen_ai.response.id',
	finishReasons: 'gen_ai.response.finish_reasons',
	inputTokens: 'gen_ai.usage.input_tokens',
	outputTokens: 'gen_ai.usage.output_tokens',
	toolName: 'gen_ai.tool.name',
	toolCallId: 'gen_ai.tool.call.id',
	toolType: 'gen_ai.tool.type',
	/** Recorded only with Record Content on. */
	toolCallArguments: 'gen_ai.tool.call.arguments',
	/** Recorded only with Record Content on. */
	toolCallResult: 'gen_ai.tool.call.result',
	/** Recorded only with Record Content on: JSON array of { role, parts }. */
	inputMessages: 'gen_ai.input.messages',
	/** Recorded only with Record Content on. */
	outputMessages: 'gen_ai.output.messages',
	dataSourceId: 'gen_ai.data_source.id',
	/** Recorded only with Record Content on. */
	retrievalQueryText: 'gen_ai.retrieval.query.text',
} as const;

/** Values of gen_ai.operation.name. */
export const GEN_AI_OPERATION = {
	chat: 'chat',
	embeddings: 'embeddings',
	executeTool: 'execute_tool',
	invokeAgent: 'invoke_agent',
	retrieval: 'retrieval',
} as const;

export const N8N = {
	executionId: 'n8n.execution.id',
	workflowId: 'n8n.workflow.id',
	nodeName: 'n8n.node.name',
	nodeType: 'n8n.node.type',
	itemIndex: 'n8n.item.index',
	nodeItemsOutput: 'n8n.node.items.output',
} as const;

export const OPENAGENTS = {
	operation: 'openagents.operation',
	status: 'openagents.status',
	attempts: 'openagents.attempts',
	template: 'openagents.agent.template',
	stepName: 'openagents.step.name',
	taskId: 'openagents.task.id',
	taskAgent: 'openagents.task.agent',
	taskDependsOn: 'openagents.task.depends_on',
	taskResumed: 'openagents.task.resumed',
	planTasks: 'openagents.plan.tasks',
	kbDocuments: 'openagents.kb.documents',
	kbChunks: 'openagents.kb.chunks',
	kbAdded: 'openagents.kb.added',
	kbUpdated: 'openagents.kb.updated',
	kbRemoved: 'openagents.kb.removed',
	kbEmbeddingCalls: 'openagents.kb.embedding_calls',
	kbMode: 'openagents.kb.mode',
	kbTopK: 'openagents.kb.top_k',
	kbScores: 'openagents.kb.scores',
	kbSources: 'openagents.kb.sources',
	embeddingTexts: 'openagents.embeddings.texts',
	/** An item's totals over all its model calls (the chat spans carry gen_ai.usage.* per call). */
	usagePromptTokens: 'openagents.usage.prompt_tokens',
	usageCompletionTokens: 'openagents.usage.completion_tokens',
	usageModelCalls: 'openagents.usage.model_calls',
	memoryOperation: 'openagents.memory.operation',
	memoryScope: 'openagents.memory.scope',
	/** Messages read or appended by a conversation memory. */
	memoryMessages: 'openagents.memory.messages',
} as const;

/** Span event names. */
export const EVENTS = {
	/** A failed attempt that is retried: attributes attempt, delay_ms, error. */
	retry: 'retry',
} as const;
