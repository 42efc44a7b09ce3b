/**
 * pi's interactive TUI under tmux (160x50), with this repo as an extension, against the scripted mock LLM.
 * Keys go in with send-keys, the screen comes back with capture-pane. One session walks the three dialog paths:
 * Start (the status line shows the real model of the call in flight), Refine (an input dialog; the feedback
 * reaches the wire) and Cancel (status line cleared, the next prompt on the user's own model).
 *
 * tmux is required: without it the test is skipped locally and fails in CI (CI=true).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { callRecords, hasPlanBlock, onlySession, stateRecords, wireLabels } from "../helpers/e2e.js";
import { PI_CLI, PI_NODE, piEnv, REPO_ROOT, type Sandbox } from "../helpers/pi-harness.js";
import { PI_HOST, PI_LINE } from "../helpers/pi-line.ts";
import { startRig } from "../helpers/rig.ts";
import { startTmux, tmuxAvailable } from "../helpers/tmux.js";
import {
	CROSS_PROVIDER_LADDER,
	CROSS_RUNGS,
	PLAN_TEXT,
	PLAN_TOOLS,
	PROVIDERS,
	USER_MODEL,
	USER_SETTINGS,
	USER_TOOLS,
	write,
} from "./fixtures.js";

const RUNG = CROSS_RUNGS;

/**
 * The user has run this pi before: on a first run the TUI records `lastChangelogVersion` in settings.json itself
 * (pi's own "what's new" bookkeeping), which would hide whether the extension touched the file.
 */
const PI_VERSION = PI_HOST.version;
const SETTINGS = { ...USER_SETTINGS, lastChangelogVersion: PI_VERSION };

const HAVE_TMUX = tmuxAvailable();
const skip = !HAVE_TMUX && process.env.CI !== "true" ? "tmux is not installed (apt-get install -y tmux)" : false;

/** The plan-stepdown status line (the footer's extension status row), if shown. */
const statusLine = (screen: string) => screen.split("\n").find((line) => /^[⏸▶] (plan|impl) \[\d+\/\d+\] /.test(line));

/** pi's TUI in a tmux pane (160 columns) on the sandbox, with this repo as an extension. */
function startPi(t: TestContext, sandbox: Sandbox, height = 50) {
	const pane = startTmux({
		socket: join(sandbox.root, "tmux.sock"),
		cwd: sandbox.projectDir,
		env: piEnv(sandbox, { TERM: "xterm-256color", NO_COLOR: undefined }),
		command: [PI_NODE, PI_CLI, "-e", REPO_ROOT],
		width: 160,
		height,
	});
	t.after(() => pane.kill());
	return pane;
}

