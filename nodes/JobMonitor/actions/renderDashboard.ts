import {
	NodeOperationError,
	updateDisplayOptions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeProperties,
} from 'n8n-workflow';

import { DASHBOARD_RANGES, dashboardHtml, dashboardView } from '../../../lib/jobs';
import { locatorValue } from '../../shared/fields/locators';
import { workflowFields } from './listJobs';
import { partStatus, snapshotOptions, withOpsSources } from './opsSource';
import type { JobMonitorOperation } from './types';

const properties: INodeProperties[] = [
	{
		displayName: 'Time Range',
		name: 'range',
		type: 'options',
		options: [
			// As lib/jobs DASHBOARD_RANGES (a unit test holds them equal), written out for n8n's linter.
			{ name: 'Custom (From – To)', value: 'custom' },
			{ name: 'Last 15 Minutes', value: '15m' },
			{ name: 'Last 24 Hours', value: '24h' },
			{ name: 'Last 30 Days', value: '30d' },
			{ name: 'Last 6 Hours', value: '6h' },
			{ name: 'Last 7 Days', value: '7d' },
			{ name: 'Last Hour', value: '1h' },
		],
		default: '24h',
		description:
			'The window shown. The page’s filter sends it as the query parameter "range" (with "from" and "to" for Custom).',
		hint: 'Set this to {{ $json.query.range }} to follow the page’s filter',
	},
	{
		displayName: 'From',
		name: 'from',
		type: 'string',
		default: '',
		placeholder: 'e.g. 2026-12-01T00:00 or {{ $json.query.from }}',
		description: 'Start of the window when Time Range is Custom (ISO 8601; without a zone, UTC)',
	},
	{
		displayName: 'To',
		name: 'to',
		type: 'string',
		default: '',
		placeholder: 'e.g. 2026-12-02T00:00 or {{ $json.query.to }}',
		description:
			'End of the window when Time Range is Custom (ISO 8601; without a zone, UTC); empty = now',
	},
	...workflowFields('renderDashboard'),
	snapshotOptions('renderDashboard', [
		{
			displayName: 'Title',
			name: 'title',
			type: 'string',
			default: 'Agent operations',
			description: 'Heading and browser tab title of the page',
		},
	]),
];

export const description = updateDisplayOptions(
	{ show: { operation: ['renderDashboard'] } },
	properties,
);

/** A time given without a zone is UTC (the page's From/To fields send local-looking values). */
function parseTime(value: string): number {
	const text = value.trim();
	return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
}

/** The window for the item: a preset range up to now, or Custom From – To. Throws NodeOperationError when invalid. */
function windowOf(fn: IExecuteFunctions, itemIndex: number) {
	const range = String(fn.getNodeParameter('range', itemIndex, '24h') || '24h');
	const now = Date.now();
	if (range !== 'custom') {
		const preset = DASHBOARD_RANGES[range];
		if (!preset)
			throw new NodeOperationError(fn.getNode(), `Unknown Time Range "${range}"`, {
				itemIndex,
				description: `Use one of ${Object.keys(DASHBOARD_RANGES).join(', ')} or custom.`,
			});
		return { from: now - preset.ms, to: now, range };
	}
	const fromText = String(fn.getNodeParameter('from', itemIndex, ''));
	const toText = String(fn.getNodeParameter('to', itemIndex, ''));
	const from = parseTime(fromText);
	const to = toText.trim() ? parseTime(toText) : now;
	if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from)
		throw new NodeOperationError(
			fn.getNode(),
			`The Custom range "${fromText}" – "${toText}" is not a valid window`,
			{ itemIndex, description: 'Give From and To as ISO 8601 times, From before To.' },
		);
	return { from, to, range };
}

/**
 * Output: { html (the complete page), contentType, window { from, to, range }, coverage (of the execution index),
 * viewSource (cache, refreshed or shared), panels { executions, queue, workers: 'ok' or the error shown } }. Answer a webhook with it via Respond to Webhook (Text, {{ $json.html }}).
 */
export const execute: JobMonitorOperation = async ({ fn }, settings) => {
	const { itemIndex } = settings;
	const window = windowOf(fn, itemIndex);
	const workflowId = locatorValue(fn.getNodeParameter('workflowId', itemIndex, '')) || undefined;
	const { options } = settings;
	return withOpsSources(fn, settings, async ({ n8nUrl, cacheError, ...sources }) => {
		const view = await dashboardView({
			...sources,
			workflowId,
			from: new Date(window.from).toISOString(),
			to: new Date(window.to).toISOString(),
			range: window.range,
		});
		const html = dashboardHtml({
			...view,
			title: String(options.title ?? 'Agent operations'),
			workflowId: workflowId ?? '',
			n8nUrl,
			currency: String(options.currency || 'USD'),
			notice: cacheError ?? view.notice,
			generatedAt: new Date().toISOString(),
		});
		return {
			html,
			contentType: 'text/html; charset=utf-8',
			window: view.window,
			coverage: 'data' in view.analytics ? { ...view.analytics.coverage } : null,
			viewSource: view.source,
			panels: {
				executions: partStatus(view.analytics),
				queue: partStatus(view.queue),
				workers: partStatus(view.workers),
			},
		} as unknown as IDataObject;
	});
};
