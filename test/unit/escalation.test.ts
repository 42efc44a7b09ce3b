import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	type EscalationRules,
	escalationTracker,
	type FinalSeen,
	isNoMatch,
	runawayOutput,
} from "../../src/escalation.ts";
import {
	type BumpRules,
	type CallMessage,
	type Decision,
	decideCall,
	REVIEW_MARKER,
	REVIEW_TYPE,
	RUNAWAY_TYPE,
	runawayOf,
	runawayText,
	segmentOutputs,
	stableJson,
	toCallMessages,
} from "../../src/ladder.ts";

const bumps: BumpRules = {
	bumpOnFailedBash: true,
	bumpOnFailedTool: true,
	bumpOnPackageManagerCommand: true,
	packageManagerCommands: ["npm", "pnpm", "yarn", "bun"],
};
const DEFAULTS: EscalationRules = {
	sameToolCall: 3,
	sameFailingBash: 2,
	failuresInARow: 3,
	editNotFound: 2,
	runawayOutput: 4,
};

interface Tool {
	name: string;
	args?: Record<string, unknown>;
	isError?: boolean;
	errorText?: string;
}
const read = (path: string, isError = false): Tool => ({ name: "read", args: { path }, isError });
const bash = (command: string, isError = false): Tool => ({ name: "bash", args: { command }, isError });
const edit = (path: string, found = true): Tool => ({
	name: "edit",
	args: { path, oldText: "a", newText: "b" },
	isError: !found,
	errorText: found
		? undefined
		: `Could not find the exact text in ${path}. The old text must match exactly including all whitespace and newlines.`,
});
const write = (path: string): Tool => ({ name: "write", args: { path, content: "x" } });

let ids = 0;
/** One assistant turn calling these tools, then their results, as `toCallMessages` makes them. */
function turn(...tools: Tool[]): CallMessage[] {
	const calls = tools.map((t) => ({
		id: `c${++ids}`,
		name: t.name,
		command: t.name === "bash" ? String(t.args?.command) : undefined,
		args: stableJson(t.args ?? {}),
		path: typeof t.args?.path === "string" ? t.args.path : undefined,
	}));
	return [
		{ role: "assistant", ok: true, toolCalls: calls },
		...calls.map((c, i) => ({
			role: "toolResult" as const,
			toolCallId: c.id,
			toolName: c.name,
			isError: tools[i].isError ?? false,
			errorText: tools[i].errorText ?? (tools[i].isError ? "failed" : undefined),
		})),
	];
}

/** The decision of each call of an implementation run (kickoff on rung 1 of a 5-rung ladder) as it grows. */
function decisions(turns: Tool[][], rules: Partial<EscalationRules> = {}): Decision[] {
	const history: CallMessage[] = [{ role: "user", kickoff: true }];
	const out: Decision[] = [];
	const decide = () => {
		const d = decideCall("implementing", 5, history, bumps, { ...DEFAULTS, ...rules });
		assert.ok(d);
		out.push(d);
	};
	decide();
	for (const t of turns) {
		history.push(...turn(...t));
		decide();
	}
	return out;
}
const compact = (ds: Decision[]) =>
	ds.map((d) => `${d.rung}:${d.reason}${d.reason === "escalation" ? `:${d.trigger?.kind}` : ""}`);

