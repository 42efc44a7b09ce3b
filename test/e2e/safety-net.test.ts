/**
 * The safety net for the cheap rungs, end to end on the real pi binary (PI_LINE selects the line) against the
 * scripted mock LLM: a loop on a cheap rung escalates the next call to rung 0 and stepping resumes from there.
 * Every test checks the wire, the session's call records and the summary, and that settings.json is untouched.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { assistantRecords, bodyText, callRecords, onlySession, wireLabels } from "../helpers/e2e.js";
import type { MockAnswer, MockScript } from "../helpers/mock-llm.js";
import { FAST_RETRY_SETTINGS, type Sandbox } from "../helpers/pi-harness.js";
import { startRig } from "../helpers/rig.ts";
import {
	bash,
	FIVE_RUNG_LADDER,
	FIVE_RUNG_MODELS,
	FIVE_RUNGS,
	PLAN_TEXT,
	PROVIDERS,
	USER_SETTINGS,
	write,
} from "./fixtures.js";

const LADDER = FIVE_RUNG_LADDER;
const RUNG = FIVE_RUNGS;
const RUNG_MODEL = FIVE_RUNG_MODELS;

function rig(
	t: TestContext,
	script: MockScript,
	planConfig: unknown = LADDER,
	retry: object = FAST_RETRY_SETTINGS,
	files: Record<string, string> = {},
) {
	return startRig(t, {
		providers: PROVIDERS,
		script,
		settings: { ...USER_SETTINGS, ...retry },
		planConfig,
		files: { "src/x.ts": "export const x = 1;\n", ...files },
		checkAfter: true,
	});
}

const read = (path: string): MockAnswer => ({ toolCalls: [{ name: "read", arguments: { path } }] });
const labelled = (rungs: number[]) => rungs.map((r) => RUNG[r]);
const reasons = (sandbox: Sandbox) =>
	callRecords(onlySession(sandbox).entries).map((c) => {
		const trigger = c.trigger as { kind: string; detail: string } | undefined;
		return `${c.rung}:${c.reason}${c.reason === "escalation" ? `:${trigger?.kind}:${trigger?.detail}` : ""}`;
	});
/** The session records the model that really answered each call. */
const answeredBy = (sandbox: Sandbox) =>
	assistantRecords(onlySession(sandbox).entries).map((a) => `${a.provider}/${a.model}`);

test("escalation: a cheap rung reading the same file three times → the 4th call on rung 0, then stepping resumes", async (t) => {
	const { mock, sandbox, run } = await rig(t, [
		{ text: PLAN_TEXT },
		read("src/x.ts"), // 1
		read("src/x.ts"), // 2
		read("src/x.ts"), // 3: the third identical call
		write("hello.txt", "Hello\n"), // 0: escalation
		bash("cat hello.txt"), // 1
		{ text: "Done." }, // 2
	]);
	const r = await run(["-p", "Create hello.txt", "--plan-auto-approve"]);
	assert.equal(r.code, 0, r.stderr);
	assert.equal(r.stdout, "Done.\n");
	const rungs = [0, 1, 2, 3, 0, 1, 2];
	assert.deepEqual(wireLabels(mock.requests), labelled(rungs));
	assert.deepEqual(reasons(sandbox), [
		"0:planning",
		"1:kickoff",
		"2:step",
		"3:step",
		'0:escalation:same-tool-call:read {"path":"src/x.ts"}',
		"1:step",
		"2:step",
	]);
	assert.deepEqual(
		answeredBy(sandbox),
		rungs.map((i) => RUNG_MODEL[i]),
	);
	assert.equal(readFileSync(join(sandbox.projectDir, "hello.txt"), "utf8"), "Hello\n");
	assert.match(r.stderr, /plan-stepdown: 7 calls, .*, 0 bumps, 1 escalation, 0\/2 steps done\n$/);
});

