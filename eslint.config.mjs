import tseslint from 'typescript-eslint';
import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**', '*.js', '*.mjs'] },
  {
    files: ['**/*.ts'],
    extends: tseslint.configs.recommended,
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
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
);
