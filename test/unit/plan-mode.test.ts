import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	type Effect,
	type HostCaps,
	INITIAL_STATE,
	type PlanModeEvent,
	type PlanModeState,
	planToolRefusal,
	RUNAWAY_TURNS_PER_RUN,
	reduce,
	refusesInput,
	toolsForMode,
} from "../../src/plan-mode.ts";
import type { StateEntry } from "../../src/state.ts";

const TOOLS = { plan: ["read", "bash", "grep"], implementation: ["read", "bash", "edit", "write"] };
const PI0: HostCaps = { toolsSwitchInRun: false };
const PI1: HostCaps = { toolsSwitchInRun: true };
const USER_MODEL = { provider: "oai", id: "gpt-mid", thinking: "medium" };
const USER_TOOLS = ["read", "bash", "edit", "write", "mytool"];
/** Implementing adds the extension's own progress tool to the configured implementation tools. */
const IMPL_TOOLS = [...TOOLS.implementation, "plan_progress"];

const off: StateEntry = { v: 1, mode: "off", autoApprove: false };
const restoredOf = (state: StateEntry, cursor = 0) => ({ state, cursor });

const start = (over: Partial<Extract<PlanModeEvent, { type: "start" }>> = {}): PlanModeEvent => ({
	type: "start",
	reason: "startup",
	restored: restoredOf(off),
	autoFlag: false,
	headless: false,
	configIssues: [],
	activeTools: USER_TOOLS,
	userModel: USER_MODEL,
	...over,
});
const plan = (over: Partial<Extract<PlanModeEvent, { type: "plan" }>> = {}): PlanModeEvent => ({
	type: "plan",
	task: "",
	autoFlag: false,
	headless: false,
	activeTools: USER_TOOLS,
	userModel: USER_MODEL,
	planningModel: "[0] oai/gpt-big:high",
	...over,
});

/** Run events from a state; returns the final state and every effect in order. */
function run(events: PlanModeEvent[], caps = PI0, from: PlanModeState = INITIAL_STATE) {
	let state = from;
	const effects: Effect[] = [];
	for (const event of events) {
		const step = reduce(state, event, TOOLS, caps);
		state = step.state;
		effects.push(...step.effects);
	}
	return { state, effects };
}

const types = (effects: Effect[]) => effects.map((e) => e.type);
const find = <T extends Effect["type"]>(effects: Effect[], type: T) =>
	effects.filter((e): e is Extract<Effect, { type: T }> => e.type === type);

