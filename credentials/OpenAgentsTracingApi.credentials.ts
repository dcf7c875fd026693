import type {
	ICredentialDataDecryptedObject,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestOptions,
	INodeProperties,
} from 'n8n-workflow';

import { parseHeaders } from '../lib/tracing/export';

/**
 * An OpenTelemetry OTLP/HTTP endpoint for the spans of Agent, Planner, Knowledge Base and Memory runs (Jaeger, Tempo,
 * Langfuse, Honeycomb, Phoenix, an OpenTelemetry Collector…). The credential test sends an empty OTLP/JSON export
 * request with the headers, which checks that the endpoint answers and accepts them.
 */
export class OpenAgentsTracingApi implements ICredentialType {
	name = 'openAgentsTracingApi';

	displayName = 'OpenAgents Tracing API';

	icon: Icon = { light: 'file:../icons/openagents.svg', dark: 'file:../icons/openagents.dark.svg' };

	documentationUrl = 'https://opentelemetry.io/docs/specs/otel/protocol/exporter/';

	properties: INodeProperties[] = [
		{
			displayName: 'OTLP Endpoint',
			name: 'endpoint',
			type: 'string',
			default: 'http://localhost:4318',
			required: true,
			placeholder: 'https://cloud.langfuse.com/api/public/otel',
			description:
				'OTLP/HTTP base URL, as in OTEL_EXPORTER_OTLP_ENDPOINT; /v1/traces is added unless the URL ends with it. Jaeger and the OpenTelemetry Collector listen on port 4318.',
		},
		{
			displayName: 'Headers',
			name: 'headers',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'Authorization=Basic cGstbGYtLi4uOnNrLWxmLS4uLg==',
			description:
				'Sent with every export, as in OTEL_EXPORTER_OTLP_HEADERS: key=value pairs separated by commas, e.g. Authorization=Basic <base64 of public key:secret key> for Langfuse, x-honeycomb-team=<API key> for Honeycomb',
		},
		{
			displayName: 'Service Name',
			name: 'serviceName',
			type: 'string',
			default: 'n8n-nodes-openagents',
			description: 'The service.name resource attribute your tracing backend groups the spans by',
		},
		{
			displayName: 'Record Content',
			name: 'recordContent',
			type: 'boolean',
			default: false,
			description:
				'Whether spans carry prompts, completions, tool arguments and results, and search queries. Off: only names, models, token counts, timings and errors are sent. API keys are never sent.',
		},
	];

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		const headers = parseHeaders(String(credentials.headers ?? ''));
		return { ...requestOptions, headers: { ...requestOptions.headers, ...headers } };
	}

	test: ICredentialTestRequest = {
		request: {
			baseURL:
				'={{$credentials.endpoint.trim().replace(/\\/+$/, "").replace(/\\/v1\\/traces$/, "")}}',
			url: '/v1/traces',
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: { resourceSpans: [] },
		},
	};
}
