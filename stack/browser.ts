/**
 * n8n's editor in headless Chromium (Debian's `chromium` package; CHROMIUM_PATH overrides), logged in as the owner
 * of an N8nClient, for screenshots and editor checks. The flags keep Chromium from reaching for the network.
 */
import { existsSync } from 'node:fs';

import { chromium, type Browser, type Page } from 'playwright-core';

import type { N8nClient } from './n8n/client';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FLAGS = [
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];

export interface EditorSession {
	browser: Browser;
	page: Page;
	/** Opens a workflow in the editor and waits until its nodes are on the canvas. */
	openWorkflow(id: string): Promise<void>;
	/** Opens a workflow with one node's panel open (the editor's /workflow/<id>/<node id> route); resolves when it shows. */
	openNode(workflowId: string, nodeId: string): Promise<void>;
	close(): Promise<void>;
}

/** Starts Chromium with the owner's session cookie; throws with an install hint when Chromium is missing. */
export async function openEditor(
	client: N8nClient,
	viewport = { width: 1440, height: 900 },
): Promise<EditorSession> {
	if (!existsSync(CHROMIUM_PATH))
		throw new Error(
			`Chromium not found at ${CHROMIUM_PATH}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`,
		);
	const { url, cookie } = client.connection;
	const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: FLAGS });
	const context = await browser.newContext({ viewport });
	const cookies = cookie
		.split(';')
		.map((part) => part.trim().split('='))
		.filter(([name]) => name);
	await context.addCookies(
		cookies.map(([name, ...value]) => ({ name, value: value.join('='), url })),
	);
	const page = await context.newPage();
	return {
		browser,
		page,
		async openWorkflow(id) {
			await page.goto(`${url}/workflow/${id}`, { waitUntil: 'networkidle' });
			await page.waitForSelector('[data-test-id="canvas-node"]', { timeout: 60_000 });
			await page.keyboard.press('Escape'); // closes any welcome or "what's new" dialog
		},
		async openNode(workflowId, nodeId) {
			const path = `/workflow/${workflowId}/${nodeId}`;
			if (page.url().startsWith(`${url}/workflow/${workflowId}`)) {
				// Already in this workflow: route inside the editor (Vue Router), without reloading the app.
				await page.evaluate(async (to) => {
					type Router = { push(path: string): Promise<unknown> };
					type App = { __vue_app__: { config: { globalProperties: { $router: Router } } } };
					const root = (
						globalThis as unknown as { document: { querySelector(selector: string): App } }
					).document;
					await root.querySelector('#app').__vue_app__.config.globalProperties.$router.push(to);
				}, path);
			} else {
				await page.goto(`${url}${path}`, { waitUntil: 'networkidle' });
			}
			await page.waitForSelector('[data-test-id="node-parameters"]', { timeout: 60_000 });
		},
		close: () => browser.close(),
	};
}
