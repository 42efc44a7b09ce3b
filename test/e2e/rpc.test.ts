/**
 * pi --mode rpc with this repo as an extension, against the scripted mock LLM: /plan, the approval dialog through
 * the rpc extension-UI protocol (Start / Refine / Cancel), the implementation stepping down the ladder, a user
 * follow-up, /stepdown and /stepdown-off, and the planning guards on write and bash. Every test asserts the exact
 * model and effort of each call on the wire, what pi recorded in the session, and that settings.json is untouched.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import {
	agentEndWith,
	callRecords,
	eventAfter,
	hasPlanBlock,
	idle,
	onlySession,
	send,
	stateRecords,
	toolEnds,
	uiAfter,
	wireLabels,
} from "../helpers/e2e.js";
import type { MockLlm } from "../helpers/mock-llm.js";
import { type PiRpc, type Sandbox, startPiRpc } from "../helpers/pi-harness.js";
import { PI_LINE } from "../helpers/pi-line.ts";
import { startRig } from "../helpers/rig.ts";
import {
	bash,
	CROSS_PROVIDER_LADDER,
	CROSS_RUNGS,
	PARSER_MODE,
	PLAN_TEXT,
	PLAN_TOOLS,
	PROVIDERS,
	USER_MODEL,
	USER_SETTINGS,
	USER_TOOLS,
	write,
} from "./fixtures.js";

const RUNG = CROSS_RUNGS;
const DIALOG_TITLE = "Plan ready — what next?";
const START = "Start implementation";
const REFINE = "Refine — stay in plan mode";
const CANCEL = "Cancel — leave plan mode";

interface Rig {
	mock: MockLlm;
	sandbox: Sandbox;
	rpc: PiRpc;
	settingsBefore: Buffer;
	/** Stops pi and checks settings.json is byte-identical to what the user had. */
	finish(): Promise<void>;
}

async function rig(
	t: TestContext,
	files: Record<string, string> = {},
	extensions: string[] = [],
	agentFiles: Record<string, string> = {},
	args: string[] = [],
): Promise<Rig> {
	const { mock, sandbox, settingsBefore, checkSettings } = await startRig(t, {
		providers: PROVIDERS,
		settings: USER_SETTINGS,
		planConfig: CROSS_PROVIDER_LADDER,
		files,
		agentFiles,
	});
	const rpc = startPiRpc(sandbox, args, { extension: [".", ...extensions] });
	t.after(() => rpc.close());
	return {
		mock,
		sandbox,
		rpc,
		settingsBefore,
		async finish() {
			await rpc.close();
			checkSettings();
		},
	};
}

/** Plans `task`, starts the implementation, which writes hello.txt and answers "Implemented."; resolves when idle. */
async function planAndImplement(rpc: PiRpc, mock: MockLlm, task: string): Promise<void> {
	mock.setScript([{ text: PLAN_TEXT }]);
	const dialog = await planUntilDialog(rpc, task);
	mock.setScript([write("hello.txt", "Hello\n"), { text: "Implemented." }]);
	const mark = rpc.events.length;
	rpc.respondUi(dialog.id, { value: START });
	await agentEndWith(rpc, mark, "Implemented.");
	await idle(rpc);
	// Settled: the idle status line of the implementation (pi 1.x sets it just after agent_end).
	await eventAfter(rpc, mark, (e) => e.method === "setStatus" && String(e.statusText).startsWith("⏸ impl [0/"), "idle");
}

/** In plan mode already: a prompt plans on rung 0 with the plan tools and the planning block, and the dialog comes
 * back; it is dismissed. */
