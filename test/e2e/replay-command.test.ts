/**
 * `/stepdown replay [FILE]` on the real pi binary: a recorded run, resumed with `pi -c -p`, priced on another config.
 * The report reads the session and never writes to it (the file is byte-identical), and makes no request.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { onlySession } from "../helpers/e2e.ts";
import type { MockReply } from "../helpers/mock-llm.ts";
import { runPi } from "../helpers/pi-harness.ts";
import { startRig } from "../helpers/rig.ts";
import { bash, PLAN_TEXT, PROVIDERS, SAME_PROVIDER_LADDER, USER_SETTINGS } from "./fixtures.ts";

const warm = (reply: MockReply, cached: number): MockReply => ({
	...reply,
	usage: { input: 20_000 - cached, output: 200, cacheRead: cached },
});

test("/stepdown replay FILE prices the current branch on another config and leaves the session untouched", async (t) => {
	const { mock, sandbox, checkSettings } = await startRig(t, {
		providers: PROVIDERS,
		settings: USER_SETTINGS,
		planConfig: SAME_PROVIDER_LADDER,
		script: [
			warm({ text: PLAN_TEXT }, 0),
			warm(bash("ls"), 0),
			warm(bash("ls -a"), 18_000),
			warm({ text: "Done." }, 18_000),
		],
	});
	const run = await runPi(sandbox, ["-p", "task", "--plan-auto-approve"], { extension: ".", timeoutMs: 30_000 });
	assert.equal(run.code, 0, run.stderr);
	const other = { provider: "oai", ladder: [{ modelId: "gpt-big", thinking: "xhigh" }, { modelId: "gpt-small" }] };
	writeFileSync(join(sandbox.projectDir, "other.json"), JSON.stringify(other));
	const { file } = onlySession(sandbox);
	const before = readFileSync(file);
	const requests = mock.requests.length;

	const r = await runPi(sandbox, ["-c", "-p", "/stepdown replay other.json"], { extension: ".", timeoutMs: 30_000 });
	assert.equal(r.code, 0, r.stderr);
	const lines = r.stdout.split("\n");
	const head = lines.findIndex((l) => l.startsWith("replay on other.json"));
	assert.ok(head >= 0, `no replay in stdout:\n${r.stdout}\n${r.stderr}`);
	assert.equal(lines[head], "replay on other.json (per-call stepping): 4 calls");
	assert.match(lines[head + 2] ?? "", /^ {5}0 {6}1 .* oai\/gpt-big \(xhigh\)$/, "planning on rung 0");
	assert.match(lines[head + 3] ?? "", /^ {5}1 {6}3 .* oai\/gpt-small \(medium\)$/, "the session's thinking level");
	assert.match(r.stdout, /total: \$\d+\.\d{4} \(\d+\.\d% of flat rung 0\); flat rung 0: \$/);
	assert.match(r.stdout, /identical tokens on every rung: .*not a claim about the quality/);
	assert.equal(mock.requests.length, requests, "the replay makes no request");
	assert.deepEqual(readFileSync(onlySession(sandbox).file), before, "the session file is byte-identical");

	// The plain report ends with the ladder advice from the same replay.
	const report = await runPi(sandbox, ["-c", "-p", "/stepdown"], { extension: "." });
	assert.equal(report.code, 0, report.stderr);
	assert.match(
		report.stdout,
		/\nladder advice \(this branch's 4 calls replayed, same tokens\): \$\d+\.\d{4} on the configured ladder\n/,
	);

	// Refusals exit 2 and say why, and write nothing either.
	const missing = await runPi(sandbox, ["-c", "-p", "/stepdown replay nope.json"], { extension: "." });
	assert.equal(missing.code, 2, missing.stderr);
	assert.match(missing.stderr, /config errors:\n {2}✗ .*nope\.json/);
	const invalid = await runPi(sandbox, ["-c", "-p", "/stepdown replay --stepping fast"], { extension: "." });
	assert.equal(invalid.code, 2, invalid.stderr);
	assert.match(invalid.stderr, /--stepping: expected per-call or cache-aware, found fast/);
	assert.deepEqual(readFileSync(onlySession(sandbox).file), before, "refusals leave the session byte-identical");
	checkSettings();
});
