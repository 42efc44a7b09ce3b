import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	callCosts,
	costTable,
	flatTokens,
	MIN_CACHED_PROMPT,
	price,
	summarize,
	summaryLine,
	usd,
} from "../../src/accounting.ts";
import { CALL_TYPE, type CallEntry } from "../../src/state.ts";

const call = (rung: number, over: Partial<CallEntry> = {}) => ({
	type: "custom",
	customType: CALL_TYPE,
	data: {
		v: 1,
		rung,
		phase: "implementing",
		reason: "step",
		model: `p/m${rung}`,
		thinking: "high",
		...over,
	} as CallEntry,
});
const answer = (input: number, output: number, cost: number, stopReason = "stop", cacheRead = 0, cacheWrite = 0) => ({
	type: "message",
	message: { role: "assistant", stopReason, usage: { input, output, cacheRead, cacheWrite, cost: { total: cost } } },
});

describe("callCosts", () => {
	test("joins each call record with the assistant message after it", () => {
		const rows = callCosts([
			call(0, { phase: "planning", reason: "planning" }),
			{ type: "message", message: { role: "user" } },
			answer(100, 10, 0.01),
			call(1, { reason: "kickoff" }),
			answer(200, 20, 0.002),
			{ type: "custom", customType: "other" },
			answer(999, 999, 9), // an assistant message without a call record (mode off) is not counted
			call(2),
			answer(300, 30, 0.001, "error"),
			{ type: "message", message: { role: "user" } },
			call(0, { reason: "user-turn" }),
			answer(400, 40, 0.003),
			call(1),
			answer(500, 50, 0.002),
		]);
		assert.deepEqual(
			rows.map((r) => [r.call.rung, r.tokens.input, r.cost, r.failed, r.run]),
			[
				[0, 100, 0.01, false, -1],
				[1, 200, 0.002, false, 0],
				[2, 300, 0.001, true, 0],
				[0, 400, 0.003, false, 1],
				[1, 500, 0.002, false, 1],
			],
		);
	});

	test("a retried kickoff or user turn stays in its run; a new prompt or kickoff opens the next", () => {
		const kickoff = { type: "custom_message", customType: "plan-stepdown:implement" };
		const user = { type: "message", message: { role: "user" } };
		const rows = callCosts([
			kickoff,
			call(1, { reason: "kickoff" }),
			answer(0, 0, 0, "error"),
			call(1, { reason: "kickoff" }), // pi's retry: no new message in between
			answer(100, 10, 0.001),
			user,
			call(0, { reason: "user-turn" }),
			answer(100, 10, 0.001, "aborted"),
			call(0, { reason: "user-turn" }),
			answer(100, 10, 0.001),
			user,
			call(0, { reason: "user-turn" }),
			answer(100, 10, 0.001),
			call(0, { phase: "planning", reason: "planning" }),
			answer(100, 10, 0.001),
			kickoff,
			call(1, { reason: "kickoff" }),
			answer(100, 10, 0.001),
		]);
		assert.deepEqual(
			rows.map((r) => r.run),
			[0, 0, 1, 1, 2, -1, 3],
		);
		const s = summarize(rows, { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 });
		assert.deepEqual(
			s.runs.map((r) => [r.start, r.calls]),
			[
				["kickoff", 2],
				["follow-up", 2],
				["follow-up", 1],
				["kickoff", 1],
			],
		);
		assert.equal(s.lastRun, s.runs[3]);
	});
});

