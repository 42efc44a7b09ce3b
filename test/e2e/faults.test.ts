/**
 * Faults in the middle of an implementation run, against the real pi binary and the scripted mock LLM:
 * - retryable HTTP errors (429, 529 overloaded, 500 with retry-after) and a stream cut mid-response: pi's own retry
 *   (FAST_RETRY_SETTINGS) repeats the call on the SAME rung, and the cursor continues as if nothing had failed;
 * - a 500 that outlasts the retries: -p exits non-zero, the session keeps the failed rung, and a resumed session
 *   (`pi -c`) reports mode implementing with the cursor on that rung;
 * - an rpc abort mid-stream: recorded as aborted, and a new process continuing the session has the same mode and
 *   the aborted rung as its cursor; the next user prompt starts at rung 0.
 * A five-rung ladder over three API families keeps every rung's model:effort distinct on the wire.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import {
	assistantRecords,
	callRecords,
	eventAfter,
	onlySession,
	send,
	stateRecords,
	uiAfter,
	wireLabels,
} from "../helpers/e2e.js";
import type { MockAnswer, MockFault } from "../helpers/mock-llm.js";
import { FAST_RETRY_SETTINGS, runPi, type Sandbox, startPiRpc } from "../helpers/pi-harness.js";
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

/** The implementation the model does when nothing fails: one call per rung 1..4. */
const IMPLEMENTATION: MockAnswer[] = [
	write("hello.txt", "Hello\n"),
	bash("cat hello.txt"),
	bash("ls"),
	{ text: "Done." },
];

async function rig(t: TestContext) {
	const r = await startRig(t, {
		providers: PROVIDERS,
		settings: { ...USER_SETTINGS, ...FAST_RETRY_SETTINGS },
		planConfig: LADDER,
	});
	return { ...r, assertSettingsUntouched: r.checkSettings };
}

const headless = (sandbox: Sandbox, args: string[]) => runPi(sandbox, args, { extension: ".", timeoutMs: 20_000 });

/** rungs → labels, with `at` (a rung index) appearing twice: the failed attempt and its retry. */
const withRetryAt = (at: number) => [0, 1, 2, 3, 4].flatMap((r) => (r === at ? [r, r] : [r]));

interface RetryCase {
	name: string;
	fault: MockFault;
	/** The rung whose call gets the fault. */
	at: number;
	error: RegExp;
}

const RETRY_CASES: RetryCase[] = [
	{
		name: "429 rate limit (anthropic-messages)",
		fault: { fault: "http", status: 429 },
		at: 2,
		error: /^429 .*rate_limit_error/,
	},
	{
		name: "529 overloaded (anthropic-messages)",
		fault: { fault: "http", status: 529 },
		at: 2,
		error: /^529 .*overloaded_error/,
	},
	{
		name: "500 with retry-after (openai-completions)",
		fault: { fault: "http", status: 500, retryAfterSeconds: 1 },
		at: 3,
		// pi-ai's words for it differ by line (0.73.1 / 1.x).
		error: /^500(:| Internal server error \(mock\)$)/,
	},
	{
		name: "stream cut mid-response (openai-responses, first implementation call)",
		fault: { fault: "cut", afterEvents: 3 },
		at: 1,
		// undici's error for a connection closed mid-body; pi retries it like a 5xx
		error: /^terminated($|: other side closed)/,
	},
];

