import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	auxiliaryDecision,
	type BumpRules,
	type CallMessage,
	currentSegment,
	decideCall,
	KICKOFF_TEXT,
	KICKOFF_TYPE,
	packageManagerIn,
	toCallMessages,
	triggerOf,
} from "../../src/ladder.ts";

const rules: BumpRules = {
	bumpOnFailedBash: true,
	bumpOnFailedTool: true,
	bumpOnPackageManagerCommand: true,
	packageManagerCommands: ["npm", "pnpm", "yarn", "bun"],
};

const user = (kickoff = false): CallMessage => ({ role: "user", kickoff });
let ids = 0;
/** An assistant turn with tool calls, followed by their results. */
function turn(...tools: { name?: string; command?: string; isError?: boolean }[]): CallMessage[] {
	const calls = tools.map((t) => ({ id: `c${++ids}`, name: t.name ?? "read", command: t.command }));
	return [
		{ role: "assistant", ok: true, toolCalls: calls },
		...calls.map((c, i) => ({
			role: "toolResult" as const,
			toolCallId: c.id,
			toolName: c.name,
			isError: tools[i].isError ?? false,
		})),
	];
}
const failedCall = (stop: "error" | "aborted" = "error"): CallMessage => ({
	role: "assistant",
	ok: stop !== "error" && stop !== "aborted",
	toolCalls: [],
});

/** The rungs of a whole segment: the rung of each call as the history grows turn by turn. */
function rungs(length: number, opening: CallMessage[], turns: CallMessage[][]): number[] {
	const out: number[] = [];
	const history = [...opening];
	out.push(decideCall("implementing", length, history, rules)?.rung ?? -1);
	for (const t of turns) {
		history.push(...t);
		out.push(decideCall("implementing", length, history, rules)?.rung ?? -1);
	}
	return out;
}

