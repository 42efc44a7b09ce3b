/**
 * No ladder configured: plan mode and approval still work, every call on the model the user has selected.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { wireLabels } from "../helpers/e2e.ts";
import { runPi } from "../helpers/pi-harness.ts";
import { startRig } from "../helpers/rig.ts";
import { isPlanning, PLAN_TEXT, PLAN_TOOLS, PROVIDERS, USER_MODEL, USER_SETTINGS, write } from "./fixtures.ts";

test("empty ladder: plan, approve and implement on the user's own model", async (t) => {
	let implementation = 0;
	const { mock, sandbox, checkSettings } = await startRig(t, {
		providers: PROVIDERS,
		settings: USER_SETTINGS,
		script: (req) => {
			if (isPlanning(req)) return { text: PLAN_TEXT };
			return implementation++ === 0 ? write("a.txt", "made\n") : { text: "Done." };
		},
	});

	const result = await runPi(sandbox, ["-p", "Make a.txt", "--plan-auto-approve"], { extension: "." });

	assert.equal(result.code, 0, result.stderr);
	assert.equal(result.stdout, "Done.\n");
	assert.deepEqual(wireLabels(mock.requests), [USER_MODEL, USER_MODEL, USER_MODEL]);
	assert.deepEqual(mock.requests[0].toolNames, PLAN_TOOLS);
	assert.ok(mock.requests[1].toolNames.includes("write"));
	assert.ok(existsSync(join(sandbox.projectDir, "a.txt")));
	assert.ok(
		result.stderr.startsWith(`plan-stepdown: plan approved (--plan-auto-approve), implementing it:\n${PLAN_TEXT}\n`),
	);
	assert.match(result.stderr, /\nplan-stepdown: 3 calls, \$\d+\.\d{4}, 0 bumps, 0\/2 steps done\n$/);
	checkSettings();
});