describe("plan-mode reducer", () => {
	test("/plan: planning persisted with the user's tools and model, routed, plan tools, status, notice, task", () => {
		const { state, effects } = run([plan({ task: "add a flag" })]);
		assert.equal(state.mode, "planning");
		assert.deepEqual(types(effects), ["persist", "route", "tools", "status", "say", "prompt"]);
		assert.deepEqual(find(effects, "persist")[0].entry, {
			v: 1,
			mode: "planning",
			autoApprove: false,
			userTools: USER_TOOLS,
			userModel: USER_MODEL,
		});
		assert.deepEqual(find(effects, "tools")[0].names, ["read", "bash", "grep"]);
		assert.deepEqual(find(effects, "prompt")[0], { type: "prompt", text: "add a flag", followUp: false });
	});

	test("/plan with no ladder says so once, in the TUI and headless (a warning reaches stderr)", () => {
		for (const headless of [false, true]) {
			const help = { userConfig: "/home/me/.pi/agent/plan-stepdown.json", schema: "/pkg/plan-stepdown.schema.json" };
			const says = find(run([plan({ ladderEmpty: help, headless })]).effects, "say");
			assert.equal(says.length, 1);
			assert.equal(says[0].level, "warning");
			assert.equal(
				says[0].text,
				'plan-stepdown: plan mode on, but no ladder is configured, so every call uses your current model. Add a ladder to .pi/plan-stepdown.json or /home/me/.pi/agent/plan-stepdown.json ("$schema": "/pkg/plan-stepdown.schema.json").',
			);
		}
	});

	test("/plan refused: nothing changes; headless it also exits 2", () => {
		for (const headless of [false, true]) {
			const { state, effects } = run([plan({ blocker: "ladder[0]: unknown model", headless })]);
			assert.equal(state, INITIAL_STATE);
			assert.deepEqual(types(effects), headless ? ["say", "exit-code"] : ["say"]);
			assert.match(find(effects, "say")[0].text, /\/plan refused:\nladder\[0\]: unknown model/);
		}
	});

	test("/plan while an implementation run is working is refused (its answer would be offered as a plan)", () => {
		const implementing = run([plan(), { type: "approval", choice: "start" }, { type: "run-start" }]).state;
		const { state, effects } = run([plan({ task: "other" })], PI0, implementing);
		assert.equal(state.mode, "implementing");
		assert.match(find(effects, "say")[0].text, /still implementing/);
	});

	test("the progress tool is the mode's: never saved as one of the user's tools", () => {
		const { state } = run([plan({ activeTools: [...USER_TOOLS, "plan_progress"] })]);
		assert.deepEqual(state.userTools, USER_TOOLS);
	});

	test("/plan again while planning keeps the tools and model the user had before the first /plan", () => {
		const { state } = run([plan(), plan({ activeTools: ["read"], userModel: undefined })]);
		assert.deepEqual(state.userTools, USER_TOOLS);
		assert.deepEqual(state.userModel, USER_MODEL);
	});

	test("auto-approve: pi 0.73.1 starts the run with both tool sets, pi 1.x with the plan tools", () => {
		assert.deepEqual(toolsForMode("planning", true, TOOLS, PI0), [
			"read",
			"bash",
			"grep",
			"edit",
			"write",
			"plan_progress",
		]);
		assert.deepEqual(toolsForMode("planning", true, TOOLS, PI1), ["read", "bash", "grep"]);
		assert.deepEqual(toolsForMode("planning", false, { ...TOOLS, plan: ["read", "write"] }, PI0), ["read"]);
		assert.deepEqual(toolsForMode("implementing", false, TOOLS, PI0), IMPL_TOOLS);
		assert.equal(toolsForMode("off", false, TOOLS, PI0), undefined);
	});

	test("final answer while planning with auto-approve: implementing, kickoff in the run, implementation tools", () => {
		const { state, effects } = run([
			start({ autoFlag: true, headless: true }),
			{ type: "final", phase: "planning", loop: true, stopReason: "stop", hasText: true, text: "Plan:\n1. a" },
		]);
		assert.equal(state.mode, "implementing");
		const tail = effects.slice(-3);
		assert.deepEqual(types(tail), ["persist", "kickoff", "tools"]);
		assert.deepEqual(find(tail, "kickoff")[0], { type: "kickoff", inRun: true, planText: "Plan:\n1. a" });
		assert.deepEqual(find(tail, "tools")[0].names, IMPL_TOOLS);
	});

	test("headless auto-approve prints the approved plan (stderr) before the kickoff; with a UI it does not", () => {
		const final = (headless: boolean): PlanModeEvent => ({
			type: "final",
			phase: "planning",
			loop: true,
			stopReason: "stop",
			hasText: true,
			text: "Plan:\n1. a\n",
			headless,
		});
		const headless = run([start({ autoFlag: true, headless: true }), final(true)]).effects;
		assert.deepEqual(types(headless.slice(-4)), ["say", "persist", "kickoff", "tools"]);
		assert.deepEqual(find(headless, "say").at(-1), {
			type: "say",
			text: "plan-stepdown: plan approved (--plan-auto-approve), implementing it:\nPlan:\n1. a",
			level: "warning",
		});
		const tui = run([start({ autoFlag: true }), final(false)]).effects;
		assert.deepEqual(types(tui.slice(-3)), ["persist", "kickoff", "tools"]);
		assert.equal(find(tui, "say").length, 0);
	});

	test("no approval without auto-approve, for tool calls, errors, empty text or auxiliary calls", () => {
		const planning = run([plan()]).state;
		const auto = run([start({ autoFlag: true })]).state;
		const finals: [PlanModeState, Extract<PlanModeEvent, { type: "final" }>][] = [
			[planning, { type: "final", phase: "planning", loop: true, stopReason: "stop", hasText: true }],
			[auto, { type: "final", phase: "planning", loop: true, stopReason: "toolUse", hasText: true }],
			[auto, { type: "final", phase: "planning", loop: true, stopReason: "error", hasText: true }],
			[auto, { type: "final", phase: "planning", loop: true, stopReason: "stop", hasText: false }],
			[auto, { type: "final", phase: "planning", loop: false, stopReason: "stop", hasText: true }],
			[auto, { type: "final", phase: "implementing", loop: true, stopReason: "stop", hasText: true }],
		];
		for (const [from, event] of finals) {
			const { state, effects } = run([event], PI0, from);
			assert.equal(state.mode, from.mode, JSON.stringify(event));
			assert.deepEqual(effects, []);
		}
	});

	test("run end while planning with a UI offers the dialog; headless, failed or auto-approve does not", () => {
		const planning = run([plan()]).state;
		assert.deepEqual(types(run([{ type: "run-end", lastStopReason: "stop", hasUI: true }], PI0, planning).effects), [
			"status",
			"offer-approval",
		]);
		for (const [stop, hasUI] of [
			["stop", false],
			["error", true],
			["aborted", true],
			[undefined, true],
		] as const) {
			const { effects } = run([{ type: "run-end", lastStopReason: stop, hasUI }], PI0, planning);
			assert.deepEqual(types(effects), ["status"], `${stop} ${hasUI}`);
		}
	});

	test("approval: start → implementing and a kickoff in a new run; refine → follow-up; cancel → off", () => {
		const planning = run([plan()]).state;
		const started = run([{ type: "approval", choice: "start", planText: "1. a" }], PI0, planning);
		assert.equal(started.state.mode, "implementing");
		assert.deepEqual(find(started.effects, "kickoff")[0], { type: "kickoff", inRun: false, planText: "1. a" });
		assert.deepEqual(find(started.effects, "tools")[0].names, IMPL_TOOLS);

		const refined = run([{ type: "approval", choice: "refine", feedback: "  smaller  " }], PI0, planning);
		assert.equal(refined.state.mode, "planning");
		assert.match(find(refined.effects, "prompt")[0].text, /feedback, then give the full revised plan:\n\nsmaller$/);
		assert.equal(find(refined.effects, "prompt")[0].followUp, true);
		assert.deepEqual(run([{ type: "approval", choice: "refine", feedback: " " }], PI0, planning).effects, []);

		const cancelled = run([{ type: "approval", choice: "cancel" }], PI0, planning);
		assert.equal(cancelled.state.mode, "off");
		assert.deepEqual(find(cancelled.effects, "route")[0], { type: "route", on: false, restore: USER_MODEL });
		assert.deepEqual(find(cancelled.effects, "tools")[0].names, USER_TOOLS);

		const dismissed = run([{ type: "approval", choice: "dismissed" }], PI0, planning);
		assert.equal(dismissed.state.mode, "planning");
		assert.match(find(dismissed.effects, "say")[0].text, /still planning/);
	});

	test("an answer after the mode was left or restarted is ignored", () => {
		const left = run([plan(), { type: "off" }]).state;
		assert.deepEqual(run([{ type: "approval", choice: "start" }], PI0, left).effects, []);
	});

	test("calls move the cursor; loop calls are recorded, auxiliary calls are not; run end resets it", () => {
		const impl = run([plan(), { type: "approval", choice: "start" }]).state;
		const call = { rung: 2, phase: "implementing", reason: "step", model: "p/m", thinking: "low" } as const;
		const looped = run([{ type: "call", call: { ...call, loop: true } }], PI0, impl);
		assert.equal(looped.state.cursor, 2);
		assert.deepEqual(types(looped.effects), ["record-call", "status"]);
		assert.equal(looped.state.lastCall?.rung, 2);
		const aux = run([{ type: "call", call: { ...call, rung: 0, loop: false } }], PI0, looped.state);
		assert.deepEqual(types(aux.effects), ["status"]);
		assert.equal(run([{ type: "run-end", lastStopReason: "stop", hasUI: true }], PI0, looped.state).state.cursor, 0);
		assert.equal(run([{ type: "run-end", lastStopReason: "error", hasUI: true }], PI0, looped.state).state.cursor, 2);
	});

	test("off: the user's model and tools back, persisted once; already off says so", () => {
		const { state, effects } = run([plan(), { type: "off" }]);
		assert.equal(state.mode, "off");
		const tail = effects.slice(-5);
		assert.deepEqual(types(tail), ["route", "persist", "tools", "status", "say"]);
		assert.deepEqual(find(tail, "route")[0], { type: "route", on: false, restore: USER_MODEL });
		const again = run([{ type: "off" }], PI0, state);
		assert.deepEqual(types(again.effects), ["route", "status", "say"]);
		assert.match(find(again.effects, "say")[0].text, /already off/);
	});

	test("start with --plan-auto-approve: planning; with an unusable config headless: off, prompts refused, exit 2", () => {
		assert.equal(run([start({ autoFlag: true, headless: true })]).state.mode, "planning");
		const { state, effects } = run([start({ autoFlag: true, headless: true, blocker: "no key" })]);
		assert.equal(state.mode, "off");
		assert.equal(state.refuseHeadless, "no key");
		assert.ok(refusesInput(state, "rpc") && refusesInput(state, "interactive") && !refusesInput(state, "extension"));
		assert.deepEqual(find(effects, "exit-code")[0].code, 2);
	});

	test("a mode restored with --plan-auto-approve and an unusable config is fully off (not half on)", () => {
		const restored = restoredOf({ v: 1, mode: "implementing", autoApprove: true, userModel: USER_MODEL }, 2);
		const { state, effects } = run([start({ autoFlag: true, blocker: "no key", restored })]);
		assert.equal(state.mode, "off");
		assert.deepEqual(find(effects, "route")[0], { type: "route", on: false, restore: USER_MODEL });
	});

	test("resume restores the branch's mode and cursor; auto-approve only with the flag of this process", () => {
		const restored = restoredOf({ v: 1, mode: "implementing", autoApprove: true, userTools: ["read"] }, 3);
		const { state, effects } = run([start({ reason: "resume", restored })]);
		assert.equal(state.mode, "implementing");
		assert.equal(state.autoApprove, false);
		assert.equal(state.cursor, 3);
		assert.deepEqual(types(effects), ["route", "tools", "status"]);
		assert.equal(run([start({ reason: "resume", restored, autoFlag: true })]).state.autoApprove, true);
	});

	test("resume with an unusable config: warned, off in memory, nothing persisted", () => {
		const restored = restoredOf({ v: 1, mode: "planning", autoApprove: false });
		const { state, effects } = run([start({ reason: "resume", restored, blocker: "bad rung" })]);
		assert.equal(state.mode, "off");
		assert.deepEqual(types(effects), ["say", "route", "status"]);
		assert.match(find(effects, "say")[0].text, /was in planning mode, which cannot resume:\nbad rung/);
	});

	test("the flag's swallowed task: said; headless exit 2, in the TUI put back in the editor", () => {
		const headless = run([start({ swallowedTask: "do it", headless: true })]).effects;
		assert.match(find(headless, "say")[0].text, /Put the task first: pi -p "do it" --plan-auto-approve/);
		assert.equal(find(headless, "exit-code")[0].code, 2);
		assert.deepEqual(find(run([start({ swallowedTask: "do it" })]).effects, "editor")[0].text, "do it");
	});

	test("an unusable config is said once at start-up: in the TUI, and on stderr headless", () => {
		assert.equal(find(run([start({ configIssues: ["x: bad"], blocker: "x: bad" })]).effects, "say").length, 1);
		const started = run([start({ configIssues: ["x: bad"], blocker: "x: bad", headless: true })]);
		assert.equal(find(started.effects, "say").length, 0, "nothing yet: a /plan command would report it itself");
		const headless = find(run([{ type: "prompt" }, { type: "prompt" }], PI0, started.state).effects, "say");
		assert.equal(headless.length, 1, "once, with the first prompt");
		assert.match(headless[0].text, /^plan-stepdown is unusable until this is fixed .*\nx: bad$/);
		assert.equal(headless[0].level, "warning");
		// With the flag, the flag's refusal says it (one message, not two).
		const auto = find(
			run([start({ configIssues: ["x: bad"], blocker: "x: bad", headless: true, autoFlag: true })]).effects,
			"say",
		);
		assert.equal(auto.length, 1);
		assert.match(auto[0].text, /cannot plan/);
	});

	test("tree: moving to a branch without the mode gives back the user's tools and model", () => {
		const planning = run([plan()]).state;
		const { state, effects } = run([{ type: "tree", restored: restoredOf(off), autoFlag: false }], PI0, planning);
		assert.equal(state.mode, "off");
		assert.deepEqual(find(effects, "tools")[0].names, USER_TOOLS);
		assert.deepEqual(find(effects, "route")[0], { type: "route", on: false, restore: USER_MODEL });
		const back = run(
			[{ type: "tree", restored: restoredOf({ v: 1, mode: "planning", autoApprove: false }), autoFlag: false }],
			PI0,
			state,
		);
		assert.equal(back.state.mode, "planning");
		assert.ok(find(back.effects, "route")[0].on);
	});

	test("pi 1.x /model: the ladder while off starts implementing; another model while on ends the mode", () => {
		const picked = run([{ type: "model-picked", ladder: true, activeTools: USER_TOOLS, userModel: USER_MODEL }], PI1);
		assert.equal(picked.state.mode, "implementing");
		assert.deepEqual(find(picked.effects, "persist")[0].entry.userModel, USER_MODEL);
		const other = run([{ type: "model-picked", ladder: false, activeTools: [] }], PI1, picked.state);
		assert.equal(other.state.mode, "off");
		assert.deepEqual(find(other.effects, "route")[0], { type: "route", on: false, restore: undefined });
		assert.deepEqual(run([{ type: "model-picked", ladder: false, activeTools: [] }], PI1).effects, []);
	});

	test("shutdown: routing undone; headless with the mode on, summaries on and calls made here writes the summary", () => {
		const call = {
			rung: 0,
			phase: "planning",
			reason: "planning",
			model: "p/m",
			thinking: "high",
			loop: true,
		} as const;
		const planning = run([plan(), { type: "call", call }]).state;
		// `pi -c -p "/stepdown"`: a report in a session that is on, no call made: the session is not changed.
		assert.deepEqual(
			types(run([{ type: "shutdown", headless: true, summary: true }], PI0, run([plan()]).state).effects),
			["route"],
		);
		assert.deepEqual(types(run([{ type: "shutdown", headless: true, summary: true }], PI0, planning).effects), [
			"route",
			"summary",
		]);
		assert.deepEqual(types(run([{ type: "shutdown", headless: true, summary: false }], PI0, planning).effects), [
			"route",
		]);
		assert.deepEqual(types(run([{ type: "shutdown", headless: false, summary: true }], PI0, planning).effects), [
			"route",
		]);
		assert.deepEqual(types(run([{ type: "shutdown", headless: true, summary: true }]).effects), ["route"]);
	});

	test("plan tools: edit/write and tools outside the plan list are refused while planning only", () => {
		const planning = run([plan()]).state;
		assert.match(planToolRefusal(planning, "write", ["read", "write"]) ?? "", /write is not available while planning/);
		assert.match(planToolRefusal(planning, "web", ["read"]) ?? "", /web is not available/);
		assert.equal(planToolRefusal(planning, "read", ["read"]), undefined);
		assert.equal(planToolRefusal(INITIAL_STATE, "write", ["read"]), undefined);
	});
});

