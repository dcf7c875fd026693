/**
 * Our OTLP/JSON encoding (lib/tracing/otlp-json.ts) against the official one: JsonTraceSerializer of
 * @opentelemetry/otlp-transformer (the serializer @opentelemetry/exporter-trace-otlp-http posts), on spans of the SDK
 * with every attribute type, events, links, statuses, parents local and remote, trace state, dropped counts, two
 * resources and several scopes.
 */
import {
	ROOT_CONTEXT,
	SpanKind,
	SpanStatusCode,
	TraceFlags,
	trace,
	type Attributes,
	type SpanContext,
} from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
	InMemorySpanExporter,
	SimpleSpanProcessor,
	TracerProvider,
	type ReadableSpan,
} from '@opentelemetry/sdk-trace';

import { traceRequest, traceRequestJson } from '../../../lib/tracing';

const official = (spans: ReadableSpan[]): string =>
	new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans));

const everyType: Attributes = {
	string: 'text with "quotes", unicode é 🚀 and \n newline',
	empty: '',
	int: 42,
	negative: -7,
	zero: 0,
	big: Number.MAX_SAFE_INTEGER,
	double: 3.25,
	tiny: 1e-9,
	true: true,
	false: false,
	strings: ['a', 'b'],
	ints: [1, 2, 3],
	mixedNumbers: [1, 2.5],
	bools: [true, false],
	withNull: ['a', null, 'c'],
	emptyArray: [],
};