describe("summarize", () => {
	const prices = { input: 5, output: 40, cacheRead: 0.5, cacheWrite: 0 };
	test("per rung, flat rung 0 counterfactual, savings, bumps, last run", () => {
		const rows = callCosts([
			call(0, { phase: "planning", reason: "planning" }),
			answer(1000, 100, 0.009),
			call(1, { reason: "kickoff" }),
			answer(2000, 100, 0.004),
			call(2),
			answer(3000, 100, 0.003, "stop", 1000),
			call(1, { reason: "bump", trigger: { kind: "failed-bash", tool: "bash", detail: "npm test" } }),
			answer(4000, 100, 0.005),
		]);
		const s = summarize(rows, prices);
		assert.equal(s.calls, 4);
		assert.equal(s.failed, 0);
		assert.equal(Number(s.cost.toFixed(6)), 0.021);
		// Rungs 1 and 2 are different models: flat rung 0 would have read the previous prompt from its cache on the
		// third call (2,000 of its 4,000; it read 1,000 itself) and the fourth (all 4,000).
		const flat = price({ input: 5000, output: 400, cacheRead: 6000, cacheWrite: 0 }, prices);
		assert.equal(Number((s.flatCost ?? 0).toFixed(6)), Number(flat.toFixed(6)));
		assert.equal(Number((s.savings ?? 0).toFixed(6)), Number((flat - 0.021).toFixed(6)));
		assert.ok((s.savingsPct ?? 0) > 0);
		assert.deepEqual(
			s.perRung.map((r) => [r.rung, r.calls, r.input, r.models]),
			[
				[0, 1, 1000, ["p/m0"]],
				[1, 2, 6000, ["p/m1"]],
				[2, 1, 3000, ["p/m2"]],
			],
		);
		assert.deepEqual(s.bumps, [{ rung: 1, trigger: { kind: "failed-bash", tool: "bash", detail: "npm test" } }]);
		assert.equal(s.lastRun?.calls, 3);
		assert.match(s.table.join("\n"), /flat rung 0/);
		assert.match(s.table.join("\n"), /failed-bash: npm test/);
		assert.match(
			summaryLine(s),
			/^plan-stepdown: 4 calls, \$0\.0210 \(flat rung 0: \$\d+\.\d{4}, saved \d+\.\d%\), 1 bump$/,
		);
	});

	test("escalations to rung 0 are listed apart from bumps, in the table and the summary line", () => {
		const loop = { kind: "same-tool-call" as const, tool: "read", detail: 'read {"path":"x"}' };
		const s = summarize(
			callCosts([
				call(1, { reason: "kickoff" }),
				answer(100, 10, 0.001),
				call(0, { reason: "escalation", trigger: loop }),
				answer(100, 10, 0.01),
			]),
			undefined,
		);
		assert.deepEqual(s.escalations, [loop]);
		assert.deepEqual(s.bumps, []);
		assert.match(s.table.join("\n"), /escalations to rung 0:\n {4}after same-tool-call \(read\): read \{"path":"x"\}/);
		assert.equal(summaryLine(s), "plan-stepdown: 2 calls, $0.0110, 0 bumps, 1 escalation");
	});

	test("rung 0 prices unknown: no counterfactual", () => {
		const s = summarize(callCosts([call(1), answer(1, 1, 0.1)]), undefined);
		assert.equal(s.flatCost, undefined);
		assert.equal(s.savings, undefined);
		assert.equal(summaryLine(s), "plan-stepdown: 1 call, $0.1000, 0 bumps");
	});

	test("a session that ended on a failed call: the summary line names its rung, model and error", () => {
		const failed = { type: "message", message: { ...answer(0, 0, 0, "error").message, errorMessage: "500 boom" } };
		const s = summarize(callCosts([call(0), answer(1, 1, 0.1), call(2), failed]), undefined);
		assert.deepEqual(s.lastFailure, { rung: 2, model: "p/m2", error: "500 boom" });
		assert.match(summaryLine(s), /, 0 bumps; the last call failed: rung 2 p\/m2: 500 boom$/);
		// A provider's multi-line error stays on the one summary line.
		const multi = { type: "message", message: { ...failed.message, errorMessage: '500 boom\n  {\n  "detail": 1 }\n' } };
		assert.match(summaryLine(summarize(callCosts([call(2), multi]), undefined)), /: 500 boom \{ "detail": 1 \}$/);
		// A failure that was retried successfully is not how the session ended.
		assert.equal(summarize(callCosts([call(2), failed, call(2), answer(1, 1, 0.1)]), undefined).lastFailure, undefined);
	});

	test("a saving that rounds to zero prints 0.0%, never -0.0%", () => {
		const s = { ...summarize(callCosts([call(0), answer(1, 1, 0.1)]), undefined), flatCost: 0.1, savingsPct: -0.02 };
		assert.match(summaryLine(s), /saved 0\.0%\)/);
	});

	test("a tiny negative saving in the cost table prints $0.0000 (0.0%), a real one -$x; never $-0.0000", () => {
		const base = summarize(callCosts([call(0), answer(1, 1, 0.1)]), undefined);
		const tiny = costTable({ ...base, flatCost: 0.1, savings: -0.00001, savingsPct: -0.01 }).join("\n");
		assert.match(tiny, /; saved \$0\.0000 \(0\.0%\)$/m);
		const real = costTable({ ...base, flatCost: 0.1, savings: -0.0123, savingsPct: -12.3 }).join("\n");
		assert.match(real, /; saved -\$0\.0123 \(-12\.3%\)$/m);
		assert.equal(usd(-0), "$0.0000");
		assert.equal(usd(Number.NaN), "$?");
	});

	test("the plan's steps join the summary line whenever the plan has steps, 0/N when none was reported", () => {
		const s = summarize(callCosts([call(1), answer(1, 1, 0.1)]), undefined);
		assert.equal(summaryLine(s, { done: 1, total: 3 }), "plan-stepdown: 1 call, $0.1000, 0 bumps, 1/3 steps done");
		assert.equal(summaryLine(s, { done: 0, total: 3 }), "plan-stepdown: 1 call, $0.1000, 0 bumps, 0/3 steps done");
		assert.equal(summaryLine(s, { done: 0, total: 0 }), "plan-stepdown: 1 call, $0.1000, 0 bumps");
	});

	test("price is per million tokens", () => {
		assert.equal(price({ input: 1_000_000, output: 0, cacheRead: 0, cacheWrite: 0 }, prices), 5);
		assert.equal(price({ input: 0, output: 500_000, cacheRead: 2_000_000, cacheWrite: 0 }, prices), 21);
	});
});

