import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { extractSteps, progressError, progressLines, restoreSteps, stepViews } from "../../src/plan-steps.ts";
import { stepLines } from "../../src/report.ts";
import { CALL_TYPE } from "../../src/state.ts";
import { stepCosts, stepsData } from "../../src/step-costs.ts";

const texts = (plan: string) => extractSteps(plan).map((s) => `${s.n} ${s.text}`);

describe("extractSteps", () => {
	const shapes: [string, string, string[]][] = [
		["1.", "Plan:\n1. Create hello.txt\n2. Check it with cat", ["1 Create hello.txt", "2 Check it with cat"]],
		["1)", "Plan:\n1) Add the flag\n2) Test it", ["1 Add the flag", "2 Test it"]],
		["checkboxes", "- [ ] Write the parser\n- [x] Read the spec", ["1 Write the parser", "2 Read the spec"]],
		[
			"nested bullets join their step",
			"Plan:\n1. Edit src/a.ts\n   - rename foo\n   - keep bar\n2. Run npm test",
			["1 Edit src/a.ts; rename foo; keep bar", "2 Run npm test"],
		],
		["bold step names", "1. **Parse** the input\n2. **Print** it", ["1 Parse the input", "2 Print it"]],
		["bullets when nothing is numbered", "Plan:\n- one\n- two", ["1 one", "2 two"]],
		["prose around the list", "I looked at it.\n\nPlan:\n1. a\n2. b\n\nThat is all.", ["1 a", "2 b"]],
		["no list", "Nothing to do here.", []],
	];
	for (const [name, plan, expected] of shapes) test(name, () => assert.deepEqual(texts(plan), expected));
});

describe("progress", () => {
	const steps = extractSteps("1. a\n2. b\n3. c");
	test("the latest report per step wins; the widget shows checks and the rung/model that did it", () => {
		const views = stepViews(steps, [
			{ v: 1, step: 1, status: "in_progress", rung: 1, model: "p/m1" },
			{ v: 1, step: 1, status: "done", rung: 2, model: "p/m2" },
			{ v: 1, step: 3, status: "skipped", rung: 2, model: "p/m2" },
		]);
		assert.deepEqual(progressLines(views), ["plan: 1/3 steps done", "☑ 1. a  [2] p/m2", "☐ 2. b", "– 3. c  [2] p/m2"]);
	});
	test("a report on a step that does not exist, or with an unknown status, is refused", () => {
		assert.equal(progressError(steps, 2, "done"), undefined);
		assert.match(progressError(steps, 4, "done") ?? "", /from 1 to 3/);
		assert.match(progressError(steps, 1.5, "done") ?? "", /whole number/);
		assert.match(progressError(steps, 1, "finished") ?? "", /status must be/);
		assert.match(progressError([], 1, "done") ?? "", /no approved plan/);
	});
});

describe("restoreSteps", () => {
	const custom = (customType: string, data: unknown) => ({ type: "custom", customType, data });
	test("the latest plan's steps and only the progress reported since", () => {
		const p = (step: number) => ({ v: 1, step, status: "done", rung: 1, model: "p/m" });
		const r = restoreSteps([
			custom("plan-stepdown:steps", { v: 1, steps: [{ n: 1, text: "old" }] }),
			custom("plan-stepdown:progress", p(1)),
			custom("plan-stepdown:steps", {
				v: 1,
				steps: [
					{ n: 1, text: "a" },
					{ n: 2, text: "b" },
				],
			}),
			custom("plan-stepdown:progress", p(2)),
			custom("plan-stepdown:progress", { v: 1, step: "2" }),
		]);
		assert.deepEqual(
			r.steps.map((s) => s.text),
			["a", "b"],
		);
		assert.deepEqual(
			r.progress.map((x) => x.step),
			[2],
		);
	});
});