test("TUI: /plan, dialog by keys (Start, Refine, Cancel), in-flight status line, clean exit", { skip }, async (t) => {
	if (!HAVE_TMUX) assert.fail("tmux is required for the TUI e2e test in CI: install it (apt-get install -y tmux)");
	const { mock, sandbox, checkSettings } = await startRig(t, {
		providers: PROVIDERS,
		settings: SETTINGS,
		planConfig: CROSS_PROVIDER_LADDER,
	});
	const pane = startPi(t, sandbox);

	// pi is up: the footer shows the user's model.
	await pane.waitFor(/\(oai\) gpt-mid • medium/, "pi's footer", 20_000);
	assert.equal(statusLine(pane.screen()), undefined, "no status line while the mode is off");

	// ---- /plan, a task; the planning call is slow so the in-flight status can be read
	pane.type("/plan");
	pane.keys("Enter");
	await pane.waitFor((s) => statusLine(s) === "⏸ plan [0/3] oai/gpt-big:high", "the idle planning status");
	await pane.waitFor("plan-stepdown: plan mode on. Every planning call uses [0] oai/gpt-big:high.");

	mock.setScript([{ fault: "slow", delayMs: 120, reply: { text: PLAN_TEXT } }]);
	pane.type("Create hello.txt with a greeting");
	pane.keys("Enter");
	await pane.waitFor((s) => statusLine(s) === "▶ plan [0/3] oai/gpt-big:high", "the in-flight planning status");
	let screen = await pane.waitFor("Plan ready — what next?", "the approval dialog");
	assert.match(screen, /→ Start implementation\n\s+Refine — stay in plan mode\n\s+Cancel — leave plan mode/);
	assert.deepEqual(wireLabels(mock.requests), [RUNG[0]]);
	assert.deepEqual(mock.requests[0].toolNames, PLAN_TOOLS);

	// ---- Start (Enter on the first option): the implementation's first call is slow, on rung 1
	mock.setScript([
		{ fault: "slow", delayMs: 150, reply: write("hello.txt", "Hello from the TUI\n") },
		{ text: "Implemented." },
	]);
	pane.keys("Enter");
	await pane.waitFor(
		(s) => statusLine(s) === "▶ impl [1/3] ant/claude-sonnet-4-6:medium",
		"the in-flight status of the rung-1 call",
	);
	screen = await pane.waitFor(
		(s) => s.includes("Implemented.") && statusLine(s) === "⏸ impl [0/3] oai/gpt-big:high",
		"the end of the implementation run",
	);
	assert.ok(!screen.includes("Plan ready — what next?"), "the dialog is gone");
	// The approved plan's steps, as the progress widget shows them (none reported done in this run).
	assert.match(screen, /plan: 0\/2 steps done\n\s*☐ 1\. Create hello\.txt with a greeting\n\s*☐ 2\. Check it with cat/);
	assert.deepEqual(wireLabels(mock.requests), [RUNG[0], RUNG[1], RUNG[2]]);
	assert.equal(readFileSync(join(sandbox.projectDir, "hello.txt"), "utf8"), "Hello from the TUI\n");
	if (PI_LINE === "1") {
		// pi 1.x: the footer shows the selection, the ladder model, and the model that answered the last call.
		assert.match(screen, /\(stepdown\) ladder • medium → chat-tiny • low/, "the footer shows ladder → real model");
	} else {
		assert.match(screen, /\(oai\) gpt-mid • medium/, "the footer still shows the user's own model");
	}

	// ---- Refine (Down, Enter): an input dialog; the typed feedback is the next planning call's user message
	pane.type("/plan");
	pane.keys("Enter");
	await pane.waitFor((s) => statusLine(s) === "⏸ plan [0/3] oai/gpt-big:high", "planning again");
	mock.setScript([{ text: "Plan:\n1. Shout in hello.txt" }, { text: "Plan:\n1. Write HELLO in capitals" }]);
	pane.type("Make hello.txt shout");
	pane.keys("Enter");
	await pane.waitFor("Plan ready — what next?", "the second approval dialog");
	pane.keys("Down");
	await pane.waitFor("→ Refine — stay in plan mode", "Refine highlighted");
	pane.keys("Enter");
	await pane.waitFor("What should change in the plan?", "the feedback input");
	pane.type("Use capital letters only");
	pane.keys("Enter");
	screen = await pane.waitFor(
		(s) => s.includes("Write HELLO in capitals") && s.includes("Plan ready — what next?"),
		"the refined plan and the dialog again",
	);
	const refined = mock.requests[4];
	assert.deepEqual(wireLabels(mock.requests.slice(3)), [RUNG[0], RUNG[0]]);
	assert.equal(
		refined.lastUserText,
		"Refine the plan with this feedback, then give the full revised plan:\n\nUse capital letters only",
	);
	assert.deepEqual(refined.toolNames, PLAN_TOOLS, "still planning: no write tool");
	assert.ok(hasPlanBlock(refined));

	// ---- Cancel (Down, Down, Enter): status line cleared, the next prompt goes to the user's model
	pane.keys("Down", "Down");
	await pane.waitFor("→ Cancel — leave plan mode", "Cancel highlighted");
	pane.keys("Enter");
	screen = await pane.waitFor(
		(s) => s.includes("plan-stepdown: left plan mode; your tools and model are back.") && !s.includes("Plan ready"),
		"the cancel notice",
	);
	assert.equal(statusLine(screen), undefined, `the status line is cleared:\n${screen}`);

	mock.setScript([{ text: "Hi from your own model." }]);
	pane.type("Say hi");
	pane.keys("Enter");
	screen = await pane.waitFor("Hi from your own model.", "the answer on the user's model");
	assert.equal(statusLine(screen), undefined);
	assert.match(screen, /\(oai\) gpt-mid • medium/, "the footer shows the user's own model again");
	assert.deepEqual(wireLabels(mock.requests.slice(5)), [USER_MODEL]);
	assert.deepEqual(mock.requests[5].toolNames, USER_TOOLS);
	assert.ok(!hasPlanBlock(mock.requests[5]));

	// ---- exit: ctrl+d on an empty editor
	await pane.waitFor((s) => !s.includes("Working..."), "idle");
	pane.keys("C-d");
	assert.equal(await pane.waitExit(), 0, "pi exits cleanly");

	const { entries } = onlySession(sandbox);
	assert.deepEqual(
		callRecords(entries).map((c) => `${c.rung} ${c.phase} ${c.reason}`),
		[
			"0 planning planning",
			"1 implementing kickoff",
			"2 implementing step",
			"0 planning planning",
			"0 planning planning",
		],
	);
	assert.deepEqual(
		stateRecords(entries).map((s) => s.mode),
		["planning", "implementing", "planning", "off"],
	);
	checkSettings();
});