describe("escalation rules: when the next call goes to rung 0", () => {
	const cases: { name: string; turns: Tool[][]; rules?: Partial<EscalationRules>; expect: string[] }[] = [
		{
			name: "the same read three times → the 4th call on rung 0, then stepping resumes",
			turns: [[read("src/x.ts")], [read("src/x.ts")], [read("src/x.ts")], [read("src/y.ts")], [read("src/z.ts")]],
			expect: ["1:kickoff", "2:step", "3:step", "0:escalation:same-tool-call", "1:step", "2:step"],
		},
		{
			name: "the same read twice is not a loop",
			turns: [[read("src/x.ts")], [read("src/x.ts")], [read("src/y.ts")]],
			expect: ["1:kickoff", "2:step", "3:step", "4:step"],
		},
		{
			name: "a successful edit in between is progress: the count starts afresh",
			turns: [[read("a")], [read("a")], [edit("a")], [read("a")], [read("a")]],
			expect: ["1:kickoff", "2:step", "3:step", "4:step", "4:step", "4:step"],
		},
		{
			name: "a successful write in between is progress too",
			turns: [[read("a")], [read("a")], [write("b")], [read("a")]],
			expect: ["1:kickoff", "2:step", "3:step", "4:step", "4:step"],
		},
		{
			name: "the same name with other arguments is another call",
			turns: [[read("a")], [read("b")], [read("a")], [read("b")]],
			expect: ["1:kickoff", "2:step", "3:step", "4:step", "4:step"],
		},
		{
			name: "the arguments compare as data: another key order is the same call",
			turns: [
				[{ name: "grep", args: { pattern: "x", path: "src" } }],
				[{ name: "grep", args: { path: "src", pattern: "x" } }],
				[{ name: "grep", args: { pattern: "x", path: "src" } }],
			],
			expect: ["1:kickoff", "2:step", "3:step", "0:escalation:same-tool-call"],
		},
		{
			name: "the same failing bash command twice → rung 0 (outranks the failed-bash bump)",
			turns: [[bash("npm test", true)], [edit("a")], [bash("npm test", true)], [read("a")]],
			expect: ["1:kickoff", "1:bump", "2:step", "0:escalation:same-failing-bash", "1:step"],
		},
		{
			name: "a bash command that passed in between clears its count",
			turns: [[bash("make", true)], [bash("make")], [bash("make", true)]],
			rules: { failuresInARow: 0, sameToolCall: 0 },
			expect: ["1:kickoff", "1:bump", "2:step", "1:bump"],
		},
		{
			name: "two different failing commands are no loop",
			turns: [[bash("make", true)], [bash("make test", true)]],
			expect: ["1:kickoff", "1:bump", "1:bump"],
		},
		{
			name: "the 3rd failure in a row of any tool → rung 0",
			turns: [[read("a", true)], [bash("ls x", true)], [read("b", true)]],
			expect: ["1:kickoff", "1:bump", "1:bump", "0:escalation:failures-in-a-row"],
		},
		{
			name: "a success breaks the row",
			turns: [[read("a", true)], [bash("ls x", true)], [read("c")], [read("b", true)]],
			expect: ["1:kickoff", "1:bump", "1:bump", "2:step", "1:bump"],
		},
		{
			name: "an edit whose old text was not found, twice on the same file → rung 0",
			turns: [[edit("a.ts", false)], [read("a.ts")], [edit("a.ts", false)]],
			rules: { failuresInARow: 0 },
			expect: ["1:kickoff", "1:bump", "2:step", "0:escalation:edit-not-found"],
		},
		{
			name: "not found on two different files is no loop",
			turns: [[edit("a.ts", false)], [read("a.ts")], [edit("b.ts", false)]],
			rules: { failuresInARow: 0 },
			expect: ["1:kickoff", "1:bump", "2:step", "1:bump"],
		},
		{
			name: "an edit that failed for another reason does not count as not found",
			turns: [
				[{ name: "edit", args: { path: "a.ts" }, isError: true, errorText: "Found 2 occurrences" }],
				[{ name: "edit", args: { path: "a.ts" }, isError: true, errorText: "Found 2 occurrences" }],
			],
			rules: { failuresInARow: 0, sameToolCall: 0 },
			expect: ["1:kickoff", "1:bump", "1:bump"],
		},
		{
			name: "a rule set to 0 is off",
			turns: [[read("a")], [read("a")], [read("a")], [read("a")]],
			rules: { sameToolCall: 0 },
			expect: ["1:kickoff", "2:step", "3:step", "4:step", "4:step"],
		},
		{
			name: "a configured threshold: 2 identical calls",
			turns: [[read("a")], [read("a")]],
			rules: { sameToolCall: 2 },
			expect: ["1:kickoff", "2:step", "0:escalation:same-tool-call"],
		},
		{
			name: "after firing every count starts afresh: three more repeats to fire again",
			turns: [[read("a")], [read("a")], [read("a")], [read("a")], [read("a")], [read("a")]],
			expect: [
				"1:kickoff",
				"2:step",
				"3:step",
				"0:escalation:same-tool-call",
				"1:step",
				"2:step",
				"0:escalation:same-tool-call",
			],
		},
		{
			name: "repeats in one turn count too",
			turns: [[read("a"), read("a"), read("a")]],
			expect: ["1:kickoff", "0:escalation:same-tool-call"],
		},
	];
	for (const c of cases) {
		test(c.name, () => {
			assert.deepEqual(compact(decisions(c.turns, c.rules)), c.expect);
		});
	}

	test("the trigger names the rule, the tool and what repeated", () => {
		const last = (turns: Tool[][], rules?: Partial<EscalationRules>) => decisions(turns, rules).at(-1)?.trigger;
		assert.deepEqual(last([[read("a")], [read("a")], [read("a")]]), {
			kind: "same-tool-call",
			tool: "read",
			detail: 'read {"path":"a"}',
		});
		assert.deepEqual(last([[bash("npm test", true)], [bash("npm test", true)]]), {
			kind: "same-failing-bash",
			tool: "bash",
			detail: "npm test",
		});
		assert.deepEqual(last([[read("a", true)], [read("b", true)], [bash("false", true)]]), {
			kind: "failures-in-a-row",
			tool: "bash",
			detail: "false",
		});
		assert.deepEqual(last([[edit("x.ts", false)], [edit("x.ts", false)]], { failuresInARow: 0, sameToolCall: 0 }), {
			kind: "edit-not-found",
			tool: "edit",
			detail: "x.ts",
		});
	});

	test("without escalation rules the ladder is as before", () => {
		const history: CallMessage[] = [{ role: "user", kickoff: true }, ...turn(read("a")), ...turn(read("a"))];
		history.push(...turn(read("a")));
		assert.equal(decideCall("implementing", 5, history, bumps)?.reason, "step");
	});

	test("only the current segment counts: a user message starts afresh", () => {
		const history: CallMessage[] = [{ role: "user", kickoff: true }, ...turn(read("a")), ...turn(read("a"))];
		history.push({ role: "user", kickoff: false }, ...turn(read("a")));
		assert.equal(decideCall("implementing", 5, history, bumps, DEFAULTS)?.reason, "step");
	});

	test("a failed (errored) assistant call is not counted", () => {
		const history: CallMessage[] = [{ role: "user", kickoff: true }, ...turn(read("a")), ...turn(read("a"))];
		history.push({ role: "assistant", ok: false, toolCalls: [{ id: "x", name: "read", args: '{"path":"a"}' }] });
		assert.equal(decideCall("implementing", 5, history, bumps, DEFAULTS)?.reason, "step");
	});

	test("the tracker reports one trigger per firing", () => {
		const t = escalationTracker(DEFAULTS);
		for (let i = 0; i < 3; i++) t.call({ id: `${i}`, name: "ls", args: "{}" });
		assert.equal(t.take()?.kind, "same-tool-call");
		assert.equal(t.take(), undefined);
	});
});

