/**
 * Five projects, one command (`npm test` runs them all; `npm run test:<project>` one of them):
 *  - unit:        pure code of lib/, stack/, bench/ and scripts/: no servers, no network, no shared services
 *  - integration: lib/ and stack/ code against real servers each test file starts (offline model server, Chroma,
 *                 http servers, child processes) and the shared Redis and Postgres (its own keys and tables)
 *  - nodes:       workflows run in-process with n8n-core's WorkflowExecute (real Chroma / model server where needed)
 *  - e2e:         one real queue-mode n8n cluster (main + 2 workers, Postgres, Redis) shared by every e2e test file
 *  - compat:      every provider the README names, replayed by the offline model server's profiles, through in-process
 *                 workflows (real Chroma); it checks the README's provider table
 */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] };
const common = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
	projects: [
		{ ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
		{
			...common,
			displayName: 'integration',
			testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
		},
		{ ...common, displayName: 'nodes', testMatch: ['<rootDir>/test/nodes/**/*.test.ts'] },
		{ ...common, displayName: 'compat', testMatch: ['<rootDir>/test/compat/**/*.test.ts'] },
		{
			...common,
			displayName: 'e2e',
			testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
			globalSetup: '<rootDir>/test/e2e/global-setup.ts',
			globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
		},
	],
};
