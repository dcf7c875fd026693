/**
 * Takes the README's screenshot: n8n's editor showing a workflow, in headless Chromium (Debian's `chromium`
 * package; CHROMIUM_PATH overrides). Run it against a running `npm start`:
 *   npx tsx scripts/screenshot.ts http://127.0.0.1:5678 <workflowId> docs/images/flagship-flow.png
 */
import { chromium } from 'playwright-core';

import { DEFAULT_OWNER, N8nClient } from '../stack/n8n/client';

async function main() {
	const [url, workflowId, out = 'docs/images/flagship-flow.png'] = process.argv.slice(2);
	if (!url || !workflowId) throw new Error('usage: screenshot.ts <editor url> <workflow id> [out.png]');
	const client = await N8nClient.bootstrap(url, DEFAULT_OWNER);
	const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
	try {
		const context = await browser.newContext({ viewport: { width: 1440, height: 810 } });
		const cookies = client.connection.cookie.split(';').map((part) => part.trim().split('=')).filter(([name]) => name);
		await context.addCookies(cookies.map(([name, ...value]) => ({ name, value: value.join('='), url })));
		const page = await context.newPage();
		await page.goto(`${url}/workflow/${workflowId}`, { waitUntil: 'networkidle' });
		await page.waitForSelector('[data-test-id="canvas-node"]', { timeout: 60_000 });
		await page.keyboard.press('Escape');
		await page.waitForTimeout(1500);
		await page.keyboard.press('1'); // zoom to fit
		await page.waitForTimeout(1000);
		await page.screenshot({ path: out });
		console.log(`screenshot written to ${out}`);
	} finally {
		await browser.close();
	}
}

main().catch((error: Error) => {
	console.error(error.message);
	process.exit(1);
});