describe("toCallMessages keeps what the rules need", () => {
	test("tool arguments as stable JSON, the edit's path, the failed result's text", () => {
		const out = toCallMessages([
			{
				role: "assistant",
				stopReason: "toolUse",
				content: [
					{ type: "toolCall", id: "e1", name: "edit", arguments: { path: "a.ts", oldText: "x", newText: "y" } },
				],
			},
			{
				role: "toolResult",
				toolCallId: "e1",
				toolName: "edit",
				isError: true,
				content: [{ type: "text", text: "Could not find the exact text in a.ts. ..." }],
			},
			{
				role: "toolResult",
				toolCallId: "r1",
				toolName: "read",
				isError: false,
				content: [{ type: "text", text: "ok" }],
			},
		]);
		assert.deepEqual(out, [
			{
				role: "assistant",
				ok: true,
				toolCalls: [
					{
						id: "e1",
						name: "edit",
						command: undefined,
						args: '{"newText":"y","oldText":"x","path":"a.ts"}',
						path: "a.ts",
					},
				],
			},
			{
				role: "toolResult",
				toolCallId: "e1",
				toolName: "edit",
				isError: true,
				errorText: "Could not find the exact text in a.ts. ...",
			},
			{ role: "toolResult", toolCallId: "r1", toolName: "read", isError: false, errorText: undefined },
		]);
	});

	test("a long error keeps its head and its tail (bash's exit code), not the whole log", () => {
		const [m] = toCallMessages([
			{
				role: "toolResult",
				toolCallId: "b",
				toolName: "bash",
				isError: true,
				content: `${"x".repeat(10_000)}\n\nCommand exited with code 2`,
			},
		]);
		const text = m.role === "toolResult" ? (m.errorText ?? "") : "";
		assert.equal(text.length, 301);
		assert.match(text, /^x{240}…x*\n\nCommand exited with code 2$/);
	});

	test("stableJson sorts nested keys, keeps arrays in order", () => {
		assert.equal(stableJson({ b: 1, a: { d: [2, 1], c: 0 } }), '{"a":{"c":0,"d":[2,1]},"b":1}');
	});
});

