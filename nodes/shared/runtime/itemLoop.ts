/**
 * The one item loop of this package: every node that processes items runs them through `runItems`.
 *
 * For each input item (from `resume.itemIndex` when n8n calls the node again after a wait): the item's settings are
 * read once, its work runs in a trace span of its own (`traceItem`; token usage on the span when the settings carry a
 * usage tracker), and the JSON it returns goes to the node's output with `pairedItem`. Any error takes the failed-item
 * rule (`failedItem`: NodeOperationError with `itemIndex`, or an error item with Continue On Fail). An operation
 * whose execution must wait for n8n's engine (a reviewer's approval) throws `EngineWait`: the loop returns its
 * EngineRequest with the outputs so far. Usage of all items is added to the execution's custom data at the end.
 */
import type { Attributes } from '@opentelemetry/api';
import type {
	EngineRequest,
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
} from 'n8n-workflow';

import { UsageTracker } from '../../../lib/llm';
import { OPENAGENTS } from '../../../lib/tracing';
import { failedItem, type ErrorRule, type ItemFailure } from './failedItem';
import { traceItem } from './nodeTracing';
import { addUsageToExecution } from './usage';

/** What an operation returns for one item: its output JSON, or several (one output item each). */
type ItemJson = IDataObject | IDataObject[];

/** An item's JSON for another output than the first (e.g. the Planner's Needs Clarification). */
export class ToOutput {
	constructor(
		readonly output: number,
		readonly json: ItemJson,
	) {}
}

type ItemResult = ItemJson | ToOutput;

/**
 * The operation shape of every operation file: `run` holds what the node opened once for all items (context, clients,
 * connected sub-nodes), `settings` what was read of this item (at least ItemSettings: index, Retry Policy, Options).
 */
export type Operation<Run, Settings, Result = ItemResult> = (
	run: Run,
	settings: Settings,
) => Promise<Result>;

/** Thrown by an operation whose execution waits (for a reviewer): the loop returns `request(outputs so far)`. */
export abstract class EngineWait extends Error {
	abstract engineRequest(itemIndex: number, outputs: INodeExecutionData[][]): EngineRequest;
}

interface ItemSpan {
	name: string;
	attributes?: Attributes;
}

interface ItemLoop<S extends ItemState> {
	/** The node's failure hints; a function when they depend on the operation. */
	errors: ErrorRule;
	/** Reads the item's settings once; an invalid parameter fails the item. */
	settings(itemIndex: number): S | Promise<S>;
	/** The item's trace span (read before the settings, so a failing item is traced too). */
	span(itemIndex: number): ItemSpan;
	/** The item's work. */
	run(settings: S): Promise<ItemResult>;
	/** What a failed item adds to the rule's message and Continue On Fail item (code, usage so far, partial result). */
	failure?(error: Error, settings: S | undefined): ItemFailure;
	/** Number of outputs (default 1). */
	outputs?: number;
	/** Continue after a wait: from this item, after these outputs of the earlier call. */
	resume?: { itemIndex: number; outputs: INodeExecutionData[][] };
	/** Runs after the last item, failed or not (closing what the run opened). */
	close?(): Promise<void>;
	/** Whether an item may wait for n8n's engine (EngineWait); otherwise a wait is an error. */
	waits?: boolean;
}

type ItemState = { itemIndex: number; usage?: UsageTracker };

/** The span of an item of `operation`: `<operation> <node name>`, with the operation as an attribute. */
export function operationSpan(fn: IExecuteFunctions, operation: string): ItemSpan {
	return {
		name: `${operation} ${fn.getNode().name}`,
		attributes: { [OPENAGENTS.operation]: operation },
	};
}

/** Runs the items (see the file comment). Returns the node's outputs, or an EngineRequest when an item waits. */
export function runItems<S extends ItemState>(
	fn: IExecuteFunctions,
	loop: ItemLoop<S> & { waits: true },
): Promise<INodeExecutionData[][] | EngineRequest>;
export function runItems<S extends ItemState>(
	fn: IExecuteFunctions,
	loop: ItemLoop<S>,
): Promise<INodeExecutionData[][]>;
export async function runItems<S extends ItemState>(
	fn: IExecuteFunctions,
	loop: ItemLoop<S>,
): Promise<INodeExecutionData[][] | EngineRequest> {
	const itemCount = fn.getInputData().length;
	const outputs = Array.from({ length: loop.outputs ?? 1 }, (_, i) => [
		...(loop.resume?.outputs[i] ?? []),
	]);
	const total = new UsageTracker();
	try {
		for (let itemIndex = loop.resume?.itemIndex ?? 0; itemIndex < itemCount; itemIndex++) {
			let settings: S | undefined;
			try {
				const { name, attributes = {} } = loop.span(itemIndex);
				const result = await traceItem(
					itemIndex,
					name,
					attributes,
					async () => {
						settings = await loop.settings(itemIndex);
						return loop.run(settings);
					},
					() => settings?.usage,
				);
				const { output, json } = result instanceof ToOutput ? result : { output: 0, json: result };
				for (const entry of Array.isArray(json) ? json : [json])
					outputs[output].push({ json: entry, pairedItem: { item: itemIndex } });
			} catch (error) {
				if (error instanceof EngineWait && loop.waits)
					return error.engineRequest(itemIndex, outputs);
				const cause = error instanceof Error ? error : new Error(String(error));
				outputs[0].push(
					failedItem(fn, cause, itemIndex, loop.errors, loop.failure?.(cause, settings)),
				);
			} finally {
				const usage = (settings as S | undefined)?.usage;
				if (usage) total.add(usage.get());
			}
		}
	} finally {
		// Only runs that used something write usage: n8n keeps at most 10 custom data keys per execution.
		const spent = total.get();
		if (spent.modelCalls || spent.retries || spent.toolErrors) addUsageToExecution(fn, spent);
		await loop.close?.();
	}
	return outputs;
}

/**
 * The outputs of the one batch operation (Knowledge Base Ingest), which runs its items itself: per input item its JSON
 * or the Error it failed with, in item order (items after a stop left unset). Errors take the failed-item rule.
 */
export function batchOutputs(
	fn: IExecuteFunctions,
	results: Array<IDataObject | Error | undefined>,
	errors: ErrorRule,
): INodeExecutionData[][] {
	const out: INodeExecutionData[] = [];
	results.forEach((result, itemIndex) => {
		if (result === undefined) return;
		out.push(
			result instanceof Error
				? failedItem(fn, result, itemIndex, errors)
				: { json: result, pairedItem: { item: itemIndex } },
		);
	});
	return [out];
}
