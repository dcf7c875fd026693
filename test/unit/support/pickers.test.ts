/**
 * Node version 1.1 brings pickers without taking anything from version 1: every parameter a version 1 node shows is
 * still read under the same name, and each picker's value reads back as the string version 1 stored.
 */
import {
	NodeHelpers,
	type INodeProperties,
	type INodePropertyCollection,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { locatorValue, PICKER_VERSION } from '../../../nodes/shared/fields/locators';
import { nodeTypesOfPackage } from '../../support/workflow-runner';

const descriptions = Object.values(nodeTypesOfPackage()).map(
	(type) => type.description as INodeTypeDescription,
);
/** Nodes with a picker parameter (other nodes may have a version 1.1 for other reasons). */
const withPickers = descriptions.filter((d) =>
	allProperties(d.properties).some(([, p]) =>
		['resourceLocator', 'workflowSelector'].includes(p.type),
	),
);

/** Every property, nested ones (collections, fixed collections) included, with where it sits. */
function allProperties(
	properties: readonly INodeProperties[],
	path = '',
): Array<[string, INodeProperties]> {
	return properties.flatMap((p) => {
		const here: Array<[string, INodeProperties]> = [[`${path}${p.name}`, p]];
		if (p.type === 'collection')
			return [...here, ...allProperties(p.options as INodeProperties[], `${path}${p.name}.`)];
		if (p.type === 'fixedCollection')
			return [
				...here,
				...(p.options as INodePropertyCollection[]).flatMap((c) =>
					allProperties(c.values, `${path}${p.name}.${c.name}.`),
				),
			];
		return here;
	});
}

/** Whether a property's own @version condition lets it show at `typeVersion` (other conditions aside). */
function shownAtVersion(p: INodeProperties, typeVersion: number, d: INodeTypeDescription): boolean {
	const version = p.displayOptions?.show?.['@version'];
	if (!version) return true;
	return NodeHelpers.displayParameter(
		{},
		{ ...p, displayOptions: { show: { '@version': version } } },
		{ typeVersion },
		d,
	);
}

it('the nodes with pickers are Agent, Planner, Knowledge Base, Knowledge Base Tool and Job Monitor', () => {
	expect(withPickers.map((d) => d.name).sort()).toEqual([
		'openAgentsAgent',
		'openAgentsJobMonitor',
		'openAgentsKnowledgeBase',
		'openAgentsKnowledgeBaseTool',
		'openAgentsPlanner',
	]);
});

describe.each(withPickers.map((d) => [d.name, d] as const))('%s', (_name, description) => {
	const properties = allProperties(description.properties);
	const at = (typeVersion: number) =>
		properties.filter(([, p]) => shownAtVersion(p, typeVersion, description));

	it('shows every version 1 parameter at version 1.1 under the same name, as text at 1 and as a picker at 1.1', () => {
		const names = (typeVersion: number) =>
			[...new Set(at(typeVersion).map(([path]) => path))].sort();
		expect(names(PICKER_VERSION)).toEqual(names(1));
		const changed = properties.filter(([, p]) => p.displayOptions?.show?.['@version']);
		expect(changed.length).toBeGreaterThan(0);
		for (const [path, p] of changed) {
			const twin = (typeVersion: number) =>
				at(typeVersion).find(([other]) => other === path)?.[1].type;
			expect([path, twin(1), twin(PICKER_VERSION)]).toEqual([
				path,
				'string',
				expect.stringMatching(/^(resourceLocator|workflowSelector)$/),
			]);
			if (p.type === 'resourceLocator')
				expect(p.modes?.map((m) => m.name)).toEqual(['list', expect.stringMatching(/^(name|id)$/)]);
		}
	});
});

describe('locatorValue', () => {
	it.each([
		[
			'a picked value',
			{ __rl: true, mode: 'list', value: ' docs ', cachedResultName: 'docs (3 chunks)' },
			'docs',
		],
		['a typed value (By Name)', { __rl: true, mode: 'name', value: 'docs' }, 'docs'],
		['a version 1 string', ' docs ', 'docs'],
		['an ID as a number', 42, '42'],
		['nothing picked', { __rl: true, mode: 'list', value: '' }, ''],
		['an unset parameter', undefined, ''],
	])('reads %s', (_what, value, expected) => {
		expect(locatorValue(value)).toBe(expected);
	});
});