describe("the review turn in the ladder", () => {
	test("the review message opens a segment on rung 0 with reason review, then stepping", () => {
		const history: CallMessage[] = [{ role: "user", kickoff: true }, ...turn(read("a")), ...turn(read("b"))];
		history.push({ role: "user", kickoff: false, review: true });
		assert.deepEqual(decideCall("implementing", 5, history, bumps, DEFAULTS), {
			rung: 0,
			phase: "implementing",
			reason: "review",
			step: 0,
		});
		history.push(...turn(read("c")));
		assert.equal(decideCall("implementing", 5, history, bumps, DEFAULTS)?.rung, 1);
	});

	test("toCallMessages tells the review apart: pi 0.73.1's custom message, pi 1.x's user message with the marker", () => {
		assert.deepEqual(
			toCallMessages([
				{ role: "custom", customType: REVIEW_TYPE, content: "x" },
				{ role: "user", content: [{ type: "text", text: `${REVIEW_MARKER} Check it.` }] },
				{ role: "user", content: `${REVIEW_MARKER} Check it.` },
				{ role: "user", content: "Check it." },
			]),
			[
				{ role: "user", kickoff: false, review: true },
				{ role: "user", kickoff: false, review: true },
				{ role: "user", kickoff: false, review: true },
				{ role: "user", kickoff: false },
			],
		);
	});
});

describe("runaway output: a cheaper rung's answer with far more output than the segment's median and no progress", () => {
	const seen = (over: Partial<FinalSeen> = {}): FinalSeen => ({
		stopReason: "length",
		hasToolCall: false,
		hasText: false,
		output: 9000,
		...over,
	});
	const median300 = [200, 300, 400];
	const cases: { name: string; multiple?: number; final: FinalSeen; previous?: number[]; fires: boolean }[] = [
		{ name: "cut at the token limit, 30× the median", final: seen(), fires: true },
		{ name: "only thinking, stopped normally", final: seen({ stopReason: "stop" }), fires: true },
		{ name: "a truncated text is no final answer", final: seen({ hasText: true }), fires: true },
		{ name: "a final answer is progress", final: seen({ stopReason: "stop", hasText: true }), fires: false },
		{ name: "a tool call is progress", final: seen({ hasToolCall: true }), fires: false },
		{ name: "an error is pi's retry's business", final: seen({ stopReason: "error" }), fires: false },
		{ name: "an aborted call", final: seen({ stopReason: "aborted" }), fires: false },
		{ name: "exactly the multiple is not above it", final: seen({ output: 1200 }), fires: false },
		{ name: "just above the multiple", final: seen({ output: 1201 }), fires: true },
		{ name: "fewer earlier calls than RUNAWAY_MIN_CALLS", final: seen(), previous: [300, 300], fires: false },
		{ name: "0 turns the rule off", multiple: 0, final: seen(), fires: false },
		{ name: "a configured multiple of 40", multiple: 40, final: seen(), fires: false },
		{ name: "earlier calls without output: no median", final: seen(), previous: [0, 0, 0], fires: false },
	];
	for (const c of cases) {
		test(`${c.name} → ${c.fires ? "fires" : "no"}`, () => {
			const t = runawayOutput(c.multiple ?? 4, c.final, c.previous ?? median300);
			assert.equal(t !== undefined, c.fires);
			if (t) assert.equal(t.kind, "runaway-output");
		});
	}

	test("the trigger says how far above the median and why it is no progress", () => {
		assert.deepEqual(runawayOutput(4, seen(), median300), {
			kind: "runaway-output",
			tool: "",
			detail: "9000 output tokens, 30× the median 300, cut at the token limit",
		});
		assert.match(runawayOutput(4, seen({ stopReason: "stop" }), median300)?.detail ?? "", /no tool call or answer$/);
		assert.match(runawayOutput(4, seen(), [100, 200, 300, 400])?.detail ?? "", /the median 250,/, "even count");
	});

	test("runawayOf reads pi's messages: the segment's successful calls since the last user-role message", () => {
		const a = (output: number, stopReason = "toolUse") => ({ role: "assistant", stopReason, usage: { output } });
		const history = [
			{ role: "user" },
			a(99_999), // an earlier segment
			{ role: "user" },
			a(300),
			{ role: "toolResult" },
			a(50_000, "error"), // a failed call does not count
			a(200),
			{ role: "toolResult" },
			a(400),
			{ role: "toolResult" },
		];
		assert.deepEqual(segmentOutputs(history), [300, 200, 400]);
		const final = { stopReason: "stop", usage: { output: 9000 }, content: [{ type: "thinking", thinking: "…" }] };
		assert.equal(runawayOf(4, final, history)?.kind, "runaway-output");
		const answered = { ...final, content: [{ type: "text", text: "Done." }] };
		assert.equal(runawayOf(4, answered, history), undefined);
		const called = { ...final, content: [{ type: "toolCall", id: "x", name: "read", arguments: {} }] };
		assert.equal(runawayOf(4, called, history), undefined);
		assert.equal(runawayOf(0, final, history), undefined);
	});

	test("the continue message sends the next call to rung 0 as an escalation with the cause, then stepping resumes", () => {
		const text = runawayText("9000 output tokens, 30× the median 300, cut at the token limit");
		for (const message of [
			{ role: "custom", customType: RUNAWAY_TYPE, content: text }, // pi 0.73.1
			{ role: "user", content: [{ type: "text", text }] }, // pi 1.x's router
		]) {
			const [m] = toCallMessages([message]);
			assert.deepEqual(m, {
				role: "user",
				kickoff: false,
				escalation: {
					kind: "runaway-output",
					tool: "",
					detail: "9000 output tokens, 30× the median 300, cut at the token limit",
				},
			});
			const d = decideCall("implementing", 5, [m], bumps, DEFAULTS);
			assert.equal(`${d?.rung}:${d?.reason}:${d?.trigger?.kind}`, "0:escalation:runaway-output");
			const next = decideCall("implementing", 5, [m, ...turn(read("a"))], bumps, DEFAULTS);
			assert.equal(`${next?.rung}:${next?.reason}`, "1:step");
		}
		assert.deepEqual(toCallMessages([{ role: "user", content: "plain" }]), [{ role: "user", kickoff: false }]);
		assert.match(runawayText("a ] b"), /^\[plan-stepdown runaway-output: a \) b\] /, "a bracket cannot end it early");
	});
});