async function assertPlansAgain(rpc: PiRpc, mock: MockLlm, prompt: string): Promise<void> {
	mock.setScript([{ text: PLAN_TEXT }]);
	const before = mock.requests.length;
	const mark = rpc.events.length;
	await send(rpc, prompt);
	const again = await uiAfter(rpc, mark, "select");
	assert.equal(again.title, DIALOG_TITLE, "plan mode again: the dialog comes back");
	assert.deepEqual(wireLabels(mock.requests.slice(before)), [RUNG[0]]);
	assert.deepEqual(mock.requests[before].toolNames, PLAN_TOOLS);
	assert.ok(hasPlanBlock(mock.requests[before]));
	rpc.respondUi(again.id, { cancelled: true });
	await idle(rpc);
}

/** `/plan`, then a task: resolves with the approval dialog once the planning run has ended. */
async function planUntilDialog(rpc: PiRpc, task: string) {
	let mark = rpc.events.length;
	await send(rpc, "/plan");
	const on = await uiAfter(rpc, mark, "notify");
	assert.match(
		on.message ?? "",
		/^plan-stepdown: plan mode on\. Every planning call uses \[0\] oai\/gpt-big:high\.\nplan-mode bash: (sandbox: bubblewrap|parser allow-list.*)$/,
	);
	mark = rpc.events.length;
	await send(rpc, task);
	const dialog = await uiAfter(rpc, mark, "select");
	assert.equal(dialog.title, DIALOG_TITLE);
	assert.deepEqual(dialog.options, [START, REFINE, CANCEL]);
	return dialog;
}

const projectFile = (sandbox: Sandbox, name: string) => join(sandbox.projectDir, name);

