/** lib/tracing without n8n: span nesting through the active context, the node run's span, and the export's failure rules. */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
	InMemorySpanExporter,
	type ReadableSpan,
	type SpanExporter,
} from '@opentelemetry/sdk-trace';

import {
	executionTraceId,
	inSpan,
	parseHeaders,
	recordsContent,
	TraceExport,
	traceNodeRun,
	tracesUrl,
} from '../../../lib/tracing';

const info = (extra: Partial<Parameters<typeof traceNodeRun>[1]> = {}) => ({
	executionId: '17',
	workflowId: 'wf1',
	nodeName: 'Agent',
	nodeType: 'n8n-nodes-openagents.openAgentsAgent',
	recordContent: false,
	...extra,
});
const tick = (ms = 1) => new Promise((resolve) => setTimeout(resolve, ms));

describe('tracesUrl and parseHeaders', () => {
	it('appends /v1/traces to a base URL, once', () => {
		expect(tracesUrl('http://localhost:4318')).toBe('http://localhost:4318/v1/traces');
		expect(tracesUrl(' https://cloud.langfuse.com/api/public/otel/ ')).toBe(
			'https://cloud.langfuse.com/api/public/otel/v1/traces',
		);
		expect(tracesUrl('http://collector:4318/v1/traces')).toBe('http://collector:4318/v1/traces');
	});

	it('reads the OTEL_EXPORTER_OTLP_HEADERS format: commas, percent-encoding, "=" inside values', () => {
		expect(parseHeaders('Authorization=Basic cGs6c2s=, x-honeycomb-team=abc%20def,\n')).toEqual({
			Authorization: 'Basic cGs6c2s=',
			'x-honeycomb-team': 'abc def',
		});
		expect(parseHeaders('')).toEqual({});
	});

	it('names a malformed entry by position without echoing it (it may hold a key)', () => {
		expect(() => parseHeaders('a=1,sk-live-secret')).toThrow(
			'Header entry 2 is not in the form key=value',
		);
		expect(() => parseHeaders('a=1,sk-live-secret')).not.toThrow(/sk-live/);
	});
});

describe('executionTraceId', () => {
	it('is 32 hex characters, the same for the same execution, different for another execution or workflow', () => {
		const id = executionTraceId('wf1', '17');
		expect(id).toMatch(/^[0-9a-f]{32}$/);
		expect(executionTraceId('wf1', '17')).toBe(id);
		expect(executionTraceId('wf1', '18')).not.toBe(id);
		expect(executionTraceId('wf2', '17')).not.toBe(id);
	});
});

