/**
 * The "Retry Policy" option every node of this package offers (read by readItemSettings into a lib/retry policy).
 * Its defaults are literals, as n8n's linter asks; a unit test holds them equal to DEFAULT_RETRY_POLICY_CONFIG.
 * Better than n8n's node-level "Retry On Fail" (≤ 5 tries, fixed wait ≤ 5 s): exponential backoff with jitter,
 * server Retry-After honoured, only transient failures retried, and the policy reported in the output.
 */
import type { INodeProperties } from 'n8n-workflow';

export const retryPolicyProperty: INodeProperties = {
	displayName: 'Retry Policy',
	name: 'retryPolicy',
	type: 'collection',
	placeholder: 'Change Retry Policy',
	default: {},
	description:
		"How failed calls (model, embeddings, Chroma, memory store, n8n API) are retried. Only transient failures (network errors, timeouts, HTTP 408/409/425/429/5xx) are retried; a server's Retry-After is honoured. Default: exponential backoff, 3 retries, 500 ms initial delay, 30 s max, ×2, jitter 0.2.",
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
			default: 500,
			description: 'Exponential Backoff only: the wait before the first retry, in milliseconds',
		},
		{
			displayName: 'Jitter',
			name: 'jitter',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 },
			default: 0.2,
			description:
				'Randomness, 0 to 1: each wait is drawn between (1 − jitter) × delay and delay, so parallel items do not retry in lockstep. 1 is "full jitter".',
		},
		{
			displayName: 'Max Delay (Ms)',
			name: 'maxDelay',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 30000,
			description: 'Exponential Backoff only: the longest wait between retries, in milliseconds',
		},
		{
			displayName: 'Max Retries',
			name: 'maxRetries',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 100 },
			default: 3,
			description: 'Retries after the first attempt (0 = try once)',
		},
		{
			displayName: 'Multiplier',
			name: 'multiplier',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 100, numberPrecision: 2 },
			default: 2,
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
