/**
 * POST <path>/v1/chat/completions: checks the key, the request and the model before any execution starts (refusals
 * are OpenAI-shaped errors), then starts the workflow with the request as its item. n8n streams the execution's
 * chunks into this webhook's HTTP response — from a worker too, in queue mode — and the CompletionResponder installed
 * on it writes them as OpenAI's format instead. A client that hangs up has its execution stopped through n8n's API
 * when the node has the n8n API credential.
 */
import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import {
	ChatCompletionsError,
	modelRefusal,
	CompletionResponder,
	latestUserText,
	newCompletionId,
	parseChatCompletionRequest,
	DEFAULT_REQUEST_LIMITS,
	limitRefusal,
	sessionIdFor,
	textOf,
	type ChatCompletionRequest,
	type RequestLimits,
	type SessionScope,
	type CompletionIdentity,
	type ResponderOptions,
	type ResponseSink,
} from '../../../lib/chat-completions';
import { NoRetryPolicy } from '../../../lib/retry';
import { n8nApiClientWith } from '../../shared/clients/n8nApi';
import { authorize, modelNames, refuse } from './http';

type Response = ReturnType<IWebhookFunctions['getResponseObject']>;

export async function chatCompletions(this: IWebhookFunctions): Promise<IWebhookResponseData> {
	const caller = await authorize(this);
	if (caller instanceof ChatCompletionsError) return refuse(this, caller);
	const request = parseOrRefusal(this.getBodyData());
	if (request instanceof ChatCompletionsError) return refuse(this, request);
	const unknownModel = modelRefusal(request.model, modelNames(this));
	if (unknownModel) return refuse(this, unknownModel);
	const tooLarge = limitRefusal(
		requestBytes(this),
		request.messages.map((message) => ({ text: textOf(message.content) })),
		limitsOf(this),
	);
	if (tooLarge) return refuse(this, tooLarge);
	const identity: CompletionIdentity = {
		id: newCompletionId(),
		created: Math.floor(Date.now() / 1000),
		model: request.model,
	};
	intercept(this.getResponseObject(), {
		identity,
		stream: request.stream === true,
		includeUsage: request.stream_options?.include_usage === true,
		onAbandoned: (executionId) => void stopExecution(this, executionId),
	});
	const sessionHeader = this.getHeaderData()['x-session-id'];
	const requested = (typeof sessionHeader === 'string' && sessionHeader) || request.user;
	const scope = this.getNodeParameter('sessionScope', 'shared') as SessionScope;
	const tagged = (id: string) =>
		sessionIdFor({ requested: id, completionId: identity.id, key: caller.key, scope });
	return {
		// The response is ours (intercept). Only this flag settles the promise n8n's production webhook waits on in
		// streaming mode, and that promise's end releases the expression isolate (about 10 MiB, outside the heap) n8n
		// reserved for the request: without it n8n main kept one per completion. n8n's Chat Trigger returns it too.
		noWebhookResponse: true,
		workflowData: [
			[
				{
					json: {
						...(request as unknown as IDataObject),
						stream: request.stream === true,
						completionId: identity.id,
						chatInput: latestUserText(request.messages),
						sessionId: tagged(requested ?? ''),
						// The caller's user, kept apart per key like sessions: the Agent's long-term memory subject.
						...(request.user ? { userId: tagged(request.user) } : {}),
					},
				},
			],
		],
	};
}

/** The body's size in bytes: its Content-Length, else its JSON. */
function requestBytes(fn: IWebhookFunctions): number {
	const declared = Number(fn.getHeaderData()['content-length']);
	return Number.isFinite(declared) && declared > 0
		? declared
		: Buffer.byteLength(JSON.stringify(fn.getBodyData() ?? {}));
}

/** Options → limits, each falling back to its default. */
function limitsOf(fn: IWebhookFunctions): RequestLimits {
	const options = fn.getNodeParameter('options', {}) as Partial<RequestLimits>;
	const limit = (name: keyof RequestLimits) =>
		Number(options[name]) > 0 ? Number(options[name]) : DEFAULT_REQUEST_LIMITS[name];
	return {
		maxRequestBytes: limit('maxRequestBytes'),
		maxMessages: limit('maxMessages'),
		maxMessageChars: limit('maxMessageChars'),
	};
}

function parseOrRefusal(body: unknown): ChatCompletionRequest | ChatCompletionsError {
	try {
		return parseChatCompletionRequest(body);
	} catch (error) {
		if (error instanceof ChatCompletionsError) return error;
		return new ChatCompletionsError(
			400,
			`The request could not be read: ${(error as Error).message}`,
		);
	}
}

/**
 * Routes what n8n writes to `res` (its chunk lines, keep-alives, the end() when the execution finishes) through a
 * CompletionResponder, which writes the client's response with the original methods.
 */
function intercept(res: Response, options: Omit<ResponderOptions, 'sink'>): CompletionResponder {
	const write = res.write.bind(res) as (text: string) => boolean;
	const end = res.end.bind(res) as (text?: string) => Response;
	// compression's flush when n8n runs behind it: each event leaves at once.
	const flush = () => (res as Response & { flush?: () => void }).flush?.();
	const sink: ResponseSink = {
		start: (status, headers) => void res.writeHead(status, headers),
		write: (text) => {
			write(text);
			flush();
		},
		end: (text) => void end(text),
	};
	const responder = new CompletionResponder({ ...options, sink });
	res.write = ((chunk: unknown) => {
		responder.receive(String(chunk));
		return true;
	}) as Response['write'];
	res.end = ((chunk?: unknown) => {
		if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) responder.receive(String(chunk));
		responder.close();
		return res;
	}) as Response['end'];
	res.on('close', () => responder.clientGone());
	return responder;
}

/**
 * Stops an execution through n8n's public API when the node has the n8n API credential (read only then: a client
 * hanging up is rare, and reading a credential costs n8n tens of milliseconds); logs the outcome.
 */
async function stopExecution(fn: IWebhookFunctions, executionId: string): Promise<void> {
	if (!fn.getNode().credentials?.openAgentsN8nApi) {
		fn.logger.info(
			`Chat Completions: client disconnected; execution ${executionId} runs on (add the n8n API credential to stop it)`,
		);
		return;
	}
	try {
		const client = await n8nApiClientWith(fn, { policy: new NoRetryPolicy(), timeoutMs: 10_000 });
		await client.stopExecution(executionId);
		fn.logger.info(`Chat Completions: client disconnected, execution ${executionId} stopped`);
	} catch (error) {
		fn.logger.warn(
			`Chat Completions: client disconnected, but stopping execution ${executionId} failed: ${(error as Error).message}`,
		);
	}
}
