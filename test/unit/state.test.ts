import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CALL_TYPE, type CallEntry, OFF_STATE, restoreState, STATE_TYPE, type StateEntry } from "../../src/state.ts";

const stateEntry = (data: StateEntry) => ({ type: "custom", customType: STATE_TYPE, data });
const call = (rung: number, over: Partial<CallEntry> = {}) => ({
	type: "custom",
	customType: CALL_TYPE,
	data: { v: 1, rung, phase: "implementing", reason: "step", model: "p/m", thinking: "high", ...over } as CallEntry,
});
const assistant = (stopReason = "stop") => ({ type: "message", message: { role: "assistant", stopReason } });

describe("restoreState", () => {
	test("empty branch: off", () => {
		assert.deepEqual(restoreState([]), { state: OFF_STATE, cursor: 0, lastCall: undefined });
	});

	test("the last state entry wins", () => {
		const planning: StateEntry = { v: 1, mode: "planning", autoApprove: false, userTools: ["read", "edit"] };
		const impl: StateEntry = { v: 1, mode: "implementing", autoApprove: true };
		assert.deepEqual(restoreState([stateEntry(planning), stateEntry(impl)]).state, impl);
		assert.deepEqual(restoreState([stateEntry(impl), stateEntry(planning)]).state, planning);
	});

	test("a clean end puts the cursor back to 0", () => {
		const r = restoreState([
			stateEntry({ v: 1, mode: "implementing", autoApprove: false }),
			call(1),
			assistant("toolUse"),
			call(2),
			assistant(),
		]);
		assert.equal(r.cursor, 0);
		assert.equal(r.lastCall?.rung, 2);
	});

	test("an aborted or failed last call keeps its rung (resume shows where it stopped)", () => {
		for (const stop of ["aborted", "error"]) {
			const r = restoreState([
				stateEntry({ v: 1, mode: "implementing", autoApprove: false }),
				call(1),
				assistant("toolUse"),
				call(3),
				assistant(stop),
			]);
			assert.equal(r.cursor, 3);
		}
	});

	test("a call that never answered (killed mid-call) is not a failure", () => {
		const r = restoreState([stateEntry({ v: 1, mode: "implementing", autoApprove: false }), call(2)]);
		assert.equal(r.cursor, 0);
	});

	test("a state change after the calls resets what the calls said", () => {
		const r = restoreState([call(3), assistant("aborted"), stateEntry({ v: 1, mode: "planning", autoApprove: false })]);
		assert.equal(r.cursor, 0);
		assert.equal(r.lastCall, undefined);
	});

	test("mode off never has a cursor", () => {
		assert.equal(restoreState([stateEntry(OFF_STATE), call(3), assistant("aborted")]).cursor, 0);
	});

	test("foreign and malformed entries are ignored", () => {
		const r = restoreState([
			{ type: "custom", customType: STATE_TYPE, data: { v: 2, mode: "planning" } },
			{ type: "custom", customType: STATE_TYPE, data: { v: 1, mode: "dancing" } },
			{ type: "custom", customType: "other", data: { v: 1, mode: "planning" } },
			{ type: "custom", customType: CALL_TYPE, data: { v: 1, rung: "x" } },
			{ type: "message", message: { role: "user" } },
		]);
		assert.deepEqual(r, { state: OFF_STATE, cursor: 0, lastCall: undefined });
	});
});
