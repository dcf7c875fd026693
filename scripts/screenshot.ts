/**
 * Takes the README's screenshot: n8n's editor showing a workflow, in headless Chromium (Debian's `chromium`
 * package; CHROMIUM_PATH overrides). Run it against a running `npm start`:
 *   npx tsx scripts/screenshot.ts http://127.0.0.1:5678 <workflowId> docs/images/flagship-flow.png
 */
import { openEditor } from '../stack/browser';
import { DEFAULT_OWNER, N8nClient } from '../stack/n8n/client';

async function main() {
	const [url, workflowId, out = 'docs/images/flagship-flow.png'] = process.argv.slice(2);
	if (!url || !workflowId)
		throw new Error('usage: screenshot.ts <editor url> <workflow id> [out.png]');
	const editor = await openEditor(await N8nClient.bootstrap(url, DEFAULT_OWNER), {
		width: 1440,
		height: 810,
	});
	try {
		await editor.openWorkflow(workflowId);
		await editor.page.waitForTimeout(1500);
		await editor.page.keyboard.press('1'); // zoom to fit
		await editor.page.waitForTimeout(1000);
		await editor.page.screenshot({ path: out });
		console.log(`screenshot written to ${out}`);
	} finally {
		await editor.close();
	}
}

main().catch((error: Error) => {
	console.error(error.message);
	process.exit(1);
});
