import { readdirSync, readFileSync } from 'node:fs';

import tseslint from 'typescript-eslint';
import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';
import n8nNodesBase from 'eslint-plugin-n8n-nodes-base';

const { exceptions: n8nRuleExceptions } = JSON.parse(
	readFileSync(new URL('./scripts/n8n-rule-exceptions.json', import.meta.url), 'utf8'),
);

/** Node folders (nodes/<Node>/); what several of them share lives in nodes/shared or lib/. */
const nodeFolders = readdirSync(new URL('./nodes', import.meta.url), { withFileTypes: true })
	.filter((entry) => entry.isDirectory() && entry.name !== 'shared')
	.map((entry) => entry.name);

/** The groups of nodes/shared, lowest first: each may import only the groups before it. */
const sharedGroups = ['fields', 'runtime', 'clients', 'ai', 'methods'];

const noTestImports = {
	regex: '^(\\.\\./)+test/',
	message: 'test/ is for tests only: the local stack lives in stack/.',
};

/**
 * n8n's community-package rules on what n8n's scanner lints (nodes/, credentials/, package.json), as its
 * buildScanConfig (@n8n/scan-community-package 0.32) sets them up: the community-nodes plugin's recommended set,
 * no-console, and eslint-plugin-n8n-nodes-base's community, credentials and nodes sets with the scanner's own offs.
 * Then the documented exceptions (scripts/n8n-rule-exceptions.json), each off only where it applies.
 */
const n8nFiles = ['nodes/**/*.ts', 'credentials/**/*.ts', 'package.json'];
const n8nCommunityRules = [
	{ files: n8nFiles, ...n8nCommunityNodesPlugin.configs.recommended },
	// As n8n's scanner lints (allowInlineConfig: false): a comment cannot turn an n8n rule off.
	{ files: n8nFiles, linterOptions: { noInlineConfig: true }, rules: { 'no-console': 'error' } },
	{ files: n8nFiles, plugins: { 'n8n-nodes-base': n8nNodesBase } },
	{ files: ['package.json'], rules: n8nNodesBase.configs.community.rules },
	{
		files: ['credentials/**/*.ts'],
		rules: {
			...n8nNodesBase.configs.credentials.rules,
			'n8n-nodes-base/cred-class-field-documentation-url-miscased': 'off',
			'n8n-nodes-base/cred-class-field-type-options-password-missing': 'off',
		},
	},
	{
		files: ['nodes/**/*.ts'],
		rules: {
			...n8nNodesBase.configs.nodes.rules,
			'n8n-nodes-base/node-class-description-inputs-wrong-regular-node': 'off',
			'n8n-nodes-base/node-class-description-outputs-wrong': 'off',
			'n8n-nodes-base/node-param-type-options-max-value-present': 'off',
		},
	},
	{ files: ['package.json'], languageOptions: { parser: tseslint.parser } },
	...n8nRuleExceptions.map(({ rule, files }) => ({
		files: files?.filter((glob) => !glob.startsWith('dist/')) ?? n8nFiles,
		rules: { [rule]: 'off' },
	})),
];

export default tseslint.config(
	{
		ignores: [
			'dist/**',
			'node_modules/**',
			'coverage/**',
			'.cache/**',
			'bench/results/**',
			'*.js',
			'*.mjs',
		],
	},
	{
		files: ['**/*.ts'],
		extends: tseslint.configs.recommended,
		rules: {
			'@typescript-eslint/no-unused-vars': [
				'error',
				{ argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
			],
		},
	},
	...n8nCommunityRules,
	{
		files: ['lib/**/*.ts'],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					paths: [
						{
							name: 'n8n-workflow',
							message: 'lib/ is plain TypeScript: map n8n parameters in nodes/.',
						},
					],
					patterns: [
						noTestImports,
						{
							regex: '^(\\.\\./)+(nodes|credentials|stack)/',
							message: 'lib/ knows nothing of nodes, credentials or the local stack.',
						},
					],
				},
			],
		},
	},
	{
		files: ['scripts/**/*.ts', 'bench/**/*.ts', 'stack/**/*.ts', 'credentials/**/*.ts'],
		rules: { 'no-restricted-imports': ['error', { patterns: [noTestImports] }] },
	},
	// nodes/shared in layers (docs/ARCHITECTURE.md): fields → runtime → clients → ai, methods. A group imports only
	// the groups before it, and never a node folder.
	...sharedGroups.map((group, level) => ({
		files: [`nodes/shared/${group}/**/*.ts`],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					patterns: [
						noTestImports,
						{
							regex: `^\\.\\./\\.\\./(${nodeFolders.join('|')})/`,
							message: 'nodes/shared must not depend on a node folder.',
						},
						...(level < sharedGroups.length - 1
							? [
									{
										regex: `^\\.\\./(${sharedGroups.slice(level + 1).join('|')})/`,
										message: `nodes/shared/${group} comes before ${sharedGroups.slice(level + 1).join(', ')}: it must not import them (see docs/ARCHITECTURE.md).`,
									},
								]
							: []),
					],
				},
			],
		},
	})),
	...nodeFolders.map((folder) => ({
		files: [`nodes/${folder}/**/*.ts`],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					patterns: [
						noTestImports,
						{
							regex: `^(\\.\\./)+(${nodeFolders.filter((other) => other !== folder).join('|')})/`,
							message:
								'A node folder never imports another node folder: move what both need to nodes/shared or lib/.',
						},
						{
							regex: '^(\\.\\./)+credentials/',
							message:
								'Nodes import nothing from credential files: shared helpers live in lib/ or nodes/shared.',
						},
					],
				},
			],
		},
	})),
);