describe("decideCall: the ladder table", () => {
	test("mode off: not our call", () => {
		assert.equal(decideCall("off", 5, [user()], rules), undefined);
	});

	test("planning: every call on rung 0, whatever happened", () => {
		const history = [user(), ...turn({ name: "bash", command: "false", isError: true }), ...turn(), ...turn()];
		for (let i = 0; i <= history.length; i++) {
			const d = decideCall("planning", 5, history.slice(0, i), rules);
			assert.deepEqual(d, { rung: 0, phase: "planning", reason: "planning", step: 0 });
		}
	});

	test("accepted plan: rung 1, then one rung down per call, the last rung repeats", () => {
		assert.deepEqual(
			rungs(5, [user(), ...turn(), user(true)], [turn(), turn(), turn(), turn(), turn(), turn()]),
			[1, 2, 3, 4, 4, 4, 4],
		);
	});

	test("user follow-up: rung 0 first (user-facing), then stepping", () => {
		const before = [user(true), ...turn(), ...turn()];
		assert.deepEqual(rungs(5, [...before, user()], [turn(), turn(), turn(), turn(), turn()]), [0, 1, 2, 3, 4, 4]);
	});

	test("reasons and steps", () => {
		const history = [user(true), ...turn(), ...turn({ name: "bash", command: "npm test" })];
		assert.deepEqual(decideCall("implementing", 5, [user(true)], rules), {
			rung: 1,
			phase: "implementing",
			reason: "kickoff",
			step: 0,
		});
		assert.deepEqual(decideCall("implementing", 5, history.slice(0, 2), rules), {
			rung: 2,
			phase: "implementing",
			reason: "step",
			step: 1,
		});
		const bumped = decideCall("implementing", 5, history, rules);
		assert.equal(bumped?.reason, "bump");
		assert.equal(bumped?.step, 2);
		assert.deepEqual(bumped?.trigger, { kind: "package-manager", tool: "bash", detail: "npm test" });
		assert.equal(decideCall("implementing", 5, [user()], rules)?.reason, "user-turn");
	});

	test("failed bash bumps the next call to rung 1, stepping continues at rung 2", () => {
		const r = rungs(
			5,
			[user(true)],
			[turn(), turn(), turn({ name: "bash", command: "make", isError: true }), turn(), turn(), turn()],
		);
		assert.deepEqual(r, [1, 2, 3, 1, 2, 3, 4]);
	});

	test("failed tool (not bash) bumps", () => {
		assert.deepEqual(
			rungs(5, [user(true)], [turn(), turn(), turn({ name: "edit", isError: true }), turn()]),
			[1, 2, 3, 1, 2],
		);
	});

	test("package-manager commands bump even when they succeed", () => {
		assert.deepEqual(
			rungs(5, [user(true)], [turn(), turn(), turn({ name: "bash", command: "pnpm test" }), turn()]),
			[1, 2, 3, 1, 2],
		);
	});

	test("a bump during a user follow-up also goes to rung 1", () => {
		assert.deepEqual(
			rungs(5, [user()], [turn(), turn({ name: "bash", command: "npm i", isError: true }), turn()]),
			[0, 1, 1, 2],
		);
	});

	test("one-rung ladder: everything on rung 0, bumps too", () => {
		assert.deepEqual(
			rungs(1, [user(true)], [turn(), turn({ name: "bash", command: "x", isError: true }), turn()]),
			[0, 0, 0, 0],
		);
	});

	test("two-rung ladder: kickoff and bumps on rung 1, the last rung repeats", () => {
		assert.deepEqual(rungs(2, [user(true)], [turn(), turn({ name: "edit", isError: true }), turn()]), [1, 1, 1, 1]);
		assert.deepEqual(rungs(2, [user()], [turn(), turn()]), [0, 1, 1]);
	});

	test("a failed or aborted call does not advance the cursor (the retry reuses its rung)", () => {
		const base = [user(true), ...turn(), ...turn()];
		const rung = decideCall("implementing", 5, base, rules)?.rung;
		assert.equal(rung, 3);
		assert.equal(decideCall("implementing", 5, [...base, failedCall("error")], rules)?.rung, 3);
		assert.equal(decideCall("implementing", 5, [...base, failedCall("aborted"), failedCall("error")], rules)?.rung, 3);
		// and it does not swallow a pending bump
		const bumpBase = [user(true), ...turn(), ...turn({ name: "bash", command: "npm test" })];
		assert.equal(decideCall("implementing", 5, [...bumpBase, failedCall()], rules)?.rung, 1);
	});

	test("steering (a user message mid-run) hands the next call to rung 0", () => {
		const r = rungs(5, [user(true)], [turn(), turn(), [user()], turn()]);
		assert.deepEqual(r, [1, 2, 3, 0, 1]);
	});

	test("only the tool results after the latest call count", () => {
		const history = [user(true), ...turn({ name: "edit", isError: true }), ...turn()];
		assert.equal(decideCall("implementing", 5, history, rules)?.rung, 2);
	});

	test("several tool results: the first trigger names the cause", () => {
		const history = [
			user(true),
			...turn(
				{ name: "read" },
				{ name: "bash", command: "yarn build", isError: true },
				{ name: "edit", isError: true },
			),
		];
		const d = decideCall("implementing", 5, history, rules);
		assert.equal(d?.reason, "bump");
		assert.deepEqual(d?.trigger, { kind: "failed-bash", tool: "bash", detail: "yarn build" });
	});

	test("bump rules can be switched off one by one", () => {
		const off: BumpRules = {
			...rules,
			bumpOnFailedBash: false,
			bumpOnFailedTool: false,
			bumpOnPackageManagerCommand: false,
		};
		const history = [
			user(true),
			...turn({ name: "bash", command: "npm test", isError: true }),
			...turn({ name: "edit", isError: true }),
		];
		assert.equal(decideCall("implementing", 5, history, off)?.rung, 3);
		const onlyPm: BumpRules = { ...off, bumpOnPackageManagerCommand: true };
		assert.equal(decideCall("implementing", 5, history.slice(0, 3), onlyPm)?.reason, "bump");
	});

	test("no user message at all (continuation): counts from the start", () => {
		assert.deepEqual(rungs(5, [], [turn(), turn()]), [0, 1, 2]);
	});

	test("implementing mode, empty history", () => {
		assert.equal(decideCall("implementing", 3, [], rules)?.rung, 0);
	});
});

describe("triggerOf", () => {
	test("failed bash, failed tool, package manager, nothing", () => {
		assert.equal(
			triggerOf({ toolName: "bash", isError: true }, { id: "1", name: "bash", command: "ls x" }, rules)?.kind,
			"failed-bash",
		);
		assert.equal(triggerOf({ toolName: "write", isError: true }, undefined, rules)?.kind, "failed-tool");
		assert.equal(
			triggerOf({ toolName: "bash", isError: false }, { id: "1", name: "bash", command: "bun test" }, rules)?.kind,
			"package-manager",
		);
		assert.equal(
			triggerOf({ toolName: "bash", isError: false }, { id: "1", name: "bash", command: "ls" }, rules),
			undefined,
		);
		assert.equal(triggerOf({ toolName: "read", isError: false }, undefined, rules), undefined);
	});

	test("failed bash without the call still bumps", () => {
		assert.deepEqual(triggerOf({ toolName: "bash", isError: true }, undefined, rules), {
			kind: "failed-bash",
			tool: "bash",
			detail: "",
		});
	});
});

describe("packageManagerIn", () => {
	const managers = ["npm", "pnpm", "yarn", "bun"];
	for (const [command, expected] of [
		["npm test", "npm"],
		["cd app && pnpm install", "pnpm"],
		["CI=1 yarn build", "yarn"],
		["time bun test", "bun"],
		["ls | npm run x", "npm"],
		["./node_modules/.bin/npm ci", "npm"],
		["echo npm", undefined],
		["npx vitest", undefined],
		["grep -r npm .", undefined],
		["", undefined],
	] as const) {
		test(JSON.stringify(command), () => assert.equal(packageManagerIn(command, managers), expected));
	}
	test("configurable list", () => assert.equal(packageManagerIn("cargo test", ["cargo"]), "cargo"));
});

