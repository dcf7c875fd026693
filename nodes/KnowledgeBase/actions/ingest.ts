/**
 * Ingest: each item is one document (text or a binary file) with its own source ID. Items are loaded one by one
 * (a bad item fails alone), then ingested in batches: one existing-chunk lookup, batched embeddings of new chunks
 * only, batched upserts, stale chunks deleted.
 */
import {
	updateDisplayOptions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeProperties,
} from 'n8n-workflow';

import { createEmbeddings } from '../../../lib/llm';
import {
	DEFAULT_EMBEDDING_BATCH_SIZE,
	DEFAULT_UPSERT_BATCH_SIZE,
	documentTooLarge,
	ingestDocuments,
	loadDocument,
	RagError,
	valueAt,
	type DocumentInput,
	type LoadedDocument,
} from '../../../lib/rag';
import { llmCallOptions } from '../../shared/clients/llmApi';
import { readItemSettings, type ItemSettings } from '../../shared/runtime/itemSettings';
import { addUsageToExecution, usageTracker } from '../../shared/runtime/usage';
import { jsonObject, keywordIndexWriteField } from '../../shared/fields/knowledgeBase';
import { embeddingModelOption, locatorValue } from '../../shared/fields/locators';
import { chromaStore } from '../../shared/clients/chroma';
import { sharedKeywordIndexFor } from '../../shared/clients/keywordIndex';
import type { KnowledgeBaseRun } from './types';

const SAME_SOURCE_AGAIN =
	'Ingesting the same source again replaces its chunks: unchanged chunks are kept, chunks whose metadata changed are rewritten without re-embedding, new ones embedded, removed ones deleted';

const properties: INodeProperties[] = [
	{
		displayName: 'Input Data',
		name: 'inputType',
		type: 'options',
		options: [
			{ name: 'Text', value: 'text', description: 'Text from an expression' },
			{
				name: 'Item Fields',
				value: 'fields',
				description:
					'Text and source ID from fields of the item, read as they are: no expressions to evaluate, the fastest way to ingest many or large documents',
			},
			{
				name: 'Binary File',
				value: 'binary',
				description: 'A file in the item’s binary data (text, Markdown, HTML, PDF, JSON)',
			},
		],
		default: 'text',
	},
	{
		displayName: 'Text',
		name: 'text',
		type: 'string',
		typeOptions: { rows: 4 },
		default: '',
		required: true,
		placeholder: 'e.g. {{ $json.content }}',
		displayOptions: { show: { inputType: ['text'] } },
	},
	{
		displayName: 'Text Field',
		name: 'textField',
		type: 'string',
		default: 'text',
		required: true,
		placeholder: 'e.g. content',
		hint: 'The name of the input field holding the text; dot notation for nested fields (e.g. body.content)',
		displayOptions: { show: { inputType: ['fields'] } },
	},
	{
		displayName: 'Source ID Field',
		name: 'sourceIdField',
		type: 'string',
		default: 'source',
		required: true,
		placeholder: 'e.g. url',
		hint: "The name of the input field holding the document's stable ID (file name, URL, record ID); dot notation for nested fields",
		description: SAME_SOURCE_AGAIN,
		displayOptions: { show: { inputType: ['fields'] } },
	},
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		required: true,
		hint: 'The name of the input binary field holding the file',
		displayOptions: { show: { inputType: ['binary'] } },
	},
	{
		displayName: 'Source ID',
		name: 'sourceId',
		type: 'string',
		default: '',
		placeholder: 'e.g. {{ $json.url }}',
		description: `Stable ID of the document (file name, URL, record ID). ${SAME_SOURCE_AGAIN}. Empty: for a file, its path when n8n knows its folder (Read Files from Disk), else its file name.`,
		displayOptions: { hide: { inputType: ['fields'] } },
	},
	{
		displayName: 'Document Format',
		name: 'format',
		type: 'options',
		options: [
			{
				name: 'Auto-Detect',
				value: 'auto',
				description: 'From the file’s MIME type or extension; text input is plain text',
			},
			{
				name: 'HTML',
				value: 'html',
				description: 'Main text of the page; scripts, styles and navigation left out',
			},
			{ name: 'JSON', value: 'json', description: 'Chosen fields as "field: value" lines' },
			{
				name: 'Markdown',
				value: 'markdown',
				description: 'Split at headings first; chunks keep their heading path',
			},
			{ name: 'PDF', value: 'pdf', description: 'The text layer (no OCR); chunks keep their page' },
			{ name: 'Plain Text', value: 'text' },
		],
		default: 'auto',
	},
	{
		displayName: 'JSON Fields',
		name: 'jsonFields',
		type: 'string',
		default: '',
		placeholder: 'e.g. title, body.text',
		description:
			'Comma-separated dot paths of the fields to index; empty indexes every text and number field',
		displayOptions: { show: { format: ['json'] } },
	},
	{
		displayName: 'Metadata',
		name: 'metadata',
		type: 'json',
		default: '{}',
		description:
			'Stored on every chunk of the document and usable in metadata filters; string, number and boolean values, e.g. {"team": "billing", "year": 2026}',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Chunk Overlap',
				name: 'chunkOverlap',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 200,
				description: 'Characters (or tokens) shared by neighbouring chunks; less than Chunk Size',
			},
			{
				displayName: 'Chunk Size',
				name: 'chunkSize',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 1000,
				description: 'Largest chunk, in characters (or tokens)',
			},
			{
				displayName: 'Chunk Size Unit',
				name: 'chunkUnit',
				type: 'options',
				options: [
					{ name: 'Characters', value: 'characters' },
					{
						name: 'Tokens',
						value: 'tokens',
						description: 'Counted with cl100k_base (GPT-4, text-embedding-3)',
					},
				],
				default: 'characters',
			},
			{
				displayName: 'Documents per Batch',
				name: 'documentsPerBatch',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 50,
				description:
					'Items ingested together (one lookup, shared embedding and upsert batches); a failure fails the whole batch',
			},
			{
				displayName: 'Embedding Batch Size',
				name: 'embeddingBatchSize',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 2048 },
				default: DEFAULT_EMBEDDING_BATCH_SIZE,
				description:
					'Chunks per embeddings API request. Keep it within the provider’s per-request limit (OpenAI: 2 048 inputs and 300 000 tokens).',
			},
			...embeddingModelOption(
				"Overrides the credential's embedding model. A knowledge base must keep one model: vectors of another size are refused.",
			),
			{
				displayName: 'Max Document Size (MB)',
				name: 'maxDocumentSizeMb',
				type: 'number',
				typeOptions: { minValue: 0.001, numberPrecision: 3 },
				default: 10,
				description: 'Larger items fail with a clear error instead of being loaded',
			},
			{
				displayName: 'Upsert Batch Size',
				name: 'upsertBatchSize',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 5000 },
				default: DEFAULT_UPSERT_BATCH_SIZE,
				description:
					'Most chunks per Chroma write; larger writes cost Chroma less per chunk. Chunks embedded while a write runs go into the next one.',
			},
		],
	},
	keywordIndexWriteField,
];

