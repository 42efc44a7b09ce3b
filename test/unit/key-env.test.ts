import assert from "node:assert/strict";
import { test } from "node:test";
import { findEnvKeys as findEnvKeys0 } from "@mariozechner/pi-ai";
import { KEY_ENV, keyHint } from "../../src/key-env.ts";

// pi 1.x's pi-ai does not export findEnvKeys from its root; its own module takes the environment as an argument.
type FindEnvKeys1 = (provider: string, env?: Record<string, string>) => string[] | undefined;
const line1 = "../../node_modules/@earendil-works/pi-ai/dist/env-api-keys.js";
const { findEnvKeys: findEnvKeys1 } = (await import(line1)) as { findEnvKeys: FindEnvKeys1 };

/** pi 0.73.1 reads process.env only: set the variable for the one lookup. */
function line0Reads(provider: string, variable: string): boolean | undefined {
	const before = process.env[variable];
	process.env[variable] = "probe";
	try {
		const none = findEnvKeys0(provider) === undefined;
		return none ? undefined : (findEnvKeys0(provider) ?? []).includes(variable);
	} finally {
		if (before === undefined) delete process.env[variable];
		else process.env[variable] = before;
	}
}

test("every provider's variable is the one pi reads its key from, on each pi line that knows the provider", () => {
	for (const [provider, variable] of Object.entries(KEY_ENV)) {
		const zero = line0Reads(provider, variable);
		const one = findEnvKeys1(provider, { [variable]: "probe" })?.includes(variable);
		assert.ok(zero === true || one === true, `${provider}: ${variable} is read by at least one line`);
		assert.notEqual(zero, false, `${provider}: pi 0.73.1 reads another variable`);
		assert.notEqual(one, false, `${provider}: pi 1.x reads another variable`);
	}
});

test("the hint names the variable, or models.json for a provider pi has no variable for", () => {
	assert.equal(keyHint("anthropic"), 'set ANTHROPIC_API_KEY, add an apiKey for "anthropic" to models.json, or /login');
	assert.equal(keyHint("my-proxy"), 'add an apiKey for "my-proxy" to models.json, or /login');
	assert.equal(keyHint("constructor"), 'add an apiKey for "constructor" to models.json, or /login');
});