for (const c of RETRY_CASES) {
	test(`retry on the same rung: ${c.name} on rung ${c.at}, then the cursor goes on as if nothing failed`, async (t) => {
		const { mock, sandbox, assertSettingsUntouched } = await rig(t);
		const implementation = [...IMPLEMENTATION];
		implementation.splice(c.at - 1, 0, c.fault);
		mock.setScript([{ text: PLAN_TEXT }, ...implementation]);

		const run = await headless(sandbox, ["-p", "Create hello.txt", "--plan-auto-approve"]);
		assert.equal(run.code, 0, run.stderr);
		assert.equal(run.stdout, "Done.\n");

		const rungs = withRetryAt(c.at);
		assert.deepEqual(
			wireLabels(mock.requests),
			rungs.map((r) => RUNG[r]),
		);
		const failed = mock.requests[c.at];
		assert.equal(failed.answer, c.fault, "the fault hit the call on the expected rung");
		if (c.fault.fault === "cut") assert.equal(failed.outcome, "cut");
		assert.equal(readFileSync(join(sandbox.projectDir, "hello.txt"), "utf8"), "Hello\n");

		// What pi recorded: one plan-stepdown:call per attempt (same rung twice), the failed message in between.
		const { entries } = onlySession(sandbox);
		const calls = callRecords(entries);
		assert.deepEqual(
			calls.map((call) => call.rung),
			rungs,
		);
		assert.deepEqual(calls[c.at], calls[c.at + 1], "the retry is recorded exactly like the failed attempt");
		const assistants = assistantRecords(entries);
		assert.deepEqual(
			assistants.map((a) => `${a.provider}/${a.model} ${a.stopReason}`),
			rungs.map(
				(r, i) => `${RUNG_MODEL[r]} ${i === c.at ? "error" : i === 0 || i === rungs.length - 1 ? "stop" : "toolUse"}`,
			),
		);
		assert.match(assistants[c.at].errorMessage ?? "", c.error);
		// A failed call is not a bump either.
		assert.match(run.stderr, /plan-stepdown: 6 calls, .*, 0 bumps, 0\/2 steps done\n$/);
		assertSettingsUntouched();
	});
}

test("a 500 that outlasts the retries: exit 1, the failed rung is kept, `pi -c` resumes implementing at that rung", async (t) => {
	const { mock, sandbox, assertSettingsUntouched } = await rig(t);
	const http500: MockFault = { fault: "http", status: 500 };
	mock.setScript([{ text: PLAN_TEXT }, write("hello.txt", "Hello\n"), http500, http500, http500, http500]);

	const run = await headless(sandbox, ["-p", "Create hello.txt", "--plan-auto-approve"]);
	assert.equal(run.code, 1, `pi -p exits non-zero when the run ends in an error\n${run.stderr}`);
	assert.equal(run.stdout, "");
	assert.match(run.stderr, /^500 .*api_error/m);
	// The summary line names the failed call: its rung, model and the provider's error.
	assert.match(run.stderr, /, 0 bumps, 0\/2 steps done; the last call failed: rung 2 ant\/claude-sonnet-4-6: 500/);
	// First attempt + FAST_RETRY_SETTINGS' 3 retries, all on rung 2.
	assert.deepEqual(wireLabels(mock.requests), [RUNG[0], RUNG[1], RUNG[2], RUNG[2], RUNG[2], RUNG[2]]);

	let entries = onlySession(sandbox).entries;
	const calls = callRecords(entries);
	assert.deepEqual(
		calls.map((call) => call.rung),
		[0, 1, 2, 2, 2, 2],
	);
	assert.deepEqual(calls.at(-1), {
		v: 1,
		rung: 2,
		phase: "implementing",
		reason: "step",
		model: "ant/claude-sonnet-4-6",
		thinking: "medium",
	});
	const last = assistantRecords(entries).at(-1);
	assert.equal(last?.stopReason, "error");
	assert.equal(stateRecords(entries).at(-1)?.mode, "implementing");

	// Resume the same session in a new process: /stepdown reports the mode and the failed rung as the cursor.
	const requestsBefore = mock.requests.length;
	const report = await headless(sandbox, ["-p", "-c", "/stepdown"]);
	assert.equal(mock.requests.length, requestsBefore, "/stepdown makes no request");
	const text = report.stdout + report.stderr;
	const lines = text.split("\n");
	const head = lines.findIndex((l) => l.startsWith("plan-stepdown: mode "));
	assert.ok(head >= 0, `no /stepdown report in the output:\n${text}`);
	// The failed call leads the report: its rung, model and error.
	assert.equal(lines[0], "plan-stepdown errors:");
	assert.match(lines[1], /^ {2}✗ the last call failed: rung 2 ant\/claude-sonnet-4-6: .*500/);
	assert.match(lines[head], /^plan-stepdown: mode implementing(?: \(auto-approve\))?, cursor 2$/);
	assert.equal(lines[head + 1], "last call: rung 2 ant/claude-sonnet-4-6:medium (step)");
	const ladder = lines.slice(lines.indexOf("ladder:", head) + 1, lines.indexOf("ladder:", head) + 6);
	assert.deepEqual(ladder, [
		"  [0] oai/gpt-big:high  web_search default",
		"  [1] oai/gpt-mid:low  web_search default",
		"▶ [2] ant/claude-sonnet-4-6:medium",
		"  [3] chat/chat-tiny:medium",
		"  [4] chat/chat-tiny:low",
	]);

	// A new user prompt in the resumed session: the user has control again, so rung 0, then stepping.
	mock.setScript([bash("ls"), { text: "Fixed." }]);
	const again = await headless(sandbox, ["-p", "-c", "Try again"]);
	assert.equal(again.code, 0, again.stderr);
	assert.equal(again.stdout, "Fixed.\n");
	assert.deepEqual(wireLabels(mock.requests.slice(requestsBefore)), [RUNG[0], RUNG[1]]);
	entries = onlySession(sandbox).entries;
	assert.deepEqual(
		callRecords(entries)
			.slice(-2)
			.map((call) => `${call.rung} ${call.reason}`),
		["0 user-turn", "1 step"],
	);
	assertSettingsUntouched();

	// The spec: in print mode the /stepdown report is printed to stdout.
	assert.ok(
		report.stdout.includes("plan-stepdown: mode implementing"),
		`the /stepdown report did not reach stdout in print mode (stdout: ${JSON.stringify(report.stdout)}); ` +
			"pi takes over process.stdout in print mode and sends extension writes to stderr",
	);
});

