/**
 * Runs an n8n workflow in-process with n8n-core's WorkflowExecute: no server, no database. Node types are this
 * package's nodes (registered as `n8n-nodes-openagents.<name>`, as a real installation names them) plus any given
 * in `nodeTypes`; credentials are plain objects keyed by credential type name, authenticated with each
 * credential type's own `authenticate` definition (generic or function), as n8n does.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ExecutionLifecycleHooks, WorkflowExecute } from 'n8n-core';
import {
	createRunExecutionData,
	ICredentialsHelper,
	Workflow,
	type ICredentialDataDecryptedObject,
	type ICredentials,
	type ICredentialType,
	type IDataObject,
	type IHttpRequestOptions,
	type INode,
	type INodeExecutionData,
	type INodeType,
	type INodeTypes,
	type IRun,
	type IVersionedNodeType,
	type IWorkflowExecuteAdditionalData,
	type WorkflowExecuteMode,
} from 'n8n-workflow';

const REPO_ROOT = join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
	name: string;
	n8n: { nodes: string[]; credentials: string[] };
};
export const PACKAGE_PREFIX = manifest.name;

/** Loads the classes listed in package.json's `n8n` section from source (dist/x.js → x.ts). */
function loadPackageClasses<T>(files: string[]): Map<string, T> {
	const classes = new Map<string, T>();
	for (const file of files) {
		const source = join(REPO_ROOT, file.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
		const className = source.split('/').pop()!.split('.')[0];
		// Loaded by path at run time, as n8n itself loads a package's node files.
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const Class = require(existsSync(source) ? source : join(REPO_ROOT, file))[
			className
		] as new () => T;
		classes.set(className, new Class());
	}
	return classes;
}

let packageNodeTypes: Record<string, INodeType | IVersionedNodeType> | undefined;
let packageCredentialTypes: Map<string, ICredentialType> | undefined;

/** This package's node types by full type name (`n8n-nodes-openagents.<name>`), loaded from source. */
export function nodeTypesOfPackage(): Record<string, INodeType | IVersionedNodeType> {
	packageNodeTypes ??= Object.fromEntries(
		[...loadPackageClasses<INodeType | IVersionedNodeType>(manifest.n8n.nodes).values()].map(
			(type) => [`${PACKAGE_PREFIX}.${type.description.name}`, type],
		),
	);
	return packageNodeTypes;
}

export function credentialTypesOfPackage(): Map<string, ICredentialType> {
	packageCredentialTypes ??= new Map(
		[...loadPackageClasses<ICredentialType>(manifest.n8n.credentials).values()].map((t) => [
			t.name,
			t,
		]),
	);
	return packageCredentialTypes;
}

class NodeTypes implements INodeTypes {
	constructor(private readonly types: Record<string, INodeType | IVersionedNodeType>) {}

	getByName(name: string) {
		const type = this.types[name];
		if (!type)
			throw new Error(`Unknown node type "${name}" (known: ${Object.keys(this.types).join(', ')})`);
		return type;
	}

	getByNameAndVersion(name: string, version?: number): INodeType {
		const type = this.getByName(name);
		return 'nodeVersions' in type ? type.getNodeType(version) : type;
	}

	getKnownTypes() {
		return {};
	}
}

class CredentialsHelper extends ICredentialsHelper {
	constructor(private readonly credentials: Record<string, ICredentialDataDecryptedObject>) {
		super();
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		requestOptions: IHttpRequestOptions,
		workflow?: Workflow,
		node?: INode,
	): Promise<IHttpRequestOptions> {
		const type = credentialTypesOfPackage().get(typeName);
		const authenticate = type?.authenticate;
		if (!authenticate) return requestOptions;
		if (typeof authenticate === 'function') return authenticate(credentials, requestOptions);
		// Generic authentication: resolve each property's expression against $credentials, as n8n's own helper does.
		const resolve = (value: unknown) =>
			workflow && node && typeof value === 'string'
				? workflow.expression.getSimpleParameterValue(
						node,
						value,
						'internal',
						{ $credentials: credentials },
						undefined,
						'',
					)
				: value;
		const out = { ...requestOptions } as unknown as Record<string, IDataObject>;
		for (const [target, values] of Object.entries(authenticate.properties) as Array<
			[string, IDataObject]
		>) {
			out[target] = { ...(out[target] ?? {}) };
			for (const [key, value] of Object.entries(values))
				out[target][key] = resolve(value) as IDataObject;
		}
		return out as unknown as IHttpRequestOptions;
	}

	async getDecrypted(
		_a: IWorkflowExecuteAdditionalData,
		_n: unknown,
		type: string,
	): Promise<ICredentialDataDecryptedObject> {
		const data = this.credentials[type];
		if (!data) throw new Error(`No credentials of type "${type}" were given to runWorkflow`);
		return data;
	}

	getParentTypes() {
		return [];
	}

	isCredentialUsableByNode() {
		return true;
	}

	async preAuthentication() {
		return undefined;
	}

	async runPreAuthentication() {
		return undefined;
	}

	async getCredentials(): Promise<ICredentials> {
		throw new Error('getCredentials is not supported in-process');
	}

	async updateCredentials() {}

	async updateCredentialsOauthTokenData() {}

	getCredentialsProperties(type: string) {
		return credentialTypesOfPackage().get(type)?.properties ?? [];
	}
}

export interface WorkflowJson {
	name?: string;
	nodes: INode[];
	connections: Workflow['connectionsBySourceNode'];
	settings?: IDataObject;
}

/**
 * A two-node workflow: a `test.items` node emitting `items`, then one node of this package (`type` without the
 * package prefix) with `parameters`; `continueOnFail` sets n8n's "On Error: Continue" on it.
 */
export function itemsInto(
	items: object[],
	node: {
		name: string;
		type: string;
		parameters: INode['parameters'];
		credentials?: INode['credentials'];
		continueOnFail?: boolean;
		/** Default 1. */
		typeVersion?: number;
	},
): WorkflowJson {
	return {
		nodes: [
			{
				id: '1',
				name: 'Items',
				type: 'test.items',
				typeVersion: 1,
				position: [0, 0],
				parameters: { items: JSON.stringify(items) },
			},
			{
				id: '2',
				name: node.name,
				type: `${PACKAGE_PREFIX}.${node.type}`,
				typeVersion: node.typeVersion ?? 1,
				position: [200, 0],
				parameters: node.parameters,
				credentials: node.credentials,
				...(node.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
			},
		],
		connections: { Items: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
	};
}

export interface RunOptions {
	/** Credential data by credential type name. */
	credentials?: Record<string, ICredentialDataDecryptedObject>;
	/** Node types besides this package's, by type name. */
	nodeTypes?: Record<string, INodeType | IVersionedNodeType>;
	/** Items the start node receives. */
	input?: INodeExecutionData[];
	/** Name of the start node; default: the first node without incoming connections. */
	startNode?: string;
	mode?: WorkflowExecuteMode;
	executionId?: string;
	/** The workflow's ID (default "in-process"). */
	workflowId?: string;
	/** Cancels the execution this long after it starts, ms (as the editor's Stop button does). */
	cancelAfterMs?: number;
	/**
	 * Makes the run a streaming one, as n8n does for a webhook whose response streams: each node chunk
	 * (`{ type, content, metadata }`) is passed here as a JSON line, as n8n writes it to the HTTP response.
	 */
	onChunkLine?: (line: string) => void;
	/** What n8n ≥ 2.19 puts in additionalData.otel when its own tracing is on (N8N_OTEL_ENABLED). */
	otel?: {
		injectTraceHeaders(
			executionId: string,
			nodeName: string,
			headers: Record<string, string>,
		): void;
	};
}

export interface RunResult {
	status: IRun['status'];
	/** The workflow-level error, when a node failed without continueOnFail. */
	error?: Error;
	/** Each node's output items of its first run, per output index. */
	outputs: Record<string, INodeExecutionData[][]>;
	/** The error of each node whose first run failed. */
	nodeErrors: Record<string, Error>;
	/** n8n's run data: every run of every node, sub-node calls too (under their connection type, e.g. `ai_memory`). */
	runData: IRun['data']['resultData']['runData'];
	/** Node names in the order they finished. */
	executionOrder: string[];
	run: IRun;
}

function firstNodeWithoutInput(workflow: WorkflowJson): string | undefined {
	const fed = new Set(
		Object.values(workflow.connections).flatMap((byType) =>
			Object.values(byType)
				.flat(2)
				.map((c) => c?.node),
		),
	);
	return workflow.nodes.find((n) => !n.disabled && !fed.has(n.name))?.name;
}

/** Runs `workflow` to the end (or until it waits) and returns every node's output. */
export async function runWorkflow(
	workflow: WorkflowJson,
	options: RunOptions = {},
): Promise<RunResult> {
	const start = workflow.nodes.find(
		(node) => node.name === (options.startNode ?? firstNodeWithoutInput(workflow)),
	);
	if (!start) throw new Error('The workflow has no start node');
	const runExecutionData = createRunExecutionData({
		executionData: {
			nodeExecutionStack: [
				{ node: start, data: { main: [options.input ?? [{ json: {} }]] }, source: null },
			],
		},
	});
	return executeWorkflow(workflow, runExecutionData, options);
}

/**
 * Resumes a run that ended waiting (status "waiting"), as n8n does when its resume URL is called: the execution
 * data goes through JSON (as it is saved to the database), the waiting node gets `webhookItems` (what its webhook
 * returned) and is passed through; without `webhookItems`, as when the wait times out, it passes its input on.
 */
export async function resumeWorkflow(
	workflow: WorkflowJson,
	waiting: RunResult,
	webhookItems: INodeExecutionData[] | undefined,
	options: RunOptions = {},
): Promise<RunResult> {
	if (waiting.status !== 'waiting') throw new Error(`The run is ${waiting.status}, not waiting`);
	const data = JSON.parse(JSON.stringify(waiting.run.data)) as IRun['data'];
	if (webhookItems) {
		const entry = data.executionData!.nodeExecutionStack[0];
		entry.data.main = [webhookItems];
		entry.metadata = { ...entry.metadata, forwardAllOutputs: true };
	}
	return executeWorkflow(workflow, data, options);
}

/** The items the waiting node was given (its input), as its webhook sees them when the execution is resumed. */
export function waitingNodeInput(waiting: RunResult): INodeExecutionData[] {
	return waiting.run.data.executionData!.nodeExecutionStack[0].data.main[0] ?? [];
}

async function executeWorkflow(
	workflow: WorkflowJson,
	runExecutionData: IRun['data'],
	options: RunOptions,
): Promise<RunResult> {
	const nodeTypes = new NodeTypes({ ...nodeTypesOfPackage(), ...options.nodeTypes });
	const workflowId = options.workflowId ?? 'in-process';
	const instance = new Workflow({
		id: workflowId,
		name: workflow.name ?? 'in-process',
		nodes: workflow.nodes,
		connections: workflow.connections,
		nodeTypes,
		settings: workflow.settings,
		active: false,
	});
	const mode = options.mode ?? 'manual';
	const executionId = options.executionId ?? String(Date.now());
	const hooks = new ExecutionLifecycleHooks(mode, executionId, {
		...workflow,
		id: workflowId,
		active: false,
	} as never);
	const executionOrder: string[] = [];
	hooks.addHandler('nodeExecuteAfter', (nodeName: string) => void executionOrder.push(nodeName));
	const finished = Promise.withResolvers<IRun>();
	hooks.addHandler('workflowExecuteAfter', (run: IRun) => finished.resolve(run));
	const { onChunkLine } = options;
	if (onChunkLine)
		hooks.addHandler('sendChunk', (chunk: unknown) => onChunkLine(`${JSON.stringify(chunk)}\n`));

	const additionalData = {
		hooks,
		credentialsHelper: new CredentialsHelper(options.credentials ?? {}),
		executionId,
		restApiUrl: 'http://localhost:5678/rest',
		instanceBaseUrl: 'http://localhost:5678/',
		webhookBaseUrl: 'http://localhost:5678/webhook',
		webhookWaitingBaseUrl: 'http://localhost:5678/webhook-waiting',
		webhookTestBaseUrl: 'http://localhost:5678/webhook-test',
		formWaitingBaseUrl: 'http://localhost:5678/form-waiting',
		variables: {},
		userId: 'in-process-user',
		currentNodeParameters: undefined,
		executeWorkflow: async () => {
			throw new Error('Sub-workflows are not supported in-process; use the e2e suite');
		},
		getRunExecutionData: async () => undefined,
		setExecutionStatus: () => {},
		sendDataToUI: () => {},
		logAiEvent: () => {},
		...(options.otel ? { otel: options.otel } : {}),
		...(onChunkLine ? { streamingEnabled: true } : {}),
	} as unknown as IWorkflowExecuteAdditionalData;

	const execution = new WorkflowExecute(
		additionalData,
		mode,
		runExecutionData,
	).processRunExecutionData(instance);
	const timer =
		options.cancelAfterMs === undefined
			? undefined
			: setTimeout(() => execution.cancel(), options.cancelAfterMs);
	// A cancelled execution rejects; its run (status "canceled") still reaches workflowExecuteAfter.
	await execution.catch(() => undefined);
	clearTimeout(timer);
	const run = await finished.promise;
	const outputs: Record<string, INodeExecutionData[][]> = {};
	const nodeErrors: Record<string, Error> = {};
	for (const [name, runs] of Object.entries(run.data.resultData.runData)) {
		outputs[name] = (runs[0]?.data?.main ?? []).map((items) => items ?? []);
		if (runs[0]?.error) nodeErrors[name] = runs[0].error;
	}
	return {
		status: run.status,
		error: run.data.resultData.error,
		outputs,
		nodeErrors,
		runData: run.data.resultData.runData,
		executionOrder,
		run,
	};
}
