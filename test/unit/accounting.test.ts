import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { callCosts, price, summarize, summaryLine } from "../../src/accounting.ts";
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
const answer = (input: number, output: number, cost: number, stopReason = "stop", cacheRead = 0) => ({
	type: "message",
	message: { role: "assistant", stopReason, usage: { input, output, cacheRead, cacheWrite: 0, cost: { total: cost } } },
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
				[0, 400, 0.003, false, -1],
				[1, 500, 0.002, false, -1],
			],
		);
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
		const flat = price({ input: 10000, output: 400, cacheRead: 1000, cacheWrite: 0 }, prices);
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

	test("rung 0 prices unknown: no counterfactual", () => {
		const s = summarize(callCosts([call(1), answer(1, 1, 0.1)]), undefined);
		assert.equal(s.flatCost, undefined);
		assert.equal(s.savings, undefined);
		assert.equal(summaryLine(s), "plan-stepdown: 1 calls, $0.1000, 0 bumps");
	});

	test("price is per million tokens", () => {
		assert.equal(price({ input: 1_000_000, output: 0, cacheRead: 0, cacheWrite: 0 }, prices), 5);
		assert.equal(price({ input: 0, output: 500_000, cacheRead: 2_000_000, cacheWrite: 0 }, prices), 21);
	});
});
