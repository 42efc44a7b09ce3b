/** Corrupted session entries never crash a command or print $NaN: each case was a reproduction in issue 10. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { callCosts, costTable, readUsage, summarize, summaryLine } from "../../src/accounting.ts";
import { statusText } from "../../src/report.ts";
import { CALL_TYPE, isCallEntry, isStateEntry, restoreState, STATE_TYPE } from "../../src/state.ts";

const state = (data: unknown) => ({ type: "custom", customType: STATE_TYPE, data });
const call = (data: unknown) => ({ type: "custom", customType: CALL_TYPE, data });
const good = { v: 1, rung: 1, phase: "implementing", reason: "step", model: "p/m", thinking: "high" };
const answer = (usage: unknown) => ({ type: "message", message: { role: "assistant", stopReason: "stop", usage } });
const prices = { input: 1, output: 2, cacheRead: 0.1, cacheWrite: 1 };

describe("state entries are validated field by field", () => {
	test('userTools: "bash" is not a state (so /stepdown-off never calls .filter on a string)', () => {
		assert.equal(isStateEntry({ v: 1, mode: "planning", autoApprove: false, userTools: "bash" }), false);
		assert.equal(isStateEntry({ v: 1, mode: "planning", autoApprove: false, userTools: ["bash", 3] }), false);
		assert.equal(isStateEntry({ v: 1, mode: "planning", autoApprove: "yes" }), false);
		assert.equal(isStateEntry({ v: 1, mode: "planning", autoApprove: false, userTools: ["bash"] }), true);
		const r = restoreState([state({ v: 1, mode: "planning", autoApprove: false, userTools: "bash" })]);
		assert.equal(r.state.mode, "off", "the corrupted entry is skipped");
	});
	test("call entries: rung, phase, reason, model, thinking and trigger all checked", () => {
		assert.equal(isCallEntry(good), true);
		for (const bad of [
			{ rung: Number.NaN },
			{ rung: -1 },
			{ rung: 1.5 },
			{ rung: 1e12 },
			{ rung: "1" },
			{ phase: "x" },
			{ reason: 5 },
			{ thinking: null },
			{ model: 1 },
			{ trigger: "bash" },
		]) {
			assert.equal(isCallEntry({ ...good, ...bad }), false, JSON.stringify(bad));
		}
		assert.equal(isCallEntry(null), false);
		assert.equal(isCallEntry([]), false);
	});
	test("a NaN rung never reaches the status line", () => {
		const r = restoreState([
			state({ v: 1, mode: "implementing", autoApprove: false }),
			call({ ...good, rung: Number.NaN }),
			answer({}),
		]);
		assert.equal(r.lastCall, undefined);
		assert.doesNotMatch(String(statusText("implementing", undefined, r.cursor, 2, "p/m", "high", false)), /NaN/);
	});
});

describe("usage and cost are validated", () => {
	test("strings, NaN, negative and huge figures make the call count as zero, flagged", () => {
		for (const usage of [
			{ input: "100", cost: { total: 1 } },
			{ input: 10, cost: { total: "0.5" } },
			{ input: Number.NaN },
			{ output: -5 },
			{ input: 1e15 },
			{ cost: { total: 1e9 } },
			{ cost: "free" },
			"usage",
		]) {
			const u = readUsage(usage);
			assert.equal(u.invalid, true, JSON.stringify(usage));
			assert.equal(u.cost, 0);
		}
		assert.deepEqual(readUsage(undefined), {
			tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
			cost: 0,
			invalid: false,
		});
	});
	test("the /stepdown table and the headless summary print no $NaN, NaN or absurd percentages", () => {
		const branch = [
			call(good),
			answer({ input: "100", output: 5, cost: { total: "0.1" } }),
			call(good),
			answer({ input: 2000, output: 100, cacheRead: Number.NaN, cost: { total: 0.01 } }),
			call(good),
			answer({ input: 1e15, output: 1, cost: { total: 0.01 } }),
			call(good),
			answer({ input: 1000, output: 100, cost: { total: 0.002 } }),
		];
		const s = summarize(callCosts(branch), prices);
		const text = [...costTable(s), summaryLine(s)].join("\n");
		assert.doesNotMatch(text, /NaN|Infinity/);
		assert.equal(s.invalid, 3);
		assert.match(text, /3 calls with unreadable usage in the session \(counted as \$0\)/);
		assert.equal(s.cost, 0.002);
		assert.ok(Number.isFinite(s.savingsPct ?? 0));
		assert.doesNotMatch(text, /\d{5,}\.\d%/, "no absurd percentages");
	});
	test("a percentage that means nothing prints n/a", () => {
		const s = summarize(callCosts([call(good), answer({ input: 1, output: 1, cost: { total: 5 } })]), {
			input: 1e-9,
			output: 1e-9,
			cacheRead: 0,
			cacheWrite: 0,
		});
		assert.match(costTable(s).join("\n"), /saved -\$5\.0000 \(n\/a\)/);
	});
});
