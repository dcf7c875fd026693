export { ChatCompletionsError } from './errors';
export {
	chatCompletionRequestSchema,
	modelRefusal,
	parseChatCompletionRequest,
	textOf,
	type ChatCompletionRequest,
} from './request';
export {
	authenticate,
	clientKeyProblem,
	clientKeys,
	DEFAULT_REQUEST_LIMITS,
	limitRefusal,
	sessionIdFor,
	type RequestLimits,
	type SessionScope,
} from './callers';
export { latestUserText, toChatMessages } from './messages';
export {
	completionChunk,
	modelList,
	newCompletionId,
	type CompletionIdentity,
	type FinishReason,
} from './response';
export { CHAT_COMPLETIONS_TRIGGER, replyEnd, replyStart } from './reply';
export { CompletionResponder, type ResponderOptions, type ResponseSink } from './responder';