test("planning fails in a --plan-auto-approve run; resumed interactively without the flag, the plan waits for approval", async (t) => {
	const { mock, sandbox, assertSettingsUntouched } = await rig(t);
	const http500: MockFault = { fault: "http", status: 500 };
	mock.setScript([http500, http500, http500, http500]);
	const run = await headless(sandbox, ["-p", "Create hello.txt", "--plan-auto-approve"]);
	assert.equal(run.code, 1, run.stderr);
	assert.deepEqual(wireLabels(mock.requests), [RUNG[0], RUNG[0], RUNG[0], RUNG[0]]);
	assert.deepEqual(
		stateRecords(onlySession(sandbox).entries).map((s) => `${s.mode} ${s.autoApprove}`),
		["planning true"],
	);

	// The user continues the session in an interactive client (rpc), without --plan-auto-approve.
	mock.setScript([{ text: PLAN_TEXT }, write("hello.txt", "Hello\n"), { text: "Implemented." }]);
	const rpc = startPiRpc(sandbox, ["-c"], { extension: "." });
	t.after(() => rpc.close());
	const mark = rpc.events.length;
	await send(rpc, "Plan it again, please");
	// pi 1.x offers the dialog once the run has settled (after agent_end): wait for the dialog itself, or for an
	// implementation call that would mean the plan was approved without it.
	const first = await eventAfter(
		rpc,
		mark,
		(e) => (e.type === "extension_ui_request" && e.method === "select") || mock.requests.length > 5,
		"the approval dialog (or an implementation call)",
	);
	const after = wireLabels(mock.requests.slice(4));
	const implemented = existsSync(join(sandbox.projectDir, "hello.txt"));
	if (first.type === "extension_ui_request") rpc.respondUi(String(first.id), { cancelled: true });
	await rpc.close();
	assert.equal(
		first.type,
		"extension_ui_request",
		`no approval dialog: the resumed session auto-approved its plan (calls: ${after.join(", ")}; hello.txt written: ${implemented})`,
	);
	assert.deepEqual(after, [RUNG[0]]);
	assert.equal(implemented, false);
	assertSettingsUntouched();
});