test("escalation: the same failing `npm test` twice → rung 0 instead of the failed-bash bump to rung 1", async (t) => {
	const failing = "npm test";
	const failingTests = { scripts: { test: 'node -e "process.exit(1)"' } };
	const { mock, sandbox, run } = await rig(
		t,
		[
			{ text: PLAN_TEXT },
			bash(failing), // 1: fails
			write("a.txt", "a\n"), // 1: bump (failed bash)
			bash(failing), // 2: fails again
			write("b.txt", "b\n"), // 0: escalation
			{ text: "Done." }, // 1
		],
		LADDER,
		FAST_RETRY_SETTINGS,
		{ "package.json": JSON.stringify(failingTests) },
	);
	const r = await run(["-p", "Create the files", "--plan-auto-approve"]);
	assert.equal(r.code, 0, r.stderr);
	const rungs = [0, 1, 1, 2, 0, 1];
	assert.deepEqual(wireLabels(mock.requests), labelled(rungs));
	assert.match(mock.requests[4].toolResults[0]?.text ?? "", /exited with code 1/, "the failure reached rung 0");
	assert.deepEqual(reasons(sandbox), [
		"0:planning",
		"1:kickoff",
		"1:bump",
		"2:step",
		`0:escalation:same-failing-bash:${failing}`,
		"1:step",
	]);
	assert.deepEqual(
		answeredBy(sandbox),
		rungs.map((i) => RUNG_MODEL[i]),
	);
	assert.match(r.stderr, /plan-stepdown: 6 calls, .*, 1 bump, 1 escalation, 0\/2 steps done\n$/);

	// /stepdown on the resumed session lists the escalation with its cause.
	const report = await run(["-p", "-c", "/stepdown"]);
	const text = report.stdout + report.stderr;
	assert.match(text, new RegExp(`escalations to rung 0:\\n {4}after same-failing-bash \\(bash\\): ${failing}`));
});

test("escalation: a rule set to 0 is off: three identical reads just step on", async (t) => {
	const { mock, run } = await rig(
		t,
		[{ text: PLAN_TEXT }, read("src/x.ts"), read("src/x.ts"), read("src/x.ts"), { text: "Done." }],
		{ ...LADDER, escalation: { sameToolCall: 0 } },
	);
	const r = await run(["-p", "Look at x", "--plan-auto-approve"]);
	assert.equal(r.code, 0, r.stderr);
	assert.deepEqual(wireLabels(mock.requests), labelled([0, 1, 2, 3, 4]));
	assert.match(r.stderr, /plan-stepdown: 5 calls, .*, 0 bumps, 0\/2 steps done\n$/);
});

// ---------------------------------------------------------------------------------------------
// failover on rate limits and overload
// ---------------------------------------------------------------------------------------------

const RATE_LIMITED = { fault: "http", status: 429 } as const;
const failovers = (sandbox: Sandbox) =>
	callRecords(onlySession(sandbox).entries).map((c) => (c as { failover?: unknown }).failover);

test("failover: a single 429 is retried on the same rung", async (t) => {
	const { mock, sandbox, run } = await rig(t, [
		{ text: PLAN_TEXT },
		write("hello.txt", "Hello\n"), // 1
		RATE_LIMITED, // 2
		bash("cat hello.txt"), // 2: pi's retry, same rung
		{ text: "Done." }, // 3
	]);
	const r = await run(["-p", "Create hello.txt", "--plan-auto-approve"]);
	assert.equal(r.code, 0, r.stderr);
	assert.deepEqual(wireLabels(mock.requests), labelled([0, 1, 2, 2, 3]));
	assert.deepEqual(failovers(sandbox), [undefined, undefined, undefined, undefined, undefined]);
	assert.deepEqual(
		answeredBy(sandbox),
		[0, 1, 2, 2, 3].map((i) => RUNG_MODEL[i]),
	);
});