describe("restoreSteps over the branches of one session tree", () => {
	const custom = (customType: string, data: unknown) => ({ type: "custom", customType, data });
	const p = (step: number) => custom("plan-stepdown:progress", { v: 1, step, status: "done", rung: 1, model: "p/m" });
	const plan = (...texts: string[]) =>
		custom("plan-stepdown:steps", { v: 1, steps: texts.map((text, i) => ({ n: i + 1, text })) });
	const user = { type: "message", message: { role: "user" } };
	// root → plan A approved → step 1 → (a) step 2 | (b) a new plan B approved → its step 1
	const trunk = [user, plan("a1", "a2"), p(1)];
	const branchA = [...trunk, user, p(2)];
	const branchB = [...trunk, user, plan("b1", "b2", "b3"), p(1)];
	const done = (branch: readonly { type: string }[]) => {
		const { steps, progress } = restoreSteps(branch);
		const views = stepViews(steps, progress);
		return `${views.filter((v) => v.status === "done").length}/${views.length} ${steps.map((x) => x.text).join(",")}`;
	};
	test("each branch has its own plan and progress", () => {
		assert.equal(done(branchA), "2/2 a1,a2");
		assert.equal(done(branchB), "1/3 b1,b2,b3", "B's plan replaces A's, and A's progress does not carry over");
	});
	test("an earlier point (/tree) or a fork before a report sees only what was on the branch then", () => {
		assert.equal(done(trunk), "1/2 a1,a2");
		assert.equal(done(trunk.slice(0, 2)), "0/2 a1,a2", "approved, nothing reported yet");
		assert.equal(done([user]), "0/0 ", "before the approval: no plan");
	});
});

describe("stepCosts", () => {
	const custom = (customType: string, data: unknown) => ({ type: "custom", customType, data });
	const call = (phase: string) =>
		custom(CALL_TYPE, { v: 1, rung: 1, phase, reason: "step", model: "p/m", thinking: "low" });
	const answer = (cost: number) => ({
		type: "message",
		message: { role: "assistant", usage: { cost: { total: cost } } },
	});
	const report = (step: number, status = "done") =>
		custom("plan-stepdown:progress", { v: 1, step, status, rung: 2, model: "p/m2" });
	const steps = custom("plan-stepdown:steps", {
		v: 1,
		steps: [
			{ n: 1, text: "a" },
			{ n: 2, text: "b" },
			{ n: 3, text: "c" },
		],
	});
	const branch = [
		call("planning"),
		answer(5), // planning, before the plan: no step's
		steps,
		call("implementing"),
		answer(0.01),
		call("implementing"),
		answer(0.02),
		report(1, "in_progress"), // the calls up to a report are the reported step's, whatever the status
		call("implementing"),
		answer(0.03),
		report(1),
		call("implementing"),
		answer(0.04),
		report(3, "skipped"),
		call("implementing"),
		answer(0.001), // the closing answer: after the last report
	];

	test("a step is charged the calls since the previous report, up to the call that reported it", () => {
		const costs = stepCosts(branch);
		assert.deepEqual(
			[...costs.perStep].map(([n, c]) => `${n} ${c.toFixed(3)}`),
			["1 0.060", "3 0.040"],
		);
		assert.equal(costs.unreported.toFixed(3), "0.001");
	});

	test("a new plan starts from zero; no plan, nothing charged to a step", () => {
		assert.deepEqual([...stepCosts([...branch, steps]).perStep], []);
		assert.equal(stepCosts([...branch, steps]).unreported, 0);
		assert.equal(stepCosts([call("implementing"), answer(1)]).perStep.size, 0);
		// A planning call (a /plan after the approval) is no step's work.
		assert.deepEqual([...stepCosts([steps, call("planning"), answer(1), report(1)]).perStep], [[1, 0]]);
	});

	test("/stepdown lines and the summary data: done/total, per step status, rung/model and cost", () => {
		const { steps: restored, progress } = restoreSteps(branch);
		const views = stepViews(restored, progress);
		const costs = stepCosts(branch);
		assert.deepEqual(stepLines(views, costs), [
			"plan: 1/3 steps done",
			"☑ 1. a  [2] p/m2  $0.0600",
			"☐ 2. b  $0.0000",
			"– 3. c  [2] p/m2  $0.0400",
			"  after the last progress report: $0.0010",
		]);
		const data = stepsData(views, costs);
		assert.deepEqual([data.done, data.total], [1, 3]);
		assert.deepEqual(data.steps[0], { n: 1, text: "a", status: "done", rung: 2, model: "p/m2", cost: 0.06 });
		assert.deepEqual(stepLines([], costs), []);
	});
});
