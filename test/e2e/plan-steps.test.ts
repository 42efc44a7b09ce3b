/**
 * The plan as tracked steps on the real pi binary: the approved plan's numbered steps are stored with the session, the
 * agent reports them with plan_progress (a claim in prose marks nothing), the widget shows them over RPC, and the
 * headless summary carries them as data.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { stepsData } from "../../src/step-costs.ts";
import { customData, eventAfter, idle, onlySession, send, uiAfter } from "../helpers/e2e.ts";
import { runPi, startPiRpc } from "../helpers/pi-harness.ts";
import { startRig } from "../helpers/rig.ts";
import { CROSS_PROVIDER_LADDER, PROVIDERS, USER_SETTINGS, write } from "./fixtures.ts";

type StepsData = ReturnType<typeof stepsData>;

const PLAN = "Plan:\n1. Create hello.txt\n   - with a greeting\n2. Check it with cat\n3. Say done";
const progress = (step: number, status: string) => ({
	toolCalls: [{ name: "plan_progress", arguments: { step, status } }],
});

test("print mode: steps stored on approval, progress by tool (prose marks nothing), summary data", async (t) => {
	const { mock, sandbox, checkSettings } = await startRig(t, {
		providers: PROVIDERS,
		settings: USER_SETTINGS,
		planConfig: CROSS_PROVIDER_LADDER,
		script: [
			{ text: PLAN },
			write("hello.txt", "hi\n"),
			progress(1, "done"),
			progress(7, "done"),
			{ text: "Step 2 is done too, trust me." },
		],
	});
	const r = await runPi(sandbox, ["-p", "make hello", "--plan-auto-approve"], { extension: ".", timeoutMs: 30_000 });
	assert.equal(r.code, 0, r.stderr);
	checkSettings();
	// The implementation calls are offered the tool; the planning call is not.
	assert.ok(!mock.requests[0].toolNames.includes("plan_progress"));
	assert.ok(mock.requests[1].toolNames.includes("plan_progress"));
	// A step that does not exist is an error the model sees.
	assert.match(mock.requests[4].toolResults[0]?.text ?? "", /step must be a whole number from 1 to 3/);

	const { entries, file } = onlySession(sandbox);
	assert.deepEqual(customData(entries, "plan-stepdown:steps"), [
		{
			v: 1,
			steps: [
				{ n: 1, text: "Create hello.txt; with a greeting" },
				{ n: 2, text: "Check it with cat" },
				{ n: 3, text: "Say done" },
			],
		},
	]);
	const reports = customData(entries, "plan-stepdown:progress") as { step: number; status: string; rung: number }[];
	assert.deepEqual(
		reports.map((p) => `${p.step} ${p.status} rung ${p.rung}`),
		["1 done rung 2"],
	);
	const summary = customData(entries, "plan-stepdown:summary")[0] as { steps: StepsData };
	assert.deepEqual([summary.steps.done, summary.steps.total], [1, 3], "the prose claim about step 2 marked nothing");
	// Per step: status, the rung/model that reported it, and its cost (the calls up to its report: the write, the report).
	const [one, two] = summary.steps.steps;
	assert.deepEqual([one.status, one.rung, one.model], ["done", 2, "chat/chat-tiny"]);
	assert.ok(one.cost > 0, "step 1 was charged its calls");
	assert.deepEqual([two.status, two.cost], ["todo", 0]);
	assert.ok(summary.steps.unreported > 0, "the calls after the last report (the bad report, the prose) are no step's");
	// The summary line says it too.
	assert.match(r.stderr, /^plan-stepdown: 5 calls, .*, 1\/3 steps done\n$/m);

	// A report changes nothing: `pi -c -p /stepdown` leaves the session file byte for byte as it was.
	const before = readFileSync(file);
	const requests = mock.requests.length;
	const report = await runPi(sandbox, ["-c", "-p", "/stepdown"], { extension: ".", timeoutMs: 30_000 });
	assert.equal(report.code, 0, report.stderr);
	assert.equal(mock.requests.length, requests, "/stepdown makes no request");
	assert.match(
		report.stdout,
		/^plan: 1\/3 steps done\n☑ 1\. Create hello\.txt; with a greeting {2}\[2\] chat\/chat-tiny {2}\$\d+\.\d{4}$/m,
	);
	assert.match(report.stdout, /^ {2}after the last progress report: \$\d+\.\d{4}$/m);
	assert.doesNotMatch(report.stderr, /plan-stepdown: \d+ calls/, "no summary line reprinted");
	assert.ok(readFileSync(file).equals(before), "the session file is byte-identical after the report");
});

test("rpc: the widget shows the steps with a check and the rung/model of each done step", async (t) => {
	const { mock, sandbox, checkSettings } = await startRig(t, {
		providers: PROVIDERS,
		settings: USER_SETTINGS,
		planConfig: CROSS_PROVIDER_LADDER,
	});
	const rpc = startPiRpc(sandbox, [], { extension: "." });
	t.after(() => rpc.close());
	mock.setScript([{ text: PLAN }]);
	const mark = rpc.events.length;
	await send(rpc, "/plan make hello");
	const dialog = await uiAfter(rpc, mark, "select");
	mock.setScript([write("hello.txt", "hi\n"), progress(1, "done"), { text: "Done." }]);
	rpc.respondUi(dialog.id, { value: "Start implementation" });
	const widget = await eventAfter(
		rpc,
		mark,
		(e) => e.method === "setWidget" && JSON.stringify(e).includes("1/3 steps done"),
		"the progress widget",
	);
	const lines = (widget.widgetLines ?? widget.lines ?? []) as string[];
	assert.deepEqual(lines, [
		"plan: 1/3 steps done",
		"☑ 1. Create hello.txt; with a greeting  [2] chat/chat-tiny",
		"☐ 2. Check it with cat",
		"☐ 3. Say done",
	]);
	// The run has ended (the approval itself also shows the idle status, so wait for pi): /stepdown is a notify that
	// carries the steps too.
	await idle(rpc);
	const reportMark = rpc.events.length;
	await send(rpc, "/stepdown");
	const report = await uiAfter(rpc, reportMark, "notify", (e) => e.message?.includes("plan-stepdown: mode") === true);
	const text = (report.message ?? "").split("\n");
	const at = text.indexOf("plan: 1/3 steps done");
	assert.ok(at > 0, report.message);
	assert.match(text[at + 1], /^☑ 1\. Create hello\.txt; with a greeting {2}\[2\] chat\/chat-tiny {2}\$\d+\.\d{4}$/);
	assert.equal(text[at + 2], "☐ 2. Check it with cat  $0.0000");
	const reports = onlySession(sandbox).entries.filter((e) => e.customType === "plan-stepdown:report");
	assert.deepEqual(reports, [], "over RPC the report is a notify, not a session entry");
	await rpc.close();
	checkSettings();
});

test("the review turn on rung 0 is told which steps are not marked done", async (t) => {
	const { mock, sandbox, checkSettings } = await startRig(t, {
		providers: PROVIDERS,
		settings: USER_SETTINGS,
		planConfig: { ...CROSS_PROVIDER_LADDER, review: { enabled: true } },
		script: [{ text: PLAN }, progress(1, "done"), { text: "All done." }, { text: "Reviewed: fine." }],
	});
	const r = await runPi(sandbox, ["-p", "make hello", "--plan-auto-approve"], { extension: ".", timeoutMs: 30_000 });
	assert.equal(r.code, 0, r.stderr);
	checkSettings();
	const review = mock.requests[3];
	assert.equal(`${review.provider}/${review.model}`, "oai/gpt-big", "the review is on rung 0");
	assert.match(
		review.lastUserText ?? "",
		/Steps of the plan not marked done:\n2\. Check it with cat\n3\. Say done$/,
		"the open steps are listed",
	);
});

test("rpc: progress follows the branch: /tree to an earlier point, fork and resume restore that branch's steps", async (t) => {
	const { mock, sandbox, checkSettings } = await startRig(t, {
		providers: PROVIDERS,
		settings: USER_SETTINGS,
		planConfig: CROSS_PROVIDER_LADDER,
	});
	const rpc = startPiRpc(sandbox, [], { extension: [".", "test/helpers/tree-extension.ts"] });
	t.after(() => rpc.close());
	/** The widget's header in the last setWidget since `mark` (undefined: cleared, or none). */
	const widgetAfter = (events: typeof rpc.events, mark: number) =>
		events
			.slice(mark)
			.filter((e) => e.method === "setWidget" && e.widgetKey === "plan-stepdown")
			.map((e) => ((e.widgetLines ?? e.lines) as string[] | undefined)?.[0])
			.at(-1);
	const entryId = (text: string) => {
		const entry = onlySession(sandbox).entries.find(
			(e) =>
				e.type === "message" &&
				/"role":"assistant"/.test(JSON.stringify(e.message)) &&
				JSON.stringify(e.message).includes(text),
		);
		assert.ok(entry && typeof entry.id === "string", `an assistant entry saying ${text}`);
		return entry.id as string;
	};
	const goto = async (id: string) => {
		const mark = rpc.events.length;
		await send(rpc, `/goto ${id}`);
		await uiAfter(rpc, mark, "notify", (e) => e.message === "goto: done");
		return mark;
	};

	// Plan, approve; step 1 done in the first run, step 2 in a follow-up.
	mock.setScript([{ text: PLAN }]);
	let mark = rpc.events.length;
	await send(rpc, "/plan make hello");
	const dialog = await uiAfter(rpc, mark, "select");
	mock.setScript([write("hello.txt", "hi\n"), progress(1, "done"), { text: "Step one in." }]);
	rpc.respondUi(dialog.id, { value: "Start implementation" });
	await eventAfter(rpc, mark, (e) => e.method === "setWidget" && JSON.stringify(e).includes("1/3 steps done"), "1/3");
	await idle(rpc);
	mock.setScript([progress(2, "done"), { text: "Step two in." }]);
	mark = rpc.events.length;
	await rpc.prompt("Now step 2");
	await eventAfter(rpc, mark, (e) => e.method === "setWidget" && JSON.stringify(e).includes("2/3 steps done"), "2/3");

	// /tree back to the end of the first run: one step done there.
	mark = await goto(entryId("Step one in."));
	assert.equal(widgetAfter(rpc.events, mark), "plan: 1/3 steps done");
	// /tree to the plan's answer, before the approval: no plan on that branch, the widget is cleared.
	mark = await goto(entryId("1. Create hello.txt"));
	assert.equal(widgetAfter(rpc.events, mark), undefined);
	assert.ok(
		rpc.events.slice(mark).some((e) => e.method === "setWidget" && e.widgetKey === "plan-stepdown"),
		"the widget was set (cleared) on the move",
	);
	// Forward again to the follow-up's answer: both steps.
	mark = await goto(entryId("Step two in."));
	assert.equal(widgetAfter(rpc.events, mark), "plan: 2/3 steps done");

	// Fork from the follow-up prompt: the fork holds the branch before it, step 1 only.
	const forkable = await rpc.request({ type: "get_fork_messages" });
	const messages = (forkable.data as { messages: { entryId: string; text: string }[] }).messages;
	const followUp = messages.find((m) => m.text === "Now step 2");
	assert.ok(followUp, JSON.stringify(messages));
	mark = rpc.events.length;
	const forked = await rpc.request({ type: "fork", entryId: followUp.entryId });
	assert.equal(forked.success, true);
	assert.equal(widgetAfter(rpc.events, mark), "plan: 1/3 steps done");
	await rpc.close();

	// Resume the fork (the newest session) in a new process: its steps come back with it.
	const resumed = startPiRpc(sandbox, ["-c"], { extension: "." });
	t.after(() => resumed.close());
	await eventAfter(
		resumed,
		0,
		(e) => e.method === "setWidget" && e.widgetKey === "plan-stepdown",
		"the widget on resume",
	);
	assert.equal(widgetAfter(resumed.events, 0), "plan: 1/3 steps done");
	await resumed.close();
	checkSettings();
});
