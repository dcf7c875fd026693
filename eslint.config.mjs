import { readdirSync } from 'node:fs';

import tseslint from 'typescript-eslint';
import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';

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
	{
		files: ['credentials/**/*.ts', 'nodes/**/*.ts'],
		extends: [n8nCommunityNodesPlugin.configs.recommendedWithoutN8nCloudSupport],
		rules: {
			// Waived on purpose: the design asks for LangChain, chromadb and zod at run time (see README, "Linting").
			'@n8n/community-nodes/no-restricted-imports': 'off',
		},
	},
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