describe('spans', () => {
	let memory: InMemorySpanExporter;
	let target: TraceExport;
	beforeEach(() => {
		memory = new InMemorySpanExporter();
		target = new TraceExport({}, memory);
	});
	afterEach(() => target.shutdown());
	const spans = () => memory.getFinishedSpans();
	const named = (name: string) => spans().find((s) => s.name === name)!;
	const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

	it('records nothing outside a traced run, and still runs the function', async () => {
		await expect(
			inSpan('chat m', {}, async (span) => (span.setAttribute('a', 1), 42)),
		).resolves.toBe(42);
		expect(recordsContent()).toBe(false);
		await target.flush();
		expect(spans()).toEqual([]);
	});

	it('nests spans across awaits, timers and parallel branches; the root has the execution trace ID', async () => {
		const traceId = await traceNodeRun(target, info(), async (id) => {
			await inSpan('outer', {}, async () => {
				await tick();
				await Promise.all(
					['x', 'y'].map((name) => inSpan(name, {}, async () => tick(name === 'x' ? 5 : 1))),
				);
			});
			return id;
		});
		const root = named('Agent');
		expect(traceId).toBe(executionTraceId('wf1', '17'));
		expect(root.spanContext().traceId).toBe(traceId);
		expect(parentOf(root)).toBeUndefined();
		expect(root.attributes).toMatchObject({ 'n8n.execution.id': '17', 'n8n.workflow.id': 'wf1' });
		expect(parentOf(named('outer'))).toBe(root.spanContext().spanId);
		expect(parentOf(named('x'))).toBe(named('outer').spanContext().spanId);
		expect(parentOf(named('y'))).toBe(named('outer').spanContext().spanId);
		expect(new Set(spans().map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
	});

	it('marks a failing span and its run with the error, rethrows it, and still ends and flushes the spans', async () => {
		await expect(
			traceNodeRun(target, info(), () =>
				inSpan('chat m', {}, async () => {
					throw new Error('429 rate limited');
				}),
			),
		).rejects.toThrow('429 rate limited');
		for (const span of [named('chat m'), named('Agent')]) {
			expect(span.status).toEqual({ code: 2, message: '429 rate limited' });
			expect(span.events.map((e) => e.name)).toEqual(['exception']);
		}
	});

	it('gives Record Content to the spans of its run only', async () => {
		const seen: boolean[] = [];
		await traceNodeRun(target, info({ recordContent: true }), async () => {
			seen.push(recordsContent());
		});
		await traceNodeRun(target, info({ recordContent: false }), async () => {
			seen.push(recordsContent());
		});
		expect(seen).toEqual([true, false]);
	});

	it("joins a parent trace given as W3C trace context (n8n's node span)", async () => {
		const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
		await traceNodeRun(target, info({ parent: { traceparent: parent } }), async () => undefined);
		expect(named('Agent').spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
		expect(parentOf(named('Agent'))).toBe('b7ad6b7169203331');
	});
});

describe('a failing endpoint', () => {
	/** Fails its first export at once; later exports hang until released. */
	class FailThenHang implements SpanExporter {
		calls = 0;
		pending: Array<(result: ExportResult) => void> = [];
		export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
			if (++this.calls === 1)
				done({ code: ExportResultCode.FAILED, error: new Error('ECONNREFUSED') });
			else this.pending.push(done);
		}
		shutdown = async () => this.pending.forEach((done) => done({ code: ExportResultCode.SUCCESS }));
	}

	it('reports the first failure only, and a run does not wait for exports while they fail', async () => {
		const inner = new FailThenHang();
		const target = new TraceExport({ endpoint: 'http://down:4318' }, inner);
		const reports: string[] = [];
		target.reporter.report = (message) => void reports.push(message);
		await traceNodeRun(target, info(), async () => undefined);
		expect(reports).toEqual([
			expect.stringContaining(
				'exporting 1 spans to http://down:4318/v1/traces failed (ECONNREFUSED)',
			),
		]);
		// The next run returns although its export has not answered (a waiting run would take the 5 s flush limit).
		const outcome = await Promise.race([
			traceNodeRun(target, info(), async () => undefined).then(() => 'returned'),
			tick(1000).then(() => 'still waiting'),
		]);
		expect(outcome).toBe('returned');
		expect(inner.calls).toBe(2);
		expect(inner.pending).toHaveLength(1);
		expect(reports).toHaveLength(1);
		await target.shutdown();
	});

	it('stops waiting for an endpoint that does not answer once a flush has timed out, and says so once', async () => {
		const hanging: SpanExporter = {
			export: () => undefined, // never answers
			shutdown: async () => undefined,
		};
		const target = new TraceExport({ endpoint: 'http://blackhole:4318' }, hanging, 100);
		const reports: string[] = [];
		target.reporter.report = (message) => void reports.push(message);
		await traceNodeRun(target, info(), async () => undefined);
		expect(reports).toEqual([
			expect.stringContaining('sending spans to http://blackhole:4318/v1/traces did not finish'),
		]);
		const outcome = await Promise.race([
			traceNodeRun(target, info(), async () => undefined).then(() => 'returned'),
			tick(50).then(() => 'still waiting'),
		]);
		expect(outcome).toBe('returned');
		expect(reports).toHaveLength(1);
	});
});