test("failover: a rung whose provider answers 429 every time → after the second, the nearest other-provider rung answers", async (t) => {
	const steps: MockAnswer[] = [write("hello.txt", "Hello\n"), bash("cat hello.txt"), bash("ls"), { text: "Done." }];
	let step = 0;
	const { mock, sandbox, run } = await rig(t, (req) => {
		if (req.model === "gpt-big") return { text: PLAN_TEXT };
		if (req.model === "gpt-mid") return RATE_LIMITED; // rung 1's provider is out of capacity
		return steps[step++] ?? { text: "Done." };
	});
	const r = await run(["-p", "Create hello.txt", "--plan-auto-approve"]);
	assert.equal(r.code, 0, r.stderr);
	assert.equal(r.stdout, "Done.\n");
	// Rung 1 (oai) twice, then rung 2 (ant): rung 0 is as near but on the same provider. Stepping goes on from there.
	const rungs = [0, 1, 1, 2, 2, 3, 4];
	assert.deepEqual(wireLabels(mock.requests), labelled(rungs));
	const entries = onlySession(sandbox).entries;
	assert.deepEqual(
		callRecords(entries).map((c) => c.rung),
		rungs,
	);
	const moved = failovers(sandbox);
	assert.deepEqual(moved.slice(0, 3), [undefined, undefined, undefined]);
	assert.equal((moved[3] as { from: number }).from, 1);
	assert.match((moved[3] as { cause: string }).cause, /^429 rate-limit on rung 1 \(2 in a row\)$/);
	assert.deepEqual(moved.slice(4), [undefined, undefined, undefined]);
	// The session records the model that really answered, the two failed attempts included.
	assert.deepEqual(
		assistantRecords(entries).map((a) => `${a.provider}/${a.model} ${a.stopReason}`),
		[
			"oai/gpt-big stop",
			"oai/gpt-mid error",
			"oai/gpt-mid error",
			"ant/claude-sonnet-4-6 toolUse",
			"ant/claude-sonnet-4-6 toolUse",
			"chat/chat-tiny toolUse",
			"chat/chat-tiny stop",
		],
	);
	assert.equal(readFileSync(join(sandbox.projectDir, "hello.txt"), "utf8"), "Hello\n");
	assert.match(r.stderr, /plan-stepdown: 7 calls, .*, 0 bumps, 1 failover, 0\/2 steps done\n$/);

	// /stepdown on the resumed session lists the failover with where it went and why.
	const report = await run(["-p", "-c", "/stepdown"]);
	assert.match(
		report.stdout + report.stderr,
		/failovers:\n {4}rung 1 → 2 \(ant\/claude-sonnet-4-6\): 429 rate-limit on rung 1 \(2 in a row\)/,
	);
});

test("failover: a provider asking to wait an hour (retry-after: 3600) is not waited for: the other provider's rung answers", async (t) => {
	const steps: MockAnswer[] = [write("hello.txt", "Hello\n"), { text: "Done." }];
	let step = 0;
	// pi's own retry is fast, the provider SDKs' retries are left at pi's defaults (they would honour retry-after).
	const { mock, sandbox, run } = await rig(
		t,
		(req) => {
			if (req.model === "gpt-big") return { text: PLAN_TEXT };
			if (req.model === "gpt-mid") return { ...RATE_LIMITED, retryAfterSeconds: 3600 };
			return steps[step++] ?? { text: "Done." };
		},
		LADDER,
		{ retry: { enabled: true, maxRetries: 3, baseDelayMs: 20 } },
	);
	const r = await run(["-p", "Create hello.txt", "--plan-auto-approve"]);
	assert.equal(r.code, 0, r.stderr);
	assert.equal(r.stdout, "Done.\n");
	// One HTTP attempt per pi attempt: no SDK-internal retry of rung 1 (it would sleep the hour first).
	assert.deepEqual(wireLabels(mock.requests), labelled([0, 1, 1, 2, 2]));
	assert.match((failovers(sandbox)[3] as { cause: string }).cause, /^429 rate-limit on rung 1 \(2 in a row\)$/);
	assert.deepEqual(
		assistantRecords(onlySession(sandbox).entries).map((m) => `${m.provider}/${m.model} ${m.stopReason}`),
		[
			"oai/gpt-big stop",
			"oai/gpt-mid error",
			"oai/gpt-mid error",
			"ant/claude-sonnet-4-6 toolUse",
			"ant/claude-sonnet-4-6 stop",
		],
	);
	assert.equal(readFileSync(join(sandbox.projectDir, "hello.txt"), "utf8"), "Hello\n");
});

test("failover: a rung that failed over cools down: a later bump to it goes to the fallback instead", async (t) => {
	const steps: MockAnswer[] = [bash("ls /nonexistent-stepdown-dir"), write("hello.txt", "Hello\n"), { text: "Done." }];
	let step = 0;
	const { mock, sandbox, run } = await rig(t, (req) => {
		if (req.model === "gpt-big") return { text: PLAN_TEXT };
		if (req.model === "gpt-mid") return RATE_LIMITED;
		return steps[step++] ?? { text: "Done." };
	});
	const r = await run(["-p", "Create hello.txt", "--plan-auto-approve"]);
	assert.equal(r.code, 0, r.stderr);
	// The failed ls bumps the next call to rung 1, which is cooling down after its failover: rung 2 answers. Stepping
	// goes on from the rung the ladder decided (1 → 2).
	assert.deepEqual(wireLabels(mock.requests), labelled([0, 1, 1, 2, 2, 2]));
	const records = callRecords(onlySession(sandbox).entries);
	assert.deepEqual(
		records.map((c) => `${c.rung}:${c.reason}`),
		["0:planning", "1:kickoff", "1:kickoff", "2:kickoff", "2:bump", "2:step"],
	);
	assert.match((failovers(sandbox)[4] as { cause: string }).cause, /^rung 1 cooling down \(\d+ s left\)$/);
	assert.match(r.stderr, /, 1 bump, 2 failovers, 0\/2 steps done\n$/);
});

