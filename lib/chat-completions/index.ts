export { ChatCompletionsError, type OpenAiErrorBody } from './errors';
export {
	chatCompletionRequestSchema,
	keyRefusal,
	clientKeyProblem,
	modelRefusal,
	parseChatCompletionRequest,
	textOf,
	type ChatCompletionRequest,
	type ChatMessage,
} from './request';
export { latestUserText, toChatMessages } from './messages';
export {
	chatCompletion,
	completionChunk,
	modelList,
	newCompletionId,
	sseEvent,
	SSE_DONE,
	toOpenAiUsage,
	usageChunk,
	type CompletionIdentity,
	type FinishReason,
	type OpenAiUsage,
} from './response';
export {
	CHAT_COMPLETIONS_TRIGGER,
	readReply,
	replyEnd,
	replyStart,
	REPLY_KEY,
	type ReplyEnd,
	type ReplyStart,
} from './reply';
export { CompletionResponder, type ResponderOptions, type ResponseSink } from './responder';