test("approve: planning on rung 0, implementation 1, 2, 2; a follow-up 0, 1, 2; /stepdown; /stepdown-off", async (t) => {
	const { mock, sandbox, rpc, finish } = await rig(t);

	mock.setScript([bash("ls"), { text: PLAN_TEXT }]);
	const dialog = await planUntilDialog(rpc, "Create hello.txt with a greeting");
	assert.deepEqual(wireLabels(mock.requests), [RUNG[0], RUNG[0]]);
	for (const req of mock.requests) {
		assert.deepEqual(req.toolNames, PLAN_TOOLS, "planning calls are offered the plan tools only");
		assert.ok(hasPlanBlock(req), "planning calls carry the planning block");
	}
	assert.equal(mock.requests[0].lastUserText, "Create hello.txt with a greeting");

	// Start implementation: a new run on rung 1, one rung lower per call, the last rung repeats.
	mock.setScript([write("hello.txt", "Hello, world\n"), bash("cat hello.txt"), { text: "Implemented." }]);
	let mark = rpc.events.length;
	rpc.respondUi(dialog.id, { value: START });
	await agentEndWith(rpc, mark, "Implemented.");
	const impl = mock.requests.slice(2);
	assert.deepEqual(wireLabels(impl), [RUNG[1], RUNG[2], RUNG[2]]);
	assert.match(impl[0].lastUserText ?? "", /^The plan above is approved\./);
	for (const req of impl) {
		assert.deepEqual([...req.toolNames].sort(), [
			"bash",
			"edit",
			"find",
			"grep",
			"ls",
			"plan_progress",
			"read",
			"write",
		]);
		assert.ok(!hasPlanBlock(req), "implementation calls carry no planning block");
	}
	// The status line (setStatus) names the real model of each call in flight, then the idle top of the ladder (pi 1.x
	// sets it when the run has settled, just after agent_end).
	const statusesSince = () =>
		rpc.events
			.slice(mark)
			.filter((e) => e.type === "extension_ui_request" && e.method === "setStatus" && e.statusKey === "plan-stepdown")
			.map((e) => e.statusText);
	// Idle after the three in-flight calls (approval itself also shows the idle top of the ladder, before them).
	await eventAfter(
		rpc,
		mark,
		() => {
			const seen = statusesSince();
			return (
				seen.filter((s) => String(s).startsWith("▶")).length >= 3 && seen.at(-1) === "⏸ impl [0/3] oai/gpt-big:high"
			);
		},
		"idle after the implementation calls",
	);
	const statuses = statusesSince();
	assert.deepEqual(
		statuses.filter((s) => typeof s === "string" && s.startsWith("▶")),
		["▶ impl [1/3] ant/claude-sonnet-4-6:medium", "▶ impl [2/3] chat/chat-tiny:low", "▶ impl [2/3] chat/chat-tiny:low"],
	);
	assert.equal(statuses.at(-1), "⏸ impl [0/3] oai/gpt-big:high");
	assert.equal(readFileSync(projectFile(sandbox, "hello.txt"), "utf8"), "Hello, world\n");
	assert.deepEqual(
		impl[2].toolResults.map((r) => [r.name, r.text.trim()]),
		[["bash", "Hello, world"]],
	);

	// A user follow-up: control was back with the user, so the first call is on rung 0 again.
	mock.setScript([bash("ls"), bash("wc -l hello.txt"), { text: "Checked." }]);
	const beforeFollowUp = mock.requests.length;
	const followUp = rpc.events.length;
	await rpc.prompt("Check the file once more");
	// Settled (pi 1.x puts the cursor back at the top just after agent_end): the idle status says so.
	await eventAfter(rpc, followUp, (e) => e.method === "setStatus" && String(e.statusText).startsWith("⏸"), "idle");
	assert.deepEqual(wireLabels(mock.requests.slice(beforeFollowUp)), [RUNG[0], RUNG[1], RUNG[2]]);

	const { entries } = onlySession(sandbox);
	assert.deepEqual(
		callRecords(entries).map((c) => `${c.rung} ${c.phase} ${c.reason} ${c.model}:${c.thinking}`),
		[
			"0 planning planning oai/gpt-big:high",
			"0 planning planning oai/gpt-big:high",
			"1 implementing kickoff ant/claude-sonnet-4-6:medium",
			"2 implementing step chat/chat-tiny:low",
			"2 implementing step chat/chat-tiny:low",
			"0 implementing user-turn oai/gpt-big:high",
			"1 implementing step ant/claude-sonnet-4-6:medium",
			"2 implementing step chat/chat-tiny:low",
		],
	);
	assert.deepEqual(
		stateRecords(entries).map((s) => s.mode),
		["planning", "implementing"],
	);

	// /stepdown: a notify with mode, cursor (back at the top after the run) and the ladder with ▶ at the cursor.
	mark = rpc.events.length;
	await send(rpc, "/stepdown");
	const report = await uiAfter(rpc, mark, "notify");
	const lines = (report.message ?? "").split("\n");
	assert.equal(lines[0], "plan-stepdown: mode implementing, cursor 0");
	assert.equal(lines[1], "last call: rung 2 chat/chat-tiny:low (step)");
	const ladder = lines.slice(lines.indexOf("ladder:") + 1, lines.indexOf("ladder:") + 4);
	assert.deepEqual(ladder, [
		"▶ [0] oai/gpt-big:high  web_search medium",
		// Hosted web search exists only on the Responses rung.
		"  [1] ant/claude-sonnet-4-6:medium",
		"  [2] chat/chat-tiny:low",
	]);
	assert.ok(
		lines.some(
			(l) => l.startsWith("  /ladder = ") && l.endsWith(`← ${join(sandbox.projectDir, ".pi", "plan-stepdown.json")}`),
		),
		`the report names the file that set the ladder:\n${report.message}`,
	);
	// The cost table, from the session branch: calls per rung with the real models, and the flat-rung-0 comparison.
	const costs = lines.slice(lines.indexOf("cost by rung (this branch):"));
	assert.match(costs[2] ?? "", /^ {5}0 {6}3 .* oai\/gpt-big$/);
	assert.match(costs[3] ?? "", /^ {5}1 {6}2 .* ant\/claude-sonnet-4-6$/);
	assert.match(costs[4] ?? "", /^ {5}2 {6}3 .* chat\/chat-tiny$/);
	assert.match(costs[5] ?? "", /^ {2}total 8 calls: \$\d+\.\d{4}$/);
	assert.match(
		costs[6] ?? "",
		/^ {2}flat rung 0 \(same tokens at rung 0's prices\): \$\d+\.\d{4}; saved \$\d+\.\d{4} \(\d+\.\d%\)$/,
	);
	assert.match(costs[7] ?? "", /^ {2}planning \(rung 0\): 2 calls, \$\d+\.\d{4}$/);
	assert.match(
		costs[8] ?? "",
		/^ {2}implementing: 6 calls, \$\d+\.\d{4} \(flat rung 0: \$\d+\.\d{4}, \d+\.\d% of it\)$/,
	);
	// The last implementation run is the follow-up: one call on each rung, from rung 0.
	assert.match(
		costs[9] ?? "",
		/^last implementation run \(2 in this branch; started by your prompt\): 3 calls, \$\d+\.\d{4} \(flat rung 0: /,
	);
	assert.deepEqual(
		costs.slice(11, 14).map((l) => l.replace(/ +\d+ +\d+ +\d+ +\$\d+\.\d{4} +/, " … ")),
		["     0      1 … oai/gpt-big", "     1      1 … ant/claude-sonnet-4-6", "     2      1 … chat/chat-tiny"],
	);

	// /stepdown-off: the user's own model and tools again.
	mark = rpc.events.length;
	await send(rpc, "/stepdown-off");
	const off = await uiAfter(rpc, mark, "notify");
	assert.equal(off.message, "plan-stepdown: off. Your own model and tools are back.");
	const cleared = await uiAfter(rpc, mark, "setStatus", (e) => e.statusKey === "plan-stepdown");
	assert.equal(cleared.statusText, undefined);

	mock.setScript([{ text: "Plain answer." }]);
	const beforeOff = mock.requests.length;
	await rpc.prompt("What is in hello.txt?");
	const own = mock.requests.slice(beforeOff);
	assert.deepEqual(wireLabels(own), [USER_MODEL]);
	assert.deepEqual(own[0].toolNames, USER_TOOLS, "the user's tools are back (write offered)");
	assert.ok(!hasPlanBlock(own[0]));

	const after = onlySession(sandbox).entries;
	assert.equal(callRecords(after).length, 8, "no plan-stepdown:call is recorded once the mode is off");
	assert.deepEqual(
		stateRecords(after).map((s) => s.mode),
		["planning", "implementing", "off"],
	);
	const lastAssistant = after.filter((e) => e.type === "message").at(-1)?.message as Record<string, unknown>;
	assert.deepEqual([lastAssistant.provider, lastAssistant.model], ["oai", "gpt-mid"]);
	await finish();
});

test("refine: the feedback reaches the wire as the next user message, on rung 0 without write", async (t) => {
	const { mock, sandbox, rpc, finish } = await rig(t);
	mock.setScript([{ text: PLAN_TEXT }, { text: "Plan:\n1. Create HELLO.TXT\n2. cat it" }, { text: PLAN_TEXT }]);
	const first = await planUntilDialog(rpc, "Create hello.txt");

	let mark = rpc.events.length;
	rpc.respondUi(first.id, { value: REFINE });
	const input = await uiAfter(rpc, mark, "input");
	assert.equal(input.title, "What should change in the plan?");
	mark = rpc.events.length;
	rpc.respondUi(input.id, { value: "  Use an upper-case file name  " });
	const second = await uiAfter(rpc, mark, "select");
	assert.equal(second.title, DIALOG_TITLE);

	assert.deepEqual(wireLabels(mock.requests), [RUNG[0], RUNG[0]]);
	const refined = mock.requests[1];
	assert.equal(
		refined.lastUserText,
		"Refine the plan with this feedback, then give the full revised plan:\n\nUse an upper-case file name",
	);
	assert.deepEqual(refined.toolNames, PLAN_TOOLS, "still planning: no write tool offered");
	assert.ok(hasPlanBlock(refined));

	// Dismissing the dialog (escape) leaves the mode as it is: the next prompt is planned again on rung 0.
	mark = rpc.events.length;
	rpc.respondUi(second.id, { cancelled: true });
	await idle(rpc);
	await send(rpc, "One more thing: keep it short");
	const third = await uiAfter(rpc, mark, "select");
	assert.deepEqual(wireLabels(mock.requests), [RUNG[0], RUNG[0], RUNG[0]]);
	assert.deepEqual(mock.requests[2].toolNames, PLAN_TOOLS);
	rpc.respondUi(third.id, { cancelled: true });
	await idle(rpc);

	const { entries } = onlySession(sandbox);
	assert.deepEqual(
		callRecords(entries).map((c) => `${c.rung} ${c.phase}`),
		["0 planning", "0 planning", "0 planning"],
	);
	assert.deepEqual(
		stateRecords(entries).map((s) => s.mode),
		["planning"],
	);
	await finish();
});

test("cancel: leaves plan mode; the next prompt goes to the user's model with the user's tools", async (t) => {
	const { mock, sandbox, rpc, finish } = await rig(t);
	mock.setScript([{ text: PLAN_TEXT }, { text: "Answered on my own model." }]);
	const dialog = await planUntilDialog(rpc, "Create hello.txt");

	const mark = rpc.events.length;
	rpc.respondUi(dialog.id, { value: CANCEL });
	const left = await uiAfter(rpc, mark, "notify");
	assert.equal(left.message, "plan-stepdown: left plan mode; your tools and model are back.");
	const cleared = await uiAfter(rpc, mark, "setStatus", (e) => e.statusKey === "plan-stepdown");
	assert.equal(cleared.statusText, undefined, "the status line is cleared");
	await idle(rpc);

	await rpc.prompt("Just answer");
	assert.deepEqual(wireLabels(mock.requests), [RUNG[0], USER_MODEL]);
	assert.deepEqual(mock.requests[1].toolNames, USER_TOOLS);
	assert.ok(!hasPlanBlock(mock.requests[1]));

	const { entries } = onlySession(sandbox);
	assert.equal(callRecords(entries).length, 1);
	assert.deepEqual(
		stateRecords(entries).map((s) => s.mode),
		["planning", "off"],
	);
	await finish();
});

test("planning: a write the model attempts anyway never runs", async (t) => {
	// Plain /plan: write is not among the run's tools at all, so pi itself rejects the call before any hook.
	const { mock, sandbox, rpc, finish } = await rig(t);
	mock.setScript([write("blocked.txt", "should not exist\n"), { text: PLAN_TEXT }]);
	const dialog = await planUntilDialog(rpc, "Create blocked.txt");

	assert.deepEqual(wireLabels(mock.requests), [RUNG[0], RUNG[0]]);
	assert.ok(!existsSync(projectFile(sandbox, "blocked.txt")), "the write did not run");
	const [result] = toolEnds(rpc);
	assert.equal(result?.toolName, "write");
	assert.equal(result?.isError, true);
	assert.match(mock.requests[1].toolResults[0]?.text ?? "", /write/i);

	rpc.respondUi(dialog.id, { cancelled: true });
	await idle(rpc);
	await finish();
});

test("auto-approve planning: write is in the run but hidden; called anyway it is blocked with plan-stepdown's reason", async (t) => {
	const { mock, sandbox, rpc, finish } = await rig(t, {}, [], {}, ["--plan-auto-approve"]);
	mock.setScript([write("blocked.txt", "should not exist\n"), { text: PLAN_TEXT }, { text: "Implemented." }]);
	const mark = rpc.events.length;
	await send(rpc, "Create blocked.txt");
	await idle(rpc);
	assert.ok(
		rpc.events.slice(mark).some((e) => e.type === "agent_end"),
		"the run ended",
	);

	assert.deepEqual(wireLabels(mock.requests), [RUNG[0], RUNG[0], RUNG[1]]);
	assert.deepEqual(mock.requests[0].toolNames, PLAN_TOOLS, "the model is offered only the plan tools while planning");
	assert.ok(!existsSync(projectFile(sandbox, "blocked.txt")), "the write did not run");
	// pi 0.73.1 starts the auto-approved run with both tool sets, so write exists and the guard refuses it; pi 1.x
	// switches tools inside the run, so while planning write is not a tool at all.
	assert.deepEqual(mock.requests[1].toolResults, [
		{
			name: "write",
			text:
				PI_LINE === "1"
					? "Tool write not found"
					: "plan-stepdown: write is not available while planning. Finish the plan; it runs after approval.",
		},
	]);
	assert.ok(mock.requests[2].toolNames.includes("write"), "after approval the implementation call is offered write");
	await finish();
});

test("planning (parser allow-list): mutating bash (rm, touch) is refused, read-only bash (ls) runs", async (t) => {
	const { mock, sandbox, rpc, finish } = await rig(t, { "keep.txt": "keep me\n" }, [], PARSER_MODE);
	mock.setScript([bash("rm keep.txt"), bash("touch x"), bash("ls"), { text: PLAN_TEXT }]);
	const dialog = await planUntilDialog(rpc, "Clean up the project");

	assert.deepEqual(wireLabels(mock.requests), [RUNG[0], RUNG[0], RUNG[0], RUNG[0]]);
	const [rm, touch, ls] = toolEnds(rpc);
	for (const [refused, command] of [
		[rm, "rm keep.txt"],
		[touch, "touch x"],
	] as const) {
		assert.equal(refused?.toolName, "bash");
		assert.equal(refused?.isError, true, `${command} is refused`);
		assert.match(refused?.text ?? "", /^plan-stepdown: refused while planning: /);
		assert.ok(refused?.text.endsWith(`Only read-only commands run in plan mode.\nCommand: ${command}`), refused?.text);
	}
	assert.equal(ls?.isError, false, "ls runs");
	assert.deepEqual(ls?.text.trim().split("\n"), ["keep.txt"]);

	assert.ok(existsSync(projectFile(sandbox, "keep.txt")), "rm did not run");
	assert.ok(!existsSync(projectFile(sandbox, "x")), "touch did not run");
	// The refusals reached the model as the tool results of the next calls.
	assert.match(
		mock.requests[1].toolResults[0]?.text ?? "",
		/^plan-stepdown: refused while planning: .*Command: rm keep\.txt$/s,
	);
	assert.match(
		mock.requests[2].toolResults[0]?.text ?? "",
		/^plan-stepdown: refused while planning: .*Command: touch x$/s,
	);
	assert.equal(mock.requests[3].toolResults[0]?.text.trim(), "keep.txt");

	rpc.respondUi(dialog.id, { cancelled: true });
	await idle(rpc);
	await finish();
});

test("clone keeps the mode of the branch it copies", async (t) => {
	const { mock, rpc, finish } = await rig(t);
	await planAndImplement(rpc, mock, "Create hello.txt with a greeting");

	const cloned = await rpc.request({ type: "clone" });
	assert.equal(cloned.success, true);
	mock.setScript([bash("ls"), { text: "Cloned." }]);
	const before = mock.requests.length;
	await rpc.prompt("Anything else?");
	// Still implementing in the clone: a user prompt starts on rung 0, then steps, with all tools and no plan block.
	assert.deepEqual(wireLabels(mock.requests.slice(before)), [RUNG[0], RUNG[1]]);
	assert.ok(mock.requests[before].toolNames.includes("write"));
	assert.ok(!hasPlanBlock(mock.requests[before]));
	await finish();
});

test("fork comes back in the mode its branch was in, not the mode the session was left in", async (t) => {
	const { mock, rpc, finish } = await rig(t);
	mock.setScript([{ text: PLAN_TEXT }]);
	const first = await planUntilDialog(rpc, "Create hello.txt with a greeting");
	// Refine: the feedback is a user message on the planning branch, the point to fork from later.
	mock.setScript([{ text: `${PLAN_TEXT}\n3. Say hello twice` }]);
	const mark = rpc.events.length;
	rpc.respondUi(first.id, { value: REFINE });
	const input = await uiAfter(rpc, mark, "input");
	rpc.respondUi(input.id, { value: "Say hello twice" });
	const second = await uiAfter(rpc, mark, "select");
	rpc.respondUi(second.id, { value: CANCEL }); // leave plan mode: the session is now off
	await idle(rpc);
	mock.setScript([{ text: "Plain." }]);
	const before = mock.requests.length;
	await rpc.prompt("Hello?");
	assert.deepEqual(wireLabels(mock.requests.slice(before)), [USER_MODEL], "off: the user's own model");

	const forkable = await rpc.request({ type: "get_fork_messages" });
	const messages = (forkable.data as { messages: { entryId: string; text: string }[] }).messages;
	const refine = messages.find((m) => m.text.includes("Say hello twice"));
	assert.ok(refine, JSON.stringify(messages));
	const forked = await rpc.request({ type: "fork", entryId: refine.entryId });
	assert.equal(forked.success, true);

	await assertPlansAgain(rpc, mock, "Plan it differently");

	// The costs come from the fork's branch: the first plan and the new one, not the refined plan left behind.
	const mark2 = rpc.events.length;
	await send(rpc, "/stepdown");
	const report = await uiAfter(rpc, mark2, "notify", (e) => (e.message ?? "").startsWith("plan-stepdown: mode"));
	const lines = (report.message ?? "").split("\n");
	assert.ok(
		lines.some((l) => /^ {2}total 2 calls: \$\d+\.\d{4}$/.test(l)),
		report.message,
	);
	await finish();
});

test("/tree navigation: each branch comes back in its own mode, tools and routing", async (t) => {
	const { mock, sandbox, rpc, finish } = await rig(t, {}, ["test/helpers/tree-extension.ts"]);
	const assistantId = (text: string) => {
		const entry = onlySession(sandbox).entries.find(
			(e) =>
				e.type === "message" &&
				JSON.stringify(e.message).includes(text) &&
				/"role":"assistant"/.test(JSON.stringify(e.message)),
		);
		assert.ok(entry && typeof entry.id === "string", `an assistant entry saying ${text}`);
		return entry.id as string;
	};
	const goto = async (entryId: string) => {
		const mark = rpc.events.length;
		await send(rpc, `/goto ${entryId}`);
		const done = await uiAfter(rpc, mark, "notify", (e) => String(e.message).startsWith("goto:"));
		assert.equal(done.message, "goto: done");
		return mark;
	};
	const statusAfter = (mark: number) =>
		rpc.events
			.slice(mark)
			.filter((e) => e.type === "extension_ui_request" && e.method === "setStatus" && e.statusKey === "plan-stepdown")
			.map((e) => e.statusText)
			.at(-1);

	// Off, then plan, approve and implement.
	mock.setScript([{ text: "Plain answer." }]);
	await rpc.prompt("Hello?");
	await planAndImplement(rpc, mock, "Create hello.txt");

	// Back to the answer given before /plan: that branch never had the mode.
	let at = await goto(assistantId("Plain answer."));
	assert.equal(statusAfter(at), undefined, "the status line is cleared");
	mock.setScript([{ text: "Still plain." }]);
	let before = mock.requests.length;
	await rpc.prompt("Anything new?");
	assert.deepEqual(wireLabels(mock.requests.slice(before)), [USER_MODEL], "the user's own model");
	assert.deepEqual(mock.requests[before].toolNames, USER_TOOLS, "the user's own tools");
	assert.ok(!hasPlanBlock(mock.requests[before]));

	// Forward to the implementation's last answer: implementing again, a user prompt starts on rung 0 and steps.
	at = await goto(assistantId("Implemented."));
	assert.equal(statusAfter(at), "⏸ impl [0/3] oai/gpt-big:high");
	mock.setScript([bash("ls"), { text: "Checked." }]);
	before = mock.requests.length;
	await rpc.prompt("Check it");
	assert.deepEqual(wireLabels(mock.requests.slice(before)), [RUNG[0], RUNG[1]]);
	assert.ok(mock.requests[before].toolNames.includes("write"), "implementation tools");
	assert.ok(!hasPlanBlock(mock.requests[before]));

	// And to the plan's answer: planning again, the dialog comes back after the next planning run.
	at = await goto(assistantId("1. Create"));
	assert.match(String(statusAfter(at)), /^⏸ plan /);
	await assertPlansAgain(rpc, mock, "Plan it again");
	await finish();
});

test("another extension's call with the same model object reaches that model untouched, unrecorded", async (t) => {
	const { mock, sandbox, rpc, finish } = await rig(t, {}, ["test/helpers/foreign-call-extension.ts"]);
	await send(rpc, "/plan");
	const mark = rpc.events.length;
	mock.setScript([{ text: "their answer" }]);
	await send(rpc, "/foreign");
	const note = await uiAfter(rpc, mark, "notify", (e) => (e.message ?? "").startsWith("foreign:"));
	// The caller's model object keeps its own api on both lines: pi 1.x never touches it, and pi 0.73.1's router,
	// which the session's model points at while the mode is on, hands calls that are not this session's straight on.
	assert.equal(
		note.message,
		`foreign: ${PI_LINE === "1" ? "openai-responses" : "plan-stepdown-router"} oai/gpt-mid stop their answer`,
	);
	// pi-ai's own default for a reasoning model called without a level; a routed call would carry the rung's effort.
	assert.deepEqual(wireLabels(mock.requests), ["oai/gpt-mid:none"], "the caller's model, no effort added");
	assert.equal(mock.requests[0].apiKey, "oai-test-key");
	assert.ok(!hasPlanBlock(mock.requests[0]), "no planning block");
	assert.equal(mock.requests[0].webSearch, undefined, "no payload rewrite");
	// pi writes the session file with the first answer of its own: plan once, then only that call is recorded.
	mock.setScript([{ text: PLAN_TEXT }]);
	await planUntilDialog(rpc, "Plan something");
	assert.deepEqual(
		callRecords(onlySession(sandbox).entries).map((c) => `${c.rung} ${c.reason} ${c.model}`),
		["0 planning oai/gpt-big"],
		"the foreign call is not recorded as a ladder call",
	);
	await finish();
});

// pi 0.73.1 has no virtual models, so there is no ladder model to pick: this test is for pi 1.x only.
test("pi 1.x: picking stepdown/ladder in /model starts implementing without a plan; another model ends it", {
	skip: PI_LINE !== "1" && "pi 0.73.1 has no virtual models (nothing to pick in /model)",
}, async (t) => {
	const { mock, sandbox, rpc, finish } = await rig(t);
	const picked = await rpc.request({ type: "set_model", provider: "stepdown", modelId: "ladder" });
	assert.equal(picked.success, true, JSON.stringify(picked));
	mock.setScript([bash("ls"), bash("ls"), { text: "Listed." }]);
	await rpc.prompt("List the files");
	// The user's turn on rung 0, then the agent steps down while it works alone.
	assert.deepEqual(wireLabels(mock.requests), [RUNG[0], RUNG[1], RUNG[2]]);
	assert.deepEqual(
		stateRecords(onlySession(sandbox).entries).map((s) => s.mode),
		["implementing"],
	);

	const back = await rpc.request({ type: "set_model", provider: "oai", modelId: "gpt-mid" });
	assert.equal(back.success, true, JSON.stringify(back));
	mock.setScript([{ text: "Mine." }]);
	const before = mock.requests.length;
	await rpc.prompt("Hello");
	assert.deepEqual(wireLabels(mock.requests.slice(before)), [USER_MODEL], "the picked model, no ladder");
	assert.deepEqual(
		stateRecords(onlySession(sandbox).entries).map((s) => s.mode),
		["implementing", "off"],
	);
	await finish();
});