export const description = updateDisplayOptions({ show: { operation: ['ingest'] } }, properties);

/** The item's document as lib/rag's loader input. */
async function documentInput(
	fn: IExecuteFunctions,
	settings: ItemSettings,
): Promise<DocumentInput> {
	const { itemIndex, options } = settings;
	const format = fn.getNodeParameter('format', itemIndex, 'auto') as DocumentInput['format'];
	const inputType = fn.getNodeParameter('inputType', itemIndex);
	const common = {
		source:
			inputType === 'fields'
				? fieldText(fn, itemIndex, 'sourceIdField').trim()
				: String(fn.getNodeParameter('sourceId', itemIndex, '') ?? '').trim(),
		format,
		jsonFields:
			format === 'json'
				? String(fn.getNodeParameter('jsonFields', itemIndex, ''))
						.split(',')
						.map((f) => f.trim())
						.filter(Boolean)
				: [],
		metadata: jsonObject(fn.getNodeParameter('metadata', itemIndex, '{}'), 'Metadata'),
		maxBytes: Math.round(((options.maxDocumentSizeMb as number) ?? 10) * 1024 * 1024),
	};
	if (inputType === 'text') {
		return { ...common, content: String(fn.getNodeParameter('text', itemIndex) ?? '') };
	}
	if (inputType === 'fields') return { ...common, content: fieldText(fn, itemIndex, 'textField') };
	const property = fn.getNodeParameter('binaryPropertyName', itemIndex) as string;
	const binary = fn.helpers.assertBinaryData(itemIndex, property);
	// Refuse before reading the whole file into memory.
	if ((binary.bytes ?? 0) > common.maxBytes)
		throw documentTooLarge(
			common.source || binary.fileName || property,
			binary.bytes!,
			common.maxBytes,
		);
	const content = await fn.helpers.getBinaryDataBuffer(itemIndex, property);
	return {
		...common,
		source: common.source || defaultSource(binary),
		content,
		fileName: binary.fileName,
		mimeType: binary.mimeType,
	};
}

/** The Item Fields parameters, by the label the panel shows (the errors name it). */
const ITEM_FIELD_LABELS = { textField: 'Text Field', sourceIdField: 'Source ID Field' } as const;

/**
 * The text of the item field that `parameter` names (Item Fields input). Read from the item, not through an
 * expression: n8n 2 evaluates each expression in a sandbox, about 1.5 ms per expression and item in a worker's CPU
 * profile (2 ms for a 50 kB text). Throws RagError INVALID_DOCUMENT when the field is missing or holds an object or
 * array.
 */