test("escalation: an edit whose old text is not found twice on the same file → rung 0", async (t) => {
	const missEdit: MockAnswer = {
		toolCalls: [{ name: "edit", arguments: { path: "src/x.ts", oldText: "export const y = 2;", newText: "y" } }],
	};
	const { mock, sandbox, run } = await rig(
		t,
		[
			{ text: PLAN_TEXT },
			missEdit, // 1: not found (a failed tool: bump)
			read("src/x.ts"), // 1
			{ ...missEdit }, // 2: not found again
			{ text: "Done." }, // 0: escalation
		],
		{ ...LADDER, escalation: { sameToolCall: 0 } },
	);
	const r = await run(["-p", "Edit x", "--plan-auto-approve"]);
	assert.equal(r.code, 0, r.stderr);
	assert.deepEqual(wireLabels(mock.requests), labelled([0, 1, 1, 2, 0]));
	assert.match(mock.requests[4].toolResults[0]?.text ?? "", /Could not find/);
	assert.deepEqual(reasons(sandbox), [
		"0:planning",
		"1:kickoff",
		"1:bump",
		"2:step",
		"0:escalation:edit-not-found:src/x.ts",
	]);
});

test("escalation: a cheap rung's runaway output (thinking only, cut at the token limit) → one more turn on rung 0, and the run completes", async (t) => {
	const small = { input: 10, output: 100 };
	const { mock, sandbox, run } = await rig(t, [
		{ text: PLAN_TEXT },
		{ ...read("src/x.ts"), usage: small }, // 1
		{ ...bash("cat src/x.ts"), usage: small }, // 2
		{ ...write("hello.txt", "Hello\n"), usage: small }, // 3
		{ thinking: "Let me think about this again and again…", stopReason: "length", usage: { input: 10, output: 9000 } }, // 4
		bash("cat hello.txt"), // 0: the turn the extension added
		{ text: "Done." }, // 1
	]);
	const r = await run(["-p", "Create hello.txt", "--plan-auto-approve"]);
	assert.equal(r.code, 0, r.stderr);
	assert.equal(r.stdout, "Done.\n");
	const rungs = [0, 1, 2, 3, 4, 0, 1];
	assert.deepEqual(wireLabels(mock.requests), labelled(rungs));
	assert.match(
		bodyText(mock.requests[5]),
		/\[plan-stepdown runaway-output: 9000 output tokens, 90× the median 100, cut at the token limit\] Your last answer ended without a tool call/,
	);
	const cause = "9000 output tokens, 90× the median 100, cut at the token limit";
	assert.deepEqual(reasons(sandbox), [
		"0:planning",
		"1:kickoff",
		"2:step",
		"3:step",
		"4:step",
		`0:escalation:runaway-output:${cause}`,
		"1:step",
	]);
	const entries = onlySession(sandbox).entries;
	assert.deepEqual(
		assistantRecords(entries).map((a) => `${a.provider}/${a.model} ${a.stopReason}`),
		[
			"oai/gpt-big stop",
			"oai/gpt-mid toolUse",
			"ant/claude-sonnet-4-6 toolUse",
			"chat/chat-tiny toolUse",
			"chat/chat-tiny length",
			"oai/gpt-big toolUse",
			"oai/gpt-mid stop",
		],
	);
	assert.equal(
		entries.filter((e) => e.type === "custom_message" && e.customType === "plan-stepdown:continue").length,
		1,
	);
	assert.match(r.stderr, /plan-stepdown: 7 calls, .*, 0 bumps, 1 escalation, 0\/2 steps done\n$/);

	const report = await run(["-p", "-c", "/stepdown"]);
	assert.match(
		report.stdout + report.stderr,
		new RegExp(`escalations to rung 0:\\n {4}after runaway-output: ${cause}`),
	);
});

