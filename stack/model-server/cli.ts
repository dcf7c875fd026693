/**
 * Runs the offline model server on its own:
 * `npx tsx stack/model-server/cli.ts [--port 8787] [--latency 0] [--rpm 600] [--profile groq]`.
 * It is a deterministic stand-in for a real LLM, for demos and tests without network access; `--profile` makes it
 * answer as one provider does (profiles/).
 */
import { PROFILES, type ProfileName } from './profiles';
import { OfflineModelServer } from './server';

function flag(name: string, fallback: number): number {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main() {
	const i = process.argv.indexOf('--profile');
	const profile = i > 0 ? (process.argv[i + 1] as ProfileName) : undefined;
	if (profile && !(profile in PROFILES))
		throw new Error(`Unknown profile ${profile}: one of ${Object.keys(PROFILES).join(', ')}`);
	const server = new OfflineModelServer({
		profile,
		port: flag('port', 8787),
		latencyMs: flag('latency', 0),
		keptRequests: 1000,
		rateLimit: flag('rpm', 0) ? { requestsPerMinute: flag('rpm', 0) } : undefined,
	});
	const baseUrl = await server.start();
	console.log(
		`Offline model server (a stand-in for a real LLM, not a model) listening at ${baseUrl}`,
	);
	const stop = () => void server.stop().then(() => process.exit(0));
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
}

void main();
