/** The node pages in docs/nodes are what `npm run docs` generates from the current code and README. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { nodePages } from '../../../scripts/node-docs';

it.each(Object.entries(nodePages()))(
	'docs/nodes/%s is up to date (run npm run docs)',
	(file, page) => {
		const path = join(__dirname, '..', '..', '..', 'docs', 'nodes', file);
		expect(existsSync(path)).toBe(true);
		expect(readFileSync(path, 'utf8')).toBe(page);
	},
);