describe("flat rung 0 keeps the prompt cache a rung switch threw away", () => {
	const t = (input: number, cacheRead = 0, cacheWrite = 0, output = 50) => ({ input, output, cacheRead, cacheWrite });

	test("flatTokens: the previous prompt moves from input, then from cache writes, to cache reads", () => {
		assert.deepEqual(flatTokens(t(5000), 4000), t(1000, 4000));
		assert.deepEqual(flatTokens(t(1000, 3000), 3800), t(200, 3800), "adds to what the call itself read");
		assert.deepEqual(flatTokens(t(300, 3000, 2000), 4500), t(0, 4500, 800), "Anthropic: writes become reads");
		assert.deepEqual(flatTokens(t(2000), 9000), t(0, 2000), "never more than the call's own prompt");
		assert.deepEqual(flatTokens(t(5000, 4000), 3000), t(5000, 4000), "the call already read more: as recorded");
		assert.deepEqual(flatTokens(t(5000), undefined), t(5000));
		assert.deepEqual(flatTokens(t(5000), MIN_CACHED_PROMPT - 1), t(5000), "too short to be cached at all");
		assert.deepEqual(flatTokens(t(5000), MIN_CACHED_PROMPT), t(5000 - MIN_CACHED_PROMPT, MIN_CACHED_PROMPT));
	});

	test("credited on a switch of model inside a phase only", () => {
		const flat = (branch: Parameters<typeof callCosts>[0]) => callCosts(branch).map((c) => c.flatTokens.cacheRead);
		// planning on m0, kickoff on m1 (phase change: new system prompt and tools, no credit), m2 (switch), m2 (same).
		assert.deepEqual(
			flat([
				call(0, { phase: "planning", reason: "planning", model: "p/m0" }),
				answer(4000, 10, 0),
				call(0, { phase: "planning", reason: "planning", model: "p/m0" }),
				answer(1000, 10, 0, "stop", 4000),
				call(1, { reason: "kickoff" }),
				answer(6000, 10, 0),
				call(2),
				answer(7000, 10, 0),
				call(2),
				answer(500, 10, 0, "stop", 7000),
				call(0, { reason: "user-turn", model: "p/m0" }),
				answer(2500, 10, 0, "stop", 5000),
			]),
			[0, 4000, 0, 6000, 7000, 7500],
		);
	});

	test("an effort change on the same model is a switch too: credited only with what the call did not read", () => {
		const flat = (cacheRead: number) =>
			callCosts([
				call(1, { model: "p/m", thinking: "high" }),
				answer(6000, 10, 0),
				call(2, { model: "p/m", thinking: "low" }),
				answer(7000 - cacheRead, 10, 0, "stop", cacheRead),
			]).map((c) => c.flatTokens.cacheRead);
		assert.deepEqual(flat(0), [0, 6000], "the provider keyed its cache on the effort: flat gets it back");
		assert.deepEqual(flat(6000), [0, 6000], "the cache survived the change: nothing to credit");
	});

	test("no credit across a compaction, a branch summary or a call this extension did not route", () => {
		const flat = (between: Parameters<typeof callCosts>[0][number]) =>
			callCosts([call(1), answer(6000, 10, 0), between, call(2), answer(7000, 10, 0)]).map(
				(c) => c.flatTokens.cacheRead,
			);
		assert.deepEqual(flat({ type: "message", message: { role: "user" } }), [0, 6000]);
		assert.deepEqual(flat({ type: "compaction" }), [0, 0]);
		assert.deepEqual(flat({ type: "branch_summary" }), [0, 0]);
		assert.deepEqual(flat(answer(9000, 10, 0)), [0, 0]);
	});

	test("a failed call that sent nothing leaves the previous prompt in place", () => {
		const rows = callCosts([
			call(1),
			answer(6000, 10, 0),
			call(2),
			answer(0, 0, 0, "error"),
			call(3),
			answer(7000, 10, 0),
		]);
		assert.deepEqual(
			rows.map((c) => c.flatTokens.cacheRead),
			[0, 0, 6000],
		);
	});

	test("summary: flat priced with the credited tokens, the lost cache reported, planning and implementing apart", () => {
		const prices = { input: 5, output: 40, cacheRead: 0.5, cacheWrite: 0 };
		const s = summarize(
			callCosts([
				call(0, { phase: "planning", reason: "planning", model: "p/m0" }),
				answer(4000, 100, 0.024),
				call(1, { reason: "kickoff" }),
				answer(5000, 100, 0.01),
				call(2),
				answer(6000, 100, 0.002),
			]),
			prices,
		);
		const planning = price(t(4000, 0, 0, 100), prices);
		const implementing = price(t(5000, 0, 0, 100), prices) + price(t(1000, 5000, 0, 100), prices);
		assert.equal(s.cacheLostTokens, 5000);
		assert.equal((s.flatCost ?? 0).toFixed(9), (planning + implementing).toFixed(9));
		assert.deepEqual(s.perPhase.planning, { calls: 1, cost: 0.024, flatCost: planning });
		assert.equal(s.perPhase.implementing.calls, 2);
		assert.equal(s.perPhase.implementing.flatCost?.toFixed(9), implementing.toFixed(9));
		const table = s.table.join("\n");
		assert.match(table, /^ {2}planning \(rung 0\): 1 call, \$0\.0240$/m);
		assert.match(table, /^ {2}implementing: 2 calls, \$0\.0120 \(flat rung 0: \$0\.0405, 29\.6% of it\)$/m);
		assert.match(table, /^ {2}prompt cache lost to rung switches: 5000 tokens read uncached/m);
	});
});
