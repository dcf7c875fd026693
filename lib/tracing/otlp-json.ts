/**
 * Finished spans as an OTLP/JSON ExportTraceServiceRequest, the body our exporter (otlp-http.ts) posts. This is ours,
 * not @opentelemetry/otlp-transformer's JsonTraceSerializer, because the transformer comes with OpenTelemetry's
 * OTLP/HTTP trace exporter package, which installs 20 MB under n8n (see otlp-http.ts).
 *
 * It follows the OTLP/HTTP JSON encoding (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): the
 * proto3 JSON mapping (https://protobuf.dev/programming-guides/json/) of opentelemetry-proto's trace messages
 * (https://github.com/open-telemetry/opentelemetry-proto/blob/main/opentelemetry/proto/trace/v1/trace.proto), with
 * the OTLP exceptions: trace and span IDs as hex strings (not base64), enums as numbers, lowerCamelCase keys. It
 * produces the same JSON as JsonTraceSerializer of @opentelemetry/otlp-transformer 0.223.1, field for field and in
 * the same order (test/unit/tracing/otlp-json.test.ts compares the two): times as decimal strings of nanoseconds,
 * integer attributes as JSON numbers (the mapping's readers accept numbers and strings for int64), span kind + 1
 * (the API has no UNSPECIFIED), flags with the W3C trace flags and the parent's is-remote bits.
 */
import type { Attributes, HrTime, Link } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';

/** opentelemetry.proto.common.v1.AnyValue: one of the fields is set ({} for a value it cannot hold). */
interface OtlpAnyValue {
	stringValue?: string;
	boolValue?: boolean;
	intValue?: number;
	doubleValue?: number;
	bytesValue?: string;
	arrayValue?: { values: OtlpAnyValue[] };
	kvlistValue?: { values: OtlpKeyValue[] };
}

interface OtlpKeyValue {
	key: string;
	value: OtlpAnyValue;
}

interface OtlpEvent {
	attributes: OtlpKeyValue[];
	name: string;
	timeUnixNano: string;
	droppedAttributesCount: number;
}

interface OtlpLink {
	attributes: OtlpKeyValue[];
	spanId: string;
	traceId: string;
	traceState?: string;
	droppedAttributesCount: number;
	flags: number;
}

interface OtlpSpan {
	traceId: string;
	spanId: string;
	parentSpanId?: string;
	traceState?: string;
	name: string;
	/** SpanKind + 1: 1 internal, 2 server, 3 client, 4 producer, 5 consumer (0 unspecified). */
	kind: number;
	startTimeUnixNano: string;
	endTimeUnixNano: string;
	attributes: OtlpKeyValue[];
	droppedAttributesCount: number;
	events: OtlpEvent[];
	droppedEventsCount: number;
	/** 0 unset, 1 ok, 2 error (the API's and the proto's codes are the same). */
	status: { code: number; message?: string };
	links: OtlpLink[];
	droppedLinksCount: number;
	flags: number;
}

interface OtlpScopeSpans {
	scope: {
		name: string;
		version?: string;
		attributes?: OtlpKeyValue[];
		droppedAttributesCount?: number;
	};
	spans: OtlpSpan[];
	schemaUrl?: string;
}

interface OtlpResourceSpans {
	resource: { attributes: OtlpKeyValue[]; droppedAttributesCount: number; schemaUrl?: string };
	scopeSpans: OtlpScopeSpans[];
	schemaUrl?: string;
}

/** opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest */
interface OtlpTraceRequest {
	resourceSpans: OtlpResourceSpans[];
}

/** SpanFlags of trace.proto: bit 8 "has is-remote", bit 9 "is remote", above the W3C trace flags. */
const FLAGS_HAS_IS_REMOTE = 0x100;
const FLAGS_IS_REMOTE = 0x200;

function flagsOf(traceFlags: number, isRemote: boolean | undefined): number {
	return (traceFlags & 0xff) | FLAGS_HAS_IS_REMOTE | (isRemote ? FLAGS_IS_REMOTE : 0);
}

/** Nanoseconds since the epoch as a decimal string (fixed64 in the JSON mapping). */
function nanos(time: HrTime): string {
	return (BigInt(Math.trunc(time[0])) * 1_000_000_000n + BigInt(Math.trunc(time[1]))).toString();
}