describe("the review on rung 0 at the end of an implementation run", () => {
	type Final = Extract<PlanModeEvent, { type: "final" }>;
	const answer = (over: Partial<Final> = {}): Final => ({
		type: "final",
		phase: "implementing",
		loop: true,
		stopReason: "stop",
		hasText: true,
		rung: 3,
		reviewEnabled: true,
		...over,
	});
	const planned: PlanModeEvent = { type: "final", phase: "planning", loop: true, stopReason: "stop", hasText: true };
	/** An auto-approved plan, implemented in the same run. */
	const implementing = run([start({ autoFlag: true, headless: true }), planned]).state;

	test("the kickoff arms it; a final answer from a cheaper rung sends one review, in the run", () => {
		assert.equal(implementing.review, "armed");
		const { state, effects } = run([answer()], PI0, implementing);
		assert.deepEqual(effects, [{ type: "review" }]);
		assert.equal(state.review, "done");
		assert.deepEqual(run([answer(), answer()], PI0, implementing).effects, [{ type: "review" }], "at most one per run");
	});

	test("the dialog's Start arms it too", () => {
		const planning = run([plan(), { type: "run-end", lastStopReason: "stop", hasUI: true }]).state;
		const { state } = run([{ type: "approval", choice: "start" }], PI1, planning);
		assert.equal(state.review, "armed");
	});

	const none: [string, Final][] = [
		["off in the config", answer({ reviewEnabled: false })],
		["the answer came from rung 0", answer({ rung: 0 })],
		["a tool call, not a final answer", answer({ stopReason: "toolUse" })],
		["a failed call", answer({ stopReason: "error" })],
		["no text", answer({ hasText: false })],
		["an auxiliary call", answer({ loop: false })],
	];
	for (const [why, event] of none) {
		test(`no review: ${why}`, () => {
			assert.deepEqual(run([event], PI0, implementing).effects, []);
		});
	}

	test("no review for a run that did not start from an approved plan, and none after the run ended", () => {
		const followUp = { ...implementing, review: undefined };
		assert.deepEqual(run([answer()], PI0, followUp).effects, []);
		const ended = run([{ type: "run-end", lastStopReason: "stop", hasUI: false }], PI0, implementing).state;
		assert.equal(ended.review, undefined);
		assert.deepEqual(run([answer()], PI0, ended).effects, []);
	});
});

