/**
 * The "Retry Policy" option every node of this package offers, and its conversion to a lib/retry policy.
 * Better than n8n's node-level "Retry On Fail" (≤ 5 tries, fixed wait ≤ 5 s): exponential backoff with jitter,
 * server Retry-After honoured, only transient failures retried, and the policy reported in the output.
 */
import {
	NodeOperationError,
	type IExecuteFunctions,
	type INodeProperties,
	type ISupplyDataFunctions,
} from 'n8n-workflow';

import {
	DEFAULT_RETRY_POLICY_CONFIG,
	ExponentialBackoffRetryPolicy,
	FixedDelayRetryPolicy,
	NoRetryPolicy,
	RetryPolicyError,
	type RetryPolicy,
} from '../../lib/retry';

const D = DEFAULT_RETRY_POLICY_CONFIG;

export const retryPolicyProperty: INodeProperties = {
	displayName: 'Retry Policy',
	name: 'retryPolicy',
	type: 'collection',
	placeholder: 'Change Retry Policy',
	default: {},
	description: `How failed calls (model, embeddings, Chroma, memory store, n8n API) are retried. Only transient failures (network errors, timeouts, HTTP 408/409/425/429/5xx) are retried; a server's Retry-After is honoured. Default: exponential backoff, ${D.maxRetries} retries, ${D.initialDelay} ms initial delay, ${D.maxDelay / 1000} s max, ×${D.multiplier}, jitter ${D.jitter}.`,
	options: [
		{
			displayName: 'Delay (Ms)',
			name: 'delay',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 1000,
			description: 'Fixed Delay policy only: the wait before every retry, in milliseconds',
		},
		{
			displayName: 'Initial Delay (Ms)',
			name: 'initialDelay',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: D.initialDelay,
			description: 'Exponential Backoff only: the wait before the first retry, in milliseconds',
		},
		{
			displayName: 'Jitter',
			name: 'jitter',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 },
			default: D.jitter,
			description:
				'Randomness, 0 to 1: each wait is drawn between (1 − jitter) × delay and delay, so parallel items do not retry in lockstep. 1 is "full jitter".',
		},
		{
			displayName: 'Max Delay (Ms)',
			name: 'maxDelay',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: D.maxDelay,
			description: 'Exponential Backoff only: the longest wait between retries, in milliseconds',
		},
		{
			displayName: 'Max Retries',
			name: 'maxRetries',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 100 },
			default: D.maxRetries,
			description: 'Retries after the first attempt (0 = try once)',
		},
		{
			displayName: 'Multiplier',
			name: 'multiplier',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 100, numberPrecision: 2 },
			default: D.multiplier,
			description: 'Exponential Backoff only: each wait is the previous one times this factor',
		},
		{
			displayName: 'Policy',
			name: 'type',
			type: 'options',
			options: [
				{
					name: 'Exponential Backoff',
					value: 'exponential',
					description: 'Wait longer after each failure, up to Max Delay',
				},
				{
					name: 'Fixed Delay',
					value: 'fixed',
					description: 'Wait the same Delay before every retry',
				},
				{ name: 'None', value: 'none', description: 'Fail on the first error' },
			],
			default: 'exponential',
		},
	],
};

interface RetryPolicyParameters {
	type?: 'exponential' | 'fixed' | 'none';
	maxRetries?: number;
	delay?: number;
	initialDelay?: number;
	maxDelay?: number;
	multiplier?: number;
	jitter?: number;
}

/** Builds the item's retry policy from its "Retry Policy" option; invalid values give a NodeOperationError for that item. */
export function getRetryPolicy(
	context: IExecuteFunctions | ISupplyDataFunctions,
	itemIndex: number,
): RetryPolicy {
	const p = context.getNodeParameter('retryPolicy', itemIndex, {}) as RetryPolicyParameters;
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
		throw new NodeOperationError(context.getNode(), `Invalid Retry Policy: ${message}`, {
			itemIndex,
			description: 'Check the values under Options > Retry Policy.',
		});
	}
}
