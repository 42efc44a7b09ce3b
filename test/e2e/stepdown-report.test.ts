/**
 * The `/stepdown` report on the real pi binary: values as they will really be sent (the environment applied), web
 * search only on rungs whose API has it, and a broken config leading the report.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runPi } from "../helpers/pi-harness.ts";
import { startRig } from "../helpers/rig.ts";
import { CROSS_PROVIDER_LADDER, PROVIDERS, USER_SETTINGS } from "./fixtures.ts";

test("pi -p /stepdown: PI_OPENAI_WEB_SEARCH=0 shows web search off; rungs without it show none", async (t) => {
	const { mock, sandbox, checkSettings } = await startRig(t, {
		providers: PROVIDERS,
		settings: USER_SETTINGS,
		planConfig: CROSS_PROVIDER_LADDER,
	});
	const ladderOf = (stdout: string) => {
		const lines = stdout.split("\n");
		const at = lines.indexOf("ladder:");
		return lines.slice(at + 1, at + 4);
	};
	const on = await runPi(sandbox, ["-p", "/stepdown"], { extension: ".", timeoutMs: 30_000 });
	assert.equal(on.code, 0, on.stderr);
	assert.deepEqual(ladderOf(on.stdout), [
		"  [0] oai/gpt-big:high  web_search medium",
		"  [1] ant/claude-sonnet-4-6:medium",
		"  [2] chat/chat-tiny:low",
	]);
	const off = await runPi(sandbox, ["-p", "/stepdown"], {
		extension: ".",
		timeoutMs: 30_000,
		env: { PI_OPENAI_WEB_SEARCH: "0" },
	});
	assert.equal(off.code, 0, off.stderr);
	assert.deepEqual(ladderOf(off.stdout), [
		"  [0] oai/gpt-big:high  web_search off",
		"  [1] ant/claude-sonnet-4-6:medium",
		"  [2] chat/chat-tiny:low",
	]);
	assert.equal(mock.requests.length, 0);
	checkSettings();
});

test("pi -p /stepdown with a rung that does not resolve: the error leads, the mode follows, the config comes last", async (t) => {
	const { sandbox } = await startRig(t, {
		providers: PROVIDERS,
		settings: USER_SETTINGS,
		planConfig: { ladder: [{ model: "oai/gpt-big" }, { model: "oai/gpt-smal" }] },
	});
	const r = await runPi(sandbox, ["-p", "/stepdown"], { extension: ".", timeoutMs: 30_000 });
	const lines = r.stdout.split("\n");
	assert.equal(lines[0], "plan-stepdown errors:", r.stdout);
	const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
	const order = [
		at(/^ {2}✗ .*gpt-smal/),
		at(/^plan-stepdown: mode off, cursor 0$/),
		at(/^ladder:$/),
		at(/^ {2}\(1 rung\(s\) did not resolve: see the errors above\)$/),
		at(/^config \(value ← file that set it\):$/),
	];
	assert.ok(
		order.every((i) => i > 0),
		`${order}\n${r.stdout}`,
	);
	assert.deepEqual(
		order,
		[...order].sort((a, b) => a - b),
		r.stdout,
	);
});