describe("a search that found nothing is an answer, not a failure", () => {
	const cases: [string, string | undefined, boolean][] = [
		["grep -n console src/theme.ts", "(no output)\n\nCommand exited with code 1", true],
		["grep -n console src/theme.ts", undefined, true], // no code known (the traces)
		["grep -n console missing.ts", "grep: missing.ts: No such file or directory\n\nCommand exited with code 2", false],
		['npm run check 2>&1 | grep "error TS"', "(no output)\n\nCommand exited with code 1", true],
		["cd pkg && LC_ALL=C /usr/bin/rg -n foo", "Command exited with code 1", true],
		["grep -c x a | wc -l", "Command exited with code 1", false], // the last stage decides
		["npm test", "Command exited with code 1", false],
		["git grep foo", "Command exited with code 1", false],
	];
	for (const [command, errorText, expected] of cases) {
		test(`${command} (${errorText?.slice(-9) ?? "no code"}) → ${expected ? "no match" : "a failure"}`, () => {
			assert.equal(isNoMatch(command, errorText), expected);
		});
	}

	test("three greps that find nothing do not escalate; three that fail do", () => {
		const none = (p: string): Tool => ({
			name: "bash",
			args: { command: `grep -n x ${p}` },
			isError: true,
			errorText: "(no output)\n\nCommand exited with code 1",
		});
		assert.deepEqual(compact(decisions([[none("a")], [none("b")], [none("c")]])).at(-1), "1:bump");
		const broken = (p: string): Tool => ({
			...none(p),
			errorText: `grep: ${p}: No such file\n\nCommand exited with code 2`,
		});
		assert.deepEqual(
			compact(decisions([[broken("a")], [broken("b")], [broken("c")]])).at(-1),
			"0:escalation:failures-in-a-row",
		);
		const same: Tool = none("a");
		assert.deepEqual(
			compact(decisions([[same], [same]], { sameToolCall: 0 })).at(-1),
			"1:bump",
			"not the same failing bash",
		);
	});
});
