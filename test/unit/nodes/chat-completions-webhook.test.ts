/**
 * What the Chat Completions Trigger's webhook tells n8n. The response is the trigger's own (its responder writes it),
 * so every answer says noWebhookResponse: in streaming mode only that settles the promise n8n's production webhook
 * waits on, and only then does n8n release the expression isolate it reserved for the request (about 10 MiB each;
 * without the flag n8n main grew by that much per completion in the soak test).
 */
import type { IWebhookFunctions } from 'n8n-workflow';

import { OpenAgentsChatCompletionsTrigger } from '../../../nodes/ChatCompletionsTrigger/OpenAgentsChatCompletionsTrigger.node';

const KEY = 'sk-test-0123456789abcdef0123456789abcdef';

function webhookFunctions(body: unknown, method = 'POST'): IWebhookFunctions {
	const res = {
		write: () => true,
		end: () => res,
		on: () => res,
		writeHead: () => res,
		set: () => res,
		status: () => res,
		json: () => res,
	};
	return {
		getRequestObject: () => ({ method }),
		getResponseObject: () => res,
		getNode: () => ({ credentials: { openAgentsChatCompletionsApi: { id: 'cred-1' } } }),
		getCredentials: async () => ({ apiKey: KEY }),
		getHeaderData: () => ({ authorization: `Bearer ${KEY}` }),
		getBodyData: () => body,
		getNodeParameter: (_name: string, fallback: unknown) => fallback,
	} as unknown as IWebhookFunctions;
}

const trigger = new OpenAgentsChatCompletionsTrigger();
const request = (stream: boolean) => ({
	model: 'n8n-agent',
	stream,
	messages: [{ role: 'user', content: 'Hello' }],
});

it.each([true, false])(
	'starts the workflow with the request and tells n8n the response is the node’s own (stream: %s)',
	async (stream) => {
		const answer = await trigger.webhook.call(webhookFunctions(request(stream)));
		expect(answer.noWebhookResponse).toBe(true);
		expect(answer.workflowData?.[0][0].json).toMatchObject({
			stream,
			chatInput: 'Hello',
			completionId: expect.stringMatching(/^chatcmpl-/),
		});
	},
);

it('refuses a wrong key without starting a workflow, also answering the response itself', async () => {
	const fns = webhookFunctions(request(false));
	(fns as unknown as { getHeaderData: () => object }).getHeaderData = () => ({
		authorization: 'Bearer wrong',
	});
	const answer = await trigger.webhook.call(fns);
	expect(answer).toEqual({ noWebhookResponse: true });
});
