/** GET <path>/v1/models: the Model Names as OpenAI's model list; no execution is started. */
import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { ChatCompletionsError, modelList } from '../../../lib/chat-completions';
import { authorize, modelNames, refuse } from './http';

export async function models(this: IWebhookFunctions): Promise<IWebhookResponseData> {
	const caller = await authorize(this);
	if (caller instanceof ChatCompletionsError) return refuse(this, caller);
	const created = Math.floor(Date.now() / 1000);
	this.getResponseObject()
		.status(200)
		.json(modelList(modelNames(this), created, 'n8n'));
	return { noWebhookResponse: true };
}
