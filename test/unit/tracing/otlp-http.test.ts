/**
 * Where and how our OTLP/HTTP exporter sends (lib/tracing/otlp-http.ts): URL, headers, compression and TLS files
 * from the given options and the OTEL_EXPORTER_OTLP_* variables, as @opentelemetry/exporter-trace-otlp-http 0.223.1
 * resolved them for us (each expectation below is what that exporter's configuration gave for the same input).
 */
import { DEFAULT_TRACES_URL, otlpHttpSettings } from '../../../lib/tracing';

describe('otlpHttpSettings', () => {
	it('URL: the given one, else the traces endpoint as is, else the endpoint + /v1/traces, else localhost', () => {
		const url = (env: Record<string, string>, given?: string) =>
			otlpHttpSettings({ url: given }, env).url;
		expect(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, 'http://given:1/v1/traces')).toBe(
			'http://given:1/v1/traces',
		);
		expect(
			url({
				OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:4318/custom/path',
				OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
			}),
		).toBe('http://t:4318/custom/path');
		expect(url({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:4318' })).toBe('http://t:4318/');
		expect(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe('http://c:4318/v1/traces');
		expect(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toBe('http://c:4318/v1/traces');
		expect(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://x.io/api/otel' })).toBe(
			'https://x.io/api/otel/v1/traces',
		);
		// Unparsable or blank variables are skipped.
		expect(
			url({
				OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'bad',
				OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
			}),
		).toBe('http://c:4318/v1/traces');
		expect(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toBe(DEFAULT_TRACES_URL);
		expect(url({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBe(DEFAULT_TRACES_URL);
		expect(url({})).toBe('http://localhost:4318/v1/traces');
	});

	it('headers: the general variable, then the traces one, then the given headers, then Content-Type', () => {
		expect(
			otlpHttpSettings(
				{ headers: { b: 'given', 'x-key': 'k' } },
				{
					OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=2%203, c = x=y ,bad,=v,k=,m=1;meta=2',
					OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'b=traces,t=3',
				},
			).headers,
		).toEqual({
			a: '1',
			b: 'given',
			c: 'x=y',
			m: '1',
			t: '3',
			'x-key': 'k',
			'Content-Type': 'application/json',
		});
		expect(otlpHttpSettings({}, {}).headers).toEqual({ 'Content-Type': 'application/json' });
		expect(
			otlpHttpSettings({ headers: { 'Content-Type': 'text/plain' } }, {}).headers['Content-Type'],
		).toBe('application/json');
	});

	it('gzip from the traces compression variable, else the general one; other values are ignored', () => {
		const gzip = (env: Record<string, string>) => otlpHttpSettings({}, env).gzip;
		expect(gzip({})).toBe(false);
		expect(gzip({ OTEL_EXPORTER_OTLP_COMPRESSION: ' gzip ' })).toBe(true);
		expect(
			gzip({
				OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
				OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'none',
			}),
		).toBe(false);
		expect(
			gzip({ OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'br' }),
		).toBe(true);
	});

	it('TLS files: the traces variable, else the general one', () => {
		expect(
			otlpHttpSettings(
				{},
				{
					OTEL_EXPORTER_OTLP_CERTIFICATE: '/general/ca.pem',
					OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: '/traces/ca.pem',
					OTEL_EXPORTER_OTLP_CLIENT_KEY: 'key.pem',
				},
			).tls,
		).toEqual({
			ca: { variable: 'OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE', path: '/traces/ca.pem' },
			key: { variable: 'OTEL_EXPORTER_OTLP_CLIENT_KEY', path: 'key.pem' },
		});
	});
});