test("rpc abort mid-stream: recorded as aborted; a continued session keeps mode and the aborted rung", async (t) => {
	const { mock, sandbox, assertSettingsUntouched } = await rig(t);
	mock.setScript([
		{ text: PLAN_TEXT },
		write("hello.txt", "Hello\n"),
		{ fault: "slow", delayMs: 250, reply: { text: "A long answer that is aborted half way through." } },
	]);

	const first = startPiRpc(sandbox, [], { extension: "." });
	t.after(() => first.close());
	await send(first, "/plan");
	let mark = first.events.length;
	await send(first, "Create hello.txt");
	const dialog = await uiAfter(first, mark, "select");
	mark = first.events.length;
	first.respondUi(dialog.id, { value: "Start implementation" });
	// The rung-2 call is streaming (its first text delta arrived): abort it.
	await eventAfter(
		first,
		mark,
		(e) =>
			e.type === "message_update" &&
			typeof e.assistantMessageEvent === "object" &&
			e.assistantMessageEvent !== null &&
			(e.assistantMessageEvent as { type?: unknown }).type === "text_delta",
		"the slow call's first text delta",
	);
	const abort = await first.request({ type: "abort" });
	assert.equal(abort.success, true);
	await eventAfter(first, mark, (e) => e.type === "agent_end", "agent_end after the abort");
	await mock.settled();
	assert.deepEqual(wireLabels(mock.requests), [RUNG[0], RUNG[1], RUNG[2]]);
	assert.equal(mock.requests[2].outcome, "client-closed", "the stream was cut by pi, not finished");
	// In the same process the cursor stays on the aborted rung too.
	mark = first.events.length;
	await send(first, "/stepdown");
	const live = await uiAfter(first, mark, "notify", (e) => e.message?.includes("plan-stepdown: mode") === true);
	// The aborted call leads the report, as an error; then the mode and the cursor.
	const liveLines = live.message?.split("\n") ?? [];
	assert.equal(liveLines[0], "plan-stepdown errors:");
	assert.match(liveLines[1], /^ {2}✗ the last call failed: rung 2 ant\/claude-sonnet-4-6: /);
	assert.ok(liveLines.includes("plan-stepdown: mode implementing, cursor 2"), live.message);
	await first.close();

	let entries = onlySession(sandbox).entries;
	assert.deepEqual(
		callRecords(entries).map((call) => call.rung),
		[0, 1, 2],
	);
	assert.deepEqual(
		assistantRecords(entries).map((a) => `${a.provider}/${a.model} ${a.stopReason}`),
		["oai/gpt-big stop", "oai/gpt-mid toolUse", "ant/claude-sonnet-4-6 aborted"],
	);

	// A new process continuing the session.
	mock.setScript([bash("ls"), { text: "Continued." }]);
	const second = startPiRpc(sandbox, ["-c"], { extension: "." });
	t.after(() => second.close());
	mark = second.events.length;
	await send(second, "/stepdown");
	const report = await uiAfter(second, mark, "notify", (e) => e.message?.includes("plan-stepdown: mode") === true);
	const lines = (report.message ?? "").split("\n");
	const head = lines.indexOf("plan-stepdown: mode implementing, cursor 2");
	assert.ok(head > 0, report.message);
	assert.equal(lines[head + 1], "last call: rung 2 ant/claude-sonnet-4-6:medium (step)");
	assert.ok(lines.includes("▶ [2] ant/claude-sonnet-4-6:medium"), report.message);
	assert.equal(mock.requests.length, 3, "resuming and /stepdown make no request");

	await second.prompt("Go on, please");
	assert.deepEqual(wireLabels(mock.requests.slice(3)), [RUNG[0], RUNG[1]]);
	await second.close();

	entries = onlySession(sandbox).entries;
	assert.deepEqual(
		callRecords(entries).map((call) => `${call.rung} ${call.reason}`),
		["0 planning", "1 kickoff", "2 step", "0 user-turn", "1 step"],
	);
	assert.deepEqual(
		stateRecords(entries).map((s) => s.mode),
		["planning", "implementing"],
		"resuming does not change the mode",
	);
	assertSettingsUntouched();
});
