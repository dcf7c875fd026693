/**
 * Pickers (resource locators: From List with search, By Name / By ID, or an expression) for knowledge bases,
 * workflows and models, and the node version that introduced them.
 *
 * Version 1 nodes typed these as plain strings. Nodes saved at version 1 keep their string fields (shown and run as
 * before); new nodes are version 1.1 and get the pickers. n8n does the same for Execute Workflow's workflow.
 */
import type { INodeProperties, INodePropertyMode } from 'n8n-workflow';

/**
 * For a node's subtitle expression: the Knowledge Base parameter as text, a picked one ({ value, … }, version 1.1) or a
 * typed one (a string, version 1).
 */
export const KNOWLEDGE_BASE_IN_SUBTITLE =
	'($parameter["knowledgeBase"].value ?? $parameter["knowledgeBase"])';

/** The first version of each node with pickers. */
export const PICKER_VERSION = 1.1;

/** The versions of every node that has pickers. */
export const PICKER_NODE_VERSIONS = [1, PICKER_VERSION];

const onlyVersion1 = { '@version': [1] };
const fromPickerVersion = { '@version': [{ _cnd: { gte: PICKER_VERSION } }] };

function showWith(field: INodeProperties, show: Record<string, unknown>): INodeProperties {
	const displayOptions = field.displayOptions ?? {};
	return {
		...field,
		displayOptions: { ...displayOptions, show: { ...displayOptions.show, ...show } },
	} as INodeProperties;
}

/** The version 1 text field and, from version 1.1, its picker (same parameter name, so one value is read). */
export function versionedPicker(text: INodeProperties, picker: INodeProperties): INodeProperties[] {
	return [showWith(text, onlyVersion1), showWith(picker, fromPickerVersion)];
}

/**
 * A picker's value as a string: the `value` of a resource locator ({ __rl, mode, value }), or the string itself
 * (version 1 nodes, expressions that produce a plain ID). Trimmed; '' when unset.
 */
export function locatorValue(value: unknown): string {
	if (value && typeof value === 'object' && 'value' in value)
		return String((value as { value: unknown }).value ?? '').trim();
	return typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '';
}

/**
 * The picker that replaces the text field `text`: same name, label, description and requiredness; these modes. The
 * modes are written inside a `modes` array where they are declared, which is where n8n's linter expects them.
 */
function pickerFor(
	text: INodeProperties,
	{ modes }: { modes: INodePropertyMode[] },
): INodeProperties {
	return {
		displayName: text.displayName,
		name: text.name,
		type: 'resourceLocator',
		default: { mode: 'list', value: '' },
		...(text.required ? { required: true } : {}),
		description: text.description,
		modes,
	};
}

/** Knowledge base: the Chroma credential's collections (with chunk counts), or a name (Ingest creates new ones). */
export function knowledgeBasePicker(text: INodeProperties): INodeProperties {
	return pickerFor(text, {
		modes: [
			{
				displayName: 'From List',
				name: 'list',
				type: 'list',
				placeholder: 'Select a knowledge base...',
				typeOptions: { searchListMethod: 'searchKnowledgeBases', searchable: true },
			},
			{
				displayName: 'By Name',
				name: 'name',
				type: 'string',
				placeholder: 'e.g. product-docs',
				validation: [
					{
						type: 'regex',
						properties: {
							regex: '^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$',
							errorMessage:
								'3–512 letters, digits, ".", "_" or "-", starting and ending with a letter or digit',
						},
					},
				],
			},
		],
	});
}

/** A model of the LLM API credential's server (GET /models), or a name typed for servers that do not list theirs. */
function modelPicker(text: INodeProperties, kind: 'chat' | 'embedding'): INodeProperties {
	return pickerFor(text, {
		modes: [
			{
				displayName: 'From List',
				name: 'list',
				type: 'list',
				placeholder: 'Select a model...',
				typeOptions: {
					searchListMethod: kind === 'chat' ? 'searchChatModels' : 'searchEmbeddingModels',
					searchable: true,
				},
			},
			{
				displayName: 'By Name',
				name: 'name',
				type: 'string',
				placeholder: kind === 'chat' ? 'e.g. gpt-4o-mini' : 'e.g. text-embedding-3-small',
			},
		],
	});
}

/** A workflow the n8n API credential can see, or its ID (an expression such as $workflow.id gives the current one). */
export function workflowPicker(text: INodeProperties): INodeProperties {
	// "Workflow ID" typed, "Workflow" picked (as n8n's Execute Workflow names them)
	return pickerFor(
		{ ...text, displayName: text.displayName.replace(/ ID$/, '') },
		{
			modes: [
				{
					displayName: 'From List',
					name: 'list',
					type: 'list',
					placeholder: 'Select a workflow...',
					typeOptions: { searchListMethod: 'searchWorkflows', searchable: true },
				},
				{
					displayName: 'By ID',
					name: 'id',
					type: 'string',
					placeholder: 'e.g. 4Jk2mQ9xV1nR8sT0',
					hint: 'The ID in the workflow’s URL; {{ $workflow.id }} is this workflow',
				},
			],
		},
	);
}

/** Options → Chat Model (text at version 1, picker from 1.1); read with locatorValue. */
export function chatModelOption(description: string): INodeProperties[] {
	const text: INodeProperties = {
		displayName: 'Chat Model',
		name: 'chatModel',
		type: 'string',
		default: '',
		description,
	};
	return versionedPicker(text, modelPicker(text, 'chat'));
}

/** Options → Embedding Model (text at version 1, picker from 1.1); read with locatorValue. */
export function embeddingModelOption(description: string): INodeProperties[] {
	const text: INodeProperties = {
		displayName: 'Embedding Model',
		name: 'embeddingModel',
		type: 'string',
		default: '',
		description,
	};
	return versionedPicker(text, modelPicker(text, 'embedding'));
}