function fieldText(
	fn: IExecuteFunctions,
	itemIndex: number,
	parameter: keyof typeof ITEM_FIELD_LABELS,
): string {
	const label = ITEM_FIELD_LABELS[parameter];
	const field = String(fn.getNodeParameter(parameter, itemIndex)).trim();
	const value = valueAt(fn.getInputData()[itemIndex].json, field);
	if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
		return String(value);
	throw new RagError(
		'INVALID_DOCUMENT',
		value === undefined || value === null
			? `The item has no "${field}" field (${label})`
			: `The item's "${field}" field holds ${Array.isArray(value) ? 'an array' : 'an object'}, not text (${label}): name a text field, or use Input Data "Text" with an expression`,
	);
}

/**
 * The default source ID of a file: its path when n8n knows its folder (Read Files from Disk), else its name. Two
 * README.md files of different folders must never be one source: ingesting one would replace the other's chunks.
 */
function defaultSource(binary: { fileName?: string; directory?: string }): string {
	const name = binary.fileName ?? '';
	if (!name || !binary.directory) return name;
	return `${binary.directory.replace(/[\\/]+$/, '')}/${name}`;
}

interface Pending {
	settings: ItemSettings;
	knowledgeBase: string;
	document: LoadedDocument;
}

/** Items with equal settings and distinct sources are ingested together. */
function batchKey(knowledgeBase: string, options: IDataObject): string {
	return JSON.stringify([knowledgeBase, options]);
}

/**
 * Results in item order. A document that cannot be loaded (bad encoding, unsupported type, empty, too large) is its
 * item's error and never keeps the other documents out: they are ingested either way. A failed write (Chroma or the
 * embeddings API down) fails its batch; without Continue On Fail nothing more is tried after it (later items unset).
 */
export async function execute(run: KnowledgeBaseRun): Promise<Array<IDataObject | Error>> {
	const { fn } = run;
	const itemCount = fn.getInputData().length;
	const continueOnFail = fn.continueOnFail();
	const results: Array<IDataObject | Error> = [];
	let batch: Pending[] = [];
	let key = '';
	let writeFailed = false;

	const flush = async () => {
		const pending = batch;
		batch = [];
		if (!pending.length) return;
		try {
			const outcome = await ingestBatch(run, pending);
			pending.forEach((p, i) => (results[p.settings.itemIndex] = outcome[i]));
		} catch (error) {
			for (const p of pending) results[p.settings.itemIndex] = error as Error;
			writeFailed = true;
		}
	};

	const stopped = () => writeFailed && !continueOnFail;
	for (let itemIndex = 0; itemIndex < itemCount && !stopped(); itemIndex++) {
		try {
			const settings = readItemSettings(fn, itemIndex);
			const { options } = settings;
			const document = await loadDocument(await documentInput(fn, settings));
			const knowledgeBase = locatorValue(fn.getNodeParameter('knowledgeBase', itemIndex));
			const itemKey = batchKey(knowledgeBase, options);
			const limit = (options.documentsPerBatch as number) || 50;
			if (
				itemKey !== key ||
				batch.length >= limit ||
				batch.some((p) => p.document.source === document.source)
			)
				await flush();
			key = itemKey;
			batch.push({ settings, knowledgeBase, document });
		} catch (error) {
			results[itemIndex] = error as Error;
		}
	}
	if (!stopped()) await flush();
	return results;
}

/** Ingests one batch (items of one knowledge base and options) under the first item's settings. */
async function ingestBatch(run: KnowledgeBaseRun, pending: Pending[]): Promise<IDataObject[]> {
	const { fn } = run;
	const { settings, knowledgeBase } = pending[0];
	const { options } = settings;
	const keywordIndex = await sharedKeywordIndexFor(fn, settings.itemIndex);
	const kb = await chromaStore(run.connection, settings, keywordIndex).open(knowledgeBase, {
		create: true,
	});
	const embeddingModel = locatorValue(options.embeddingModel) || run.llm!.embeddingModel;
	const usage = usageTracker(run.llm);
	const result = await ingestDocuments(
		kb,
		createEmbeddings(run.llm!, { model: embeddingModel }),
		pending.map((p) => p.document),
		{
			chunkSize: options.chunkSize as number | undefined,
			chunkOverlap: options.chunkOverlap as number | undefined,
			unit: options.chunkUnit as 'characters' | 'tokens' | undefined,
			upsertBatchSize: options.upsertBatchSize as number | undefined,
			embedding: {
				...llmCallOptions(settings, run.llm!),
				batchSize: options.embeddingBatchSize as number | undefined,
				model: embeddingModel,
				usage,
			},
		},
	);
	const { cost, currency, rateLimitWaitMs, rateLimitWarning } = usage.get();
	addUsageToExecution(fn, usage.get());
	const batchSummary = {
		documents: pending.length,
		embeddingCalls: result.embeddingCalls,
		upsertRequests: result.upsertRequests,
		// Embedding tokens estimated at 4 characters each: LangChain does not pass the API's count on.
		usage: { cost, currency, rateLimitWaitMs, ...(rateLimitWarning ? { rateLimitWarning } : {}) },
	};
	return result.sources.map((source, i) => ({
		knowledgeBase,
		format: pending[i].document.format,
		...source,
		batch: batchSummary,
	}));
}