test("TUI: the progress widget checks a done step with its rung/model; /stepdown stays in the chat, never reaches the model", {
	skip,
}, async (t) => {
	if (!HAVE_TMUX) assert.fail("tmux is required for the TUI e2e test in CI: install it (apt-get install -y tmux)");
	const { mock, sandbox, checkSettings } = await startRig(t, {
		providers: PROVIDERS,
		settings: SETTINGS,
		planConfig: CROSS_PROVIDER_LADDER,
	});
	// Tall enough for the whole chat: pi 1.x redraws in place, so tmux keeps no scrollback of its own there.
	const pane = startPi(t, sandbox, 150);
	await pane.waitFor(/\(oai\) gpt-mid • medium/, "pi's footer", 20_000);

	pane.type("/plan");
	pane.keys("Enter");
	await pane.waitFor((s) => statusLine(s) === "⏸ plan [0/3] oai/gpt-big:high", "the idle planning status");
	mock.setScript([{ text: "Plan:\n1. Create hello.txt\n2. Check it with cat\n3. Say done" }]);
	pane.type("Create hello.txt");
	pane.keys("Enter");
	await pane.waitFor("Plan ready — what next?", "the approval dialog");

	// Start: rung 1 writes, rung 2 reports step 1 done, then the closing answer.
	mock.setScript([
		write("hello.txt", "hi\n"),
		{ toolCalls: [{ name: "plan_progress", arguments: { step: 1, status: "done" } }] },
		{ text: "Step one is in." },
	]);
	pane.keys("Enter");
	const screen = await pane.waitFor(
		(s) => s.includes("Step one is in.") && statusLine(s) === "⏸ impl [0/3] oai/gpt-big:high",
		"the end of the implementation run",
	);
	assert.match(
		screen,
		/plan: 1\/3 steps done\n\s*☑ 1\. Create hello\.txt {2}\[2\] chat\/chat-tiny\n\s*☐ 2\. Check it with cat\n\s*☐ 3\. Say done/,
		"the widget: a check for the done step and the rung/model that did it",
	);

	// /stepdown: a message in the chat, with the steps and what each cost.
	pane.type("/stepdown");
	pane.keys("Enter");
	await pane.waitFor(/\/tools\/plan = \[.*\] {2}← built-in defaults\n\s*```/, "the end of the /stepdown report");
	const report = pane.history();
	assert.ok(report.includes("plan-stepdown: mode implementing, cursor 0"), report);
	assert.match(report, /☑ 1\. Create hello\.txt {2}\[2\] chat\/chat-tiny {2}\$\d+\.\d{4}/, "the step's cost");

	// Another prompt: the report is still in the chat, and the model never read it.
	const before = mock.requests.length;
	mock.setScript([{ text: "It says hi." }]);
	pane.type("What is in hello.txt?");
	pane.keys("Enter");
	await pane.waitFor("It says hi.", "the answer to the next prompt");
	const history = pane.history();
	assert.ok(
		history.includes("plan-stepdown: mode implementing, cursor 0"),
		`the report is in the scrollback:\n${history}`,
	);
	assert.ok(history.indexOf("plan-stepdown: mode implementing") < history.lastIndexOf("It says hi."));
	const asked = mock.requests.slice(before);
	assert.equal(asked.length, 1);
	assert.equal(asked[0].lastUserText, "What is in hello.txt?");
	for (const q of mock.requests) {
		assert.doesNotMatch(
			JSON.stringify(q.body),
			/plan-stepdown: mode|cost by rung|config \(value/,
			"no report text on the wire",
		);
	}

	await pane.waitFor((s) => !s.includes("Working..."), "idle");
	pane.keys("C-d");
	assert.equal(await pane.waitExit(), 0, "pi exits cleanly");
	const { entries } = onlySession(sandbox);
	assert.equal(
		entries.filter((e) => e.type === "custom_message" && e.customType === "plan-stepdown:report").length,
		1,
		"the report is kept with the session (shown again on resume)",
	);
	checkSettings();
});