describe("toCallMessages", () => {
	test("maps pi's messages", () => {
		const out = toCallMessages([
			{ role: "user", content: "hi" },
			{ role: "custom", customType: KICKOFF_TYPE, content: "go" },
			{ role: "custom", customType: "other", content: "x" },
			{
				role: "assistant",
				stopReason: "toolUse",
				content: [
					{ type: "text", text: "running" },
					{ type: "toolCall", id: "t1", name: "bash", arguments: { command: "npm test" } },
					{ type: "toolCall", id: "t2", name: "read", arguments: { path: "a" } },
				],
			},
			{ role: "toolResult", toolCallId: "t1", toolName: "bash", isError: true },
			{ role: "assistant", stopReason: "aborted", content: [] },
			{ role: "assistant", stopReason: "error", content: [] },
			{ role: "bashExecution" },
			{ role: "compactionSummary" },
		]);
		assert.deepEqual(out, [
			{ role: "user", kickoff: false },
			{ role: "user", kickoff: true },
			{ role: "user", kickoff: false },
			{
				role: "assistant",
				ok: true,
				toolCalls: [
					{ id: "t1", name: "bash", command: "npm test", args: '{"command":"npm test"}', path: undefined },
					{ id: "t2", name: "read", command: undefined, args: '{"path":"a"}', path: "a" },
				],
			},
			{ role: "toolResult", toolCallId: "t1", toolName: "bash", isError: true, errorText: "" },
			{ role: "assistant", ok: false, toolCalls: [] },
			{ role: "assistant", ok: false, toolCalls: [] },
			{ role: "user", kickoff: false },
			{ role: "user", kickoff: false },
		]);
	});

	test("tolerates odd content", () => {
		assert.deepEqual(toCallMessages([{ role: "assistant", content: "text" }]), [
			{ role: "assistant", ok: true, toolCalls: [] },
		]);
	});
});

describe("pi 1.x router messages (LLM messages, system messages, the kickoff as a user message)", () => {
	const kickoff = { role: "user", content: [{ type: "text", text: `${KICKOFF_TEXT}` }] };
	const system = { role: "system", content: "" };
	const tool = (id: string) => ({
		role: "assistant",
		content: [{ type: "toolCall", id, name: "read", arguments: {} }],
	});
	const result = (id: string) => ({ role: "toolResult", toolCallId: id, toolName: "read", isError: false });

	test("the kickoff is told apart by its marker; system messages are nobody's turn", () => {
		const messages = [
			system,
			{ role: "user", content: "plan it" },
			{ role: "assistant", content: [] },
			kickoff,
			system,
		];
		assert.deepEqual(toCallMessages(currentSegment(messages)), [{ role: "user", kickoff: true }]);
		assert.deepEqual(toCallMessages([{ role: "user", content: "[plan-stepdown: no" }]), [
			{ role: "user", kickoff: false },
		]);
		assert.deepEqual(toCallMessages([{ role: "user", content: KICKOFF_TEXT }]), [{ role: "user", kickoff: true }]);
	});

	test("a mid-run system patch does not restart the segment: stepping goes on", () => {
		const messages = [kickoff, tool("a"), result("a"), system, tool("b"), result("b")];
		const decision = decideCall("implementing", 5, toCallMessages(currentSegment(messages)), rules);
		assert.equal(decision?.rung, 3);
		assert.equal(decision?.reason, "step");
	});
});

describe("currentSegment", () => {
	const history = [
		{ role: "user" },
		{ role: "assistant", stopReason: "toolUse", content: [] },
		{ role: "toolResult", toolCallId: "a", toolName: "read" },
		{ role: "custom", customType: KICKOFF_TYPE },
		{ role: "assistant", stopReason: "toolUse", content: [] },
		{ role: "toolResult", toolCallId: "b", toolName: "bash", isError: true },
	];
	test("starts at the last user-role message", () => {
		assert.deepEqual(currentSegment(history), history.slice(3));
	});
	test("no user-role message: everything", () => {
		assert.equal(currentSegment(history.slice(1, 3)).length, 2);
		assert.deepEqual(currentSegment([]), []);
	});
	test("deciding on the segment is deciding on the whole history", () => {
		for (let n = 0; n <= history.length; n++) {
			const all = history.slice(0, n);
			assert.deepEqual(
				decideCall("implementing", 5, toCallMessages(currentSegment(all)), rules),
				decideCall("implementing", 5, toCallMessages(all), rules),
			);
		}
	});
});

describe("auxiliaryDecision (compaction, summaries)", () => {
	test("top of the ladder, never stepping", () => {
		assert.deepEqual(auxiliaryDecision("planning", 5, rules), {
			rung: 0,
			phase: "planning",
			reason: "planning",
			step: 0,
		});
		assert.deepEqual(auxiliaryDecision("implementing", 5, rules), {
			rung: 0,
			phase: "implementing",
			reason: "user-turn",
			step: 0,
		});
		assert.equal(auxiliaryDecision("off", 5, rules).rung, 0);
	});
});
