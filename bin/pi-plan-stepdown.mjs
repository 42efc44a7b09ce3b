#!/usr/bin/env node
// The package ships TypeScript sources (pi loads them with jiti). This launcher loads the CLI the same way, with the
// jiti that pi itself depends on, so it runs on plain Node >= 20.6 with nothing but the package's peer dependencies.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

function loadJiti() {
	const require = createRequire(import.meta.url);
	try {
		return require("jiti");
	} catch {
		// Not hoisted: take it from pi's own dependencies (pi exports no package.json, so resolve its entry point).
		return createRequire(import.meta.resolve("@mariozechner/pi-coding-agent"))("jiti");
	}
}

const { createJiti } = loadJiti();
const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false });
const cli = await jiti.import(fileURLToPath(new URL("../src/replay-cli.ts", import.meta.url)));
process.exitCode = cli.main(process.argv.slice(2));