describe("a turn on rung 0 after a runaway output", () => {
	type Final = Extract<PlanModeEvent, { type: "final" }>;
	const trigger = { kind: "runaway-output" as const, tool: "", detail: "9000 output tokens, 30× the median 300" };
	const ranAway = (over: Partial<Final> = {}): Final => ({
		type: "final",
		phase: "implementing",
		loop: true,
		stopReason: "length",
		hasText: false,
		rung: 2,
		reviewEnabled: true,
		runaway: trigger,
		...over,
	});
	const planned: PlanModeEvent = { type: "final", phase: "planning", loop: true, stopReason: "stop", hasText: true };
	const implementing = run([start({ autoFlag: true, headless: true }), planned]).state;

	test("a cheaper rung's runaway answer continues the run on rung 0, before any review", () => {
		const { state, effects } = run([ranAway()], PI0, implementing);
		assert.deepEqual(effects, [{ type: "runaway", trigger }]);
		assert.equal(state.runaways, 1);
		assert.equal(state.review, "armed", "the review still comes at the end");
	});

	test("at most RUNAWAY_TURNS_PER_RUN per run; the count starts afresh with the next run", () => {
		const many = Array.from({ length: RUNAWAY_TURNS_PER_RUN + 2 }, () => ranAway());
		const { state, effects } = run(many, PI0, implementing);
		assert.equal(effects.filter((e) => e.type === "runaway").length, RUNAWAY_TURNS_PER_RUN);
		const ended = run([{ type: "run-end", lastStopReason: "length", hasUI: false }], PI0, state).state;
		assert.equal(ended.runaways, undefined);
	});

	const none: [string, Final, PlanModeState?][] = [
		["the rule did not fire", ranAway({ runaway: undefined })],
		["the answer came from rung 0", ranAway({ rung: 0 })],
		["an auxiliary call", ranAway({ loop: false })],
		["a planning call", ranAway({ phase: "planning" })],
		["the mode is off", ranAway(), INITIAL_STATE],
	];
	for (const [why, event, from] of none) {
		test(`no turn: ${why}`, () => {
			assert.deepEqual(run([event], PI0, from ?? implementing).effects, []);
		});
	}
});