function spansOf(limits = {}): ReadableSpan[] {
	const memory = new InMemorySpanExporter();
	const provider = new TracerProvider({
		resource: resourceFromAttributes(
			{ 'service.name': 'svc', 'service.instance.id': 7, 'host.cores': [1, 2] },
			{ schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' },
		),
		spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
		spanLimits: limits,
	});
	const tracer = provider.getTracer('n8n-nodes-openagents', '0.1.0');
	const other = provider.getTracer('other-scope', undefined, {
		schemaUrl: 'https://opentelemetry.io/schemas/1.28.0',
	});

	const remote: SpanContext = {
		traceId: '0af7651916cd43dd8448eb211c80319c',
		spanId: 'b7ad6b7169203331',
		traceFlags: TraceFlags.SAMPLED,
		isRemote: true,
		traceState: new TraceState('vendor=abc,other=1'),
	};
	const start: [number, number] = [1_700_000_000, 123_456_789];
	const root = tracer.startSpan(
		'invoke_agent Agent',
		{ kind: SpanKind.SERVER, attributes: everyType, startTime: start },
		trace.setSpanContext(ROOT_CONTEXT, remote),
	);
	const child = tracer.startSpan(
		'chat model',
		{
			kind: SpanKind.CLIENT,
			startTime: new Date(1_700_000_000_500),
			links: [
				{ context: remote, attributes: { 'link.kind': 'dependency', weight: 0.5 } },
				{
					context: {
						traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
						spanId: '00f067aa0ba902b7',
						traceFlags: TraceFlags.NONE,
					},
				},
			],
		},
		trace.setSpan(ROOT_CONTEXT, root),
	);
	child.addEvent(
		'gen_ai.content.prompt',
		{ 'gen_ai.prompt': 'hi', tokens: 3 },
		[1_700_000_000, 600_000_001],
	);
	child.addEvent('no attributes');
	child.recordException(new Error('429 rate limited'));
	child.setStatus({ code: SpanStatusCode.ERROR, message: '429 rate limited' });
	child.end([1_700_000_001, 5]);
	const producer = other.startSpan(
		'enqueue',
		{ kind: SpanKind.PRODUCER },
		trace.setSpan(ROOT_CONTEXT, child),
	);
	producer.setStatus({ code: SpanStatusCode.OK });
	producer.end();
	other.startSpan('consume', { kind: SpanKind.CONSUMER }).end();
	const internal = tracer.startSpan('tool search', {}, trace.setSpan(ROOT_CONTEXT, root));
	for (let i = 0; i < 6; i++) internal.setAttribute(`a${i}`, i);
	for (let i = 0; i < 4; i++) internal.addEvent(`e${i}`, { x: i, y: 'y', z: true });
	internal.addLink({ context: child.spanContext(), attributes: { p: 1, q: 2, r: 3 } });
	internal.addLink({ context: producer.spanContext() });
	internal.addLink({ context: remote });
	internal.end();
	root.end([1_700_000_002, 0]);

	// A second provider: a second resource in the same request.
	const second = new TracerProvider({
		resource: resourceFromAttributes({ 'service.name': 'second' }),
		spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
	});
	second.getTracer('n8n-nodes-openagents', '0.1.0').startSpan('elsewhere').end();
	return memory.getFinishedSpans();
}

describe('OTLP/JSON encoding', () => {
	it('equals the official JsonTraceSerializer, byte for byte', () => {
		const spans = spansOf();
		expect(spans).toHaveLength(6);
		const ours = traceRequestJson(spans);
		expect(JSON.parse(ours)).toEqual(JSON.parse(official(spans)));
		expect(ours).toBe(official(spans));
	});

	it('equals it with dropped attributes, events and links (span limits)', () => {
		const spans = spansOf({
			attributeCountLimit: 4,
			eventCountLimit: 2,
			linkCountLimit: 2,
			attributePerEventCountLimit: 1,
			attributePerLinkCountLimit: 2,
			attributeValueLengthLimit: 5,
		});
		const internal = spans.find((s) => s.name === 'tool search')!;
		expect(internal.droppedAttributesCount).toBeGreaterThan(0);
		expect(internal.droppedEventsCount).toBeGreaterThan(0);
		expect(internal.droppedLinksCount).toBeGreaterThan(0);
		expect(traceRequestJson(spans)).toBe(official(spans));
	});

	it('equals it for values the SDK does not make itself: bytes, maps, an undefined kind, no events', () => {
		const [span] = spansOf();
		const handMade = {
			...span,
			spanContext: span.spanContext,
			kind: undefined as unknown as SpanKind,
			attributes: {
				bytes: new Uint8Array([0, 1, 254, 255]),
				map: { a: 1, b: ['x'], c: { d: false } },
				nothing: undefined,
			} as unknown as Attributes,
			events: [{ name: 'bare', time: [1, 2] as [number, number] }],
			links: [],
		} as ReadableSpan;
		expect(traceRequestJson([handMade])).toBe(official([handMade]));
		expect(traceRequestJson([])).toBe(official([]));
	});

	it('has the OTLP shape: hex IDs, kind + 1, nanosecond strings, typed values, status, flags', () => {
		const spans = spansOf();
		const [first, second] = traceRequest(spans).resourceSpans;
		expect(first.resource.schemaUrl).toBe('https://opentelemetry.io/schemas/1.30.0');
		expect(first.resource.attributes).toContainEqual({
			key: 'service.name',
			value: { stringValue: 'svc' },
		});
		expect(second.resource.attributes).toEqual([
			{ key: 'service.name', value: { stringValue: 'second' } },
		]);
		expect(first.scopeSpans.map((s) => s.scope)).toEqual([
			{ name: 'n8n-nodes-openagents', version: '0.1.0' },
			{ name: 'other-scope', version: undefined },
		]);
		const all = first.scopeSpans.flatMap((s) => s.spans);
		const root = all.find((s) => s.name === 'invoke_agent Agent')!;
		const chat = all.find((s) => s.name === 'chat model')!;
		expect(root).toMatchObject({
			traceId: '0af7651916cd43dd8448eb211c80319c',
			parentSpanId: 'b7ad6b7169203331',
			traceState: 'vendor=abc,other=1',
			kind: 2,
			startTimeUnixNano: '1700000000123456789',
			endTimeUnixNano: '1700000002000000000',
			flags: 0x301,
		});
		expect(Object.fromEntries(root.attributes.map((kv) => [kv.key, kv.value]))).toMatchObject({
			int: { intValue: 42 },
			double: { doubleValue: 3.25 },
			true: { boolValue: true },
			strings: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } },
			withNull: { arrayValue: { values: [{ stringValue: 'a' }, {}, { stringValue: 'c' }] } },
		});
		expect(chat).toMatchObject({
			parentSpanId: root.spanId,
			kind: 3,
			startTimeUnixNano: '1700000000500000000',
			status: { code: 2, message: '429 rate limited' },
			flags: 0x101,
		});
		expect(chat.events.map((e) => e.name)).toEqual([
			'gen_ai.content.prompt',
			'no attributes',
			'exception',
		]);
		expect(chat.events[0]).toEqual({
			attributes: [
				{ key: 'gen_ai.prompt', value: { stringValue: 'hi' } },
				{ key: 'tokens', value: { intValue: 3 } },
			],
			name: 'gen_ai.content.prompt',
			timeUnixNano: '1700000000600000001',
			droppedAttributesCount: 0,
		});
		expect(chat.links[0]).toMatchObject({
			traceId: '0af7651916cd43dd8448eb211c80319c',
			spanId: 'b7ad6b7169203331',
			traceState: 'vendor=abc,other=1',
			flags: 0x301,
		});
		expect(chat.links[1].flags).toBe(0x100);
	});
});