test("escalation: runawayOutput 0 is off: the runaway answer ends the run as pi ends it", async (t) => {
	const small = { input: 10, output: 100 };
	const { mock, run } = await rig(
		t,
		[
			{ text: PLAN_TEXT },
			{ ...read("src/x.ts"), usage: small },
			{ ...bash("cat src/x.ts"), usage: small },
			{ ...write("hello.txt", "Hello\n"), usage: small },
			{ thinking: "Again and again…", stopReason: "length", usage: { input: 10, output: 9000 } },
		],
		{ ...LADDER, escalation: { runawayOutput: 0 } },
	);
	const r = await run(["-p", "Create hello.txt", "--plan-auto-approve"]);
	assert.deepEqual(wireLabels(mock.requests), labelled([0, 1, 2, 3, 4]));
	assert.doesNotMatch(r.stderr, /escalation/);
});

// ---------------------------------------------------------------------------------------------
// review on rung 0
// ---------------------------------------------------------------------------------------------

const REVIEWED = { ...LADDER, review: { enabled: true, prompt: "Check the work against the plan." } };

test("review: a plan implemented on rungs 1..3 ending in a final answer → one more call on rung 0 with the review prompt", async (t) => {
	const { mock, sandbox, run } = await rig(
		t,
		[
			{ text: PLAN_TEXT },
			write("hello.txt", "Hello\n"), // 1
			bash("cat hello.txt"), // 2
			{ text: "Done." }, // 3: the final answer of a cheap rung
			{ text: "Reviewed: hello.txt is there and correct." }, // 0: the review
		],
		REVIEWED,
	);
	const r = await run(["-p", "Create hello.txt", "--plan-auto-approve"]);
	assert.equal(r.code, 0, r.stderr);
	assert.equal(r.stdout, "Reviewed: hello.txt is there and correct.\n");
	assert.deepEqual(wireLabels(mock.requests), labelled([0, 1, 2, 3, 0]));
	assert.match(bodyText(mock.requests[4]), /\[plan-stepdown review\] Check the work against the plan\./);
	assert.deepEqual(reasons(sandbox), ["0:planning", "1:kickoff", "2:step", "3:step", "0:review"]);
	assert.deepEqual(
		answeredBy(sandbox),
		[0, 1, 2, 3, 0].map((i) => RUNG_MODEL[i]),
	);
	const entries = onlySession(sandbox).entries;
	assert.equal(entries.filter((e) => e.type === "custom_message" && e.customType === "plan-stepdown:review").length, 1);
	assert.match(r.stderr, /, 1 review call \(\$\d+\.\d{4}\), 0\/2 steps done\n$/);
});

test("review: a review that makes tool calls steps down as usual, and there is at most one per run", async (t) => {
	const { mock, sandbox, run } = await rig(
		t,
		[
			{ text: PLAN_TEXT },
			write("hello.txt", "Hello\n"), // 1
			{ text: "Done." }, // 2
			bash("cat hello.txt"), // 0: the review checks
			write("hello.txt", "Hello!\n"), // 1
			{ text: "Fixed the greeting." }, // 2: a final answer from rung 2 again: no second review
		],
		REVIEWED,
	);
	const r = await run(["-p", "Create hello.txt", "--plan-auto-approve"]);
	assert.equal(r.code, 0, r.stderr);
	assert.equal(r.stdout, "Fixed the greeting.\n");
	assert.deepEqual(wireLabels(mock.requests), labelled([0, 1, 2, 0, 1, 2]));
	assert.deepEqual(reasons(sandbox), ["0:planning", "1:kickoff", "2:step", "0:review", "1:step", "2:step"]);
	assert.match(r.stderr, /, 3 review calls \(\$\d+\.\d{4}\), 0\/2 steps done\n$/);
});

test("review: off in the config, or a final answer already from rung 0: no review", async (t) => {
	const { mock, run } = await rig(t, [{ text: PLAN_TEXT }, write("hello.txt", "Hello\n"), { text: "Done." }], {
		...LADDER,
		review: { enabled: false },
	});
	const r = await run(["-p", "Create hello.txt", "--plan-auto-approve"]);
	assert.equal(r.code, 0, r.stderr);
	assert.deepEqual(wireLabels(mock.requests), labelled([0, 1, 2]));
});
