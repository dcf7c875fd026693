/** OpenAI's error body, `{ error: { message, type, param, code } }`, which every OpenAI client parses. */
interface OpenAiErrorBody {
	error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * A request the endpoint refuses, with the HTTP status and error fields OpenAI's API uses for the same case
 * (400 invalid_request_error, 401 invalid_api_key, 404 model_not_found, 500 server_error).
 */
export class ChatCompletionsError extends Error {
	override name = 'ChatCompletionsError';

	constructor(
		readonly status: number,
		message: string,
		readonly type = 'invalid_request_error',
		readonly param: string | null = null,
		readonly code: string | null = null,
	) {
		super(message);
	}

	get body(): OpenAiErrorBody {
		return {
			error: { message: this.message, type: this.type, param: this.param, code: this.code },
		};
	}
}