function anyValue(value: unknown): OtlpAnyValue {
	switch (typeof value) {
		case 'string':
			return { stringValue: value };
		case 'number':
			return Number.isInteger(value) ? { intValue: value } : { doubleValue: value };
		case 'boolean':
			return { boolValue: value };
	}
	if (value instanceof Uint8Array) return { bytesValue: Buffer.from(value).toString('base64') };
	if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValue) } };
	if (typeof value === 'object' && value !== null)
		return { kvlistValue: { values: keyValues(value as Record<string, unknown>) } };
	return {};
}

function keyValues(attributes: Attributes | Record<string, unknown>): OtlpKeyValue[] {
	return Object.keys(attributes).map((key) => ({ key, value: anyValue(attributes[key]) }));
}

function event(e: TimedEvent): OtlpEvent {
	return {
		attributes: e.attributes ? keyValues(e.attributes) : [],
		name: e.name,
		timeUnixNano: nanos(e.time),
		droppedAttributesCount: e.droppedAttributesCount || 0,
	};
}

function link(l: Link): OtlpLink {
	return {
		attributes: l.attributes ? keyValues(l.attributes) : [],
		spanId: l.context.spanId,
		traceId: l.context.traceId,
		traceState: l.context.traceState?.serialize(),
		droppedAttributesCount: l.droppedAttributesCount || 0,
		flags: flagsOf(l.context.traceFlags, l.context.isRemote),
	};
}

function span(s: ReadableSpan): OtlpSpan {
	const context = s.spanContext();
	return {
		traceId: context.traceId,
		spanId: context.spanId,
		parentSpanId: s.parentSpanContext?.spanId || undefined,
		traceState: context.traceState?.serialize(),
		name: s.name,
		kind: s.kind == null ? 0 : s.kind + 1,
		startTimeUnixNano: nanos(s.startTime),
		endTimeUnixNano: nanos(s.endTime),
		attributes: keyValues(s.attributes),
		droppedAttributesCount: s.droppedAttributesCount,
		events: s.events.map(event),
		droppedEventsCount: s.droppedEventsCount,
		status: { code: s.status.code, message: s.status.message },
		links: s.links.map(link),
		droppedLinksCount: s.droppedLinksCount,
		flags: flagsOf(context.traceFlags, s.parentSpanContext?.isRemote),
	};
}

/** A scope as the SDK may hold it: newer tracers can carry scope attributes. */
type Scope = ReadableSpan['instrumentationScope'] & {
	attributes?: Attributes;
	droppedAttributesCount?: number;
};

function scopeOf(scope: Scope): OtlpScopeSpans['scope'] {
	const result: OtlpScopeSpans['scope'] = { name: scope.name, version: scope.version };
	if (scope.attributes && Object.keys(scope.attributes).length > 0) {
		result.attributes = keyValues(scope.attributes);
		result.droppedAttributesCount = scope.droppedAttributesCount ?? 0;
	}
	return result;
}

/**
 * The request for `spans`: one ResourceSpans per resource (by identity, as the SDK shares one per provider), in it
 * one ScopeSpans per instrumentation scope (name, version and schema URL), spans in their given order.
 */
export function traceRequest(spans: readonly ReadableSpan[]): OtlpTraceRequest {
	const byResource = new Map<Resource, Map<string, ReadableSpan[]>>();
	for (const s of spans) {
		let byScope = byResource.get(s.resource);
		if (!byScope) byResource.set(s.resource, (byScope = new Map()));
		const scope = s.instrumentationScope;
		const key = `${scope.name}@${scope.version || ''}:${scope.schemaUrl || ''}`;
		const list = byScope.get(key);
		if (list) list.push(s);
		else byScope.set(key, [s]);
	}
	return {
		resourceSpans: [...byResource].map(([resource, byScope]) => {
			const otlpResource: OtlpResourceSpans['resource'] = {
				attributes: keyValues(resource.attributes),
				droppedAttributesCount: 0,
			};
			if (resource.schemaUrl) otlpResource.schemaUrl = resource.schemaUrl;
			return {
				resource: otlpResource,
				scopeSpans: [...byScope.values()].map((list) => ({
					scope: scopeOf(list[0].instrumentationScope),
					spans: list.map(span),
					schemaUrl: list[0].instrumentationScope.schemaUrl,
				})),
				schemaUrl: otlpResource.schemaUrl,
			};
		}),
	};
}

/** The request for `spans` as JSON text (fields left undefined are omitted). */
export function traceRequestJson(spans: readonly ReadableSpan[]): string {
	return JSON.stringify(traceRequest(spans));
}
