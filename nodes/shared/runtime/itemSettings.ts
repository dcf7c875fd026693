/**
 * What every operation reads of an item once, before it runs: the item's Retry Policy, its Options collection, n8n's
 * cancel signal and a log line naming the execution and node. Clients (LLM API, Chroma, memory store, n8n API) are
 * built from these settings, so no parameter is read twice for one item.
 */
import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type ISupplyDataFunctions,
} from 'n8n-workflow';

import type { UsageTracker } from '../../../lib/llm';
import {
	DEFAULT_RETRY_POLICY_CONFIG as D,
	ExponentialBackoffRetryPolicy,
	FixedDelayRetryPolicy,
	NoRetryPolicy,
	RetryPolicyError,
	type RetryPolicy,
} from '../../../lib/retry';

/** The functions n8n gives a node that works on items: `execute` (a regular node) or `supplyData` (a sub-node). */
export type NodeFunctions = IExecuteFunctions | ISupplyDataFunctions;

export interface ItemSettings {
	itemIndex: number;
	/** From the node's Retry Policy parameter (throws NodeOperationError for invalid values, see getRetryPolicy). */
	retryPolicy: RetryPolicy;
	/** The node's Options collection ({} when the node has none or nothing is set). */
	options: IDataObject;
	/** n8n's cancel signal of the execution: every outbound call of the item stops with it. */
	signal?: AbortSignal;
	/** n8n's log, warning level, with the execution ID and node name. */
	log: (line: string) => void;
}

/** Reads the item's settings (see the file comment). Throws NodeOperationError for an invalid Retry Policy. */
export function readItemSettings(fn: NodeFunctions, itemIndex: number): ItemSettings {
	return {
		itemIndex,
		retryPolicy: getRetryPolicy(fn, itemIndex),
		options: (fn.getNodeParameter('options', itemIndex, {}) ?? {}) as IDataObject,
		signal: fn.getExecutionCancelSignal?.(),
		log: nodeLog(fn),
	};
}

/** Logs through n8n's logger, naming the execution and node (for errors that arrive between calls, and retries). */
export function nodeLog(fn: Pick<NodeFunctions, 'logger' | 'getNode' | 'getExecutionId'>) {
	return (line: string) =>
		fn.logger.warn(line, { executionId: fn.getExecutionId(), nodeName: fn.getNode().name });
}

/** Settings of an item that calls the model: the common ones and the tracker of the item's usage. */
export interface ModelItemSettings extends ItemSettings {
	usage: UsageTracker;
}

/** The Retry Policy parameter as n8n stores it (fields/retryPolicy.ts). */
interface RetryPolicyParameters {
	type?: 'exponential' | 'fixed' | 'none';
	maxRetries?: number;
	delay?: number;
	initialDelay?: number;
	maxDelay?: number;
	multiplier?: number;
	jitter?: number;
}

/** Builds the item's retry policy from its "Retry Policy" parameter; invalid values give a NodeOperationError for that item. */
export function getRetryPolicy(fn: NodeFunctions, itemIndex: number): RetryPolicy {
	const p = fn.getNodeParameter('retryPolicy', itemIndex, {}) as RetryPolicyParameters;
	const maxRetries = p.maxRetries ?? D.maxRetries;
	const jitter = p.jitter ?? D.jitter;
	try {
		switch (p.type ?? 'exponential') {
			case 'none':
				return new NoRetryPolicy();
			case 'fixed':
				return new FixedDelayRetryPolicy({ maxRetries, delay: p.delay ?? 1000, jitter });
			default:
				return new ExponentialBackoffRetryPolicy({
					maxRetries,
					initialDelay: p.initialDelay ?? D.initialDelay,
					maxDelay: p.maxDelay ?? D.maxDelay,
					multiplier: p.multiplier ?? D.multiplier,
					jitter,
				});
		}
	} catch (error) {
		// Building a policy only validates numbers: any failure here is a configuration error of this item.
		const message = error instanceof RetryPolicyError ? error.message : String(error);
		throw new NodeOperationError(fn.getNode(), `Invalid Retry Policy: ${message}`, {
			itemIndex,
			description: 'Check the values under Options > Retry Policy.',
		});
	}
}
