/**
 * The session's plan mode as one pure reducer: `(state, event) → { state, effects }`.
 *
 * Which rung one call uses is `ladder.ts`; this file is everything around it: entering and leaving plan mode, the
 * approval (dialog or `--plan-auto-approve`), the cursor between calls, and what a headless run must refuse. The
 * shell (`index.ts` and a host adapter per pi line) turns pi's events into `PlanModeEvent`s and carries out the
 * `Effect`s; nothing here touches pi.
 *
 * | event                         | when                                      | what changes                                    |
 * |-------------------------------|-------------------------------------------|-------------------------------------------------|
 * | start (startup, --auto flag)  | config usable                             | planning (auto-approve), routed                 |
 * | start (startup, --auto flag)  | config unusable                           | off; headless prompts refused, exit 2           |
 * | start / tree (restored mode)  | config usable / unusable                  | the branch's mode / off (not persisted)         |
 * | plan command                  | config usable                             | planning; the task is sent                      |
 * | plan command                  | unusable, or a run is implementing        | refused (exit 2 headless)                       |
 * | call                          | every routed call                         | cursor = its rung; loop calls recorded          |
 * | final answer while planning   | auto-approve, a text answer               | implementing, kickoff inside the same run       |
 * | final answer, implementing    | a cheap rung ran away / ended the plan    | a turn on rung 0: continue / review             |
 * | run end                       | implementing / planning                   | cursor 0 (a failed call keeps it); dialog       |
 * | approval                      | start / refine / cancel / dismissed       | implementing + kickoff / refine / off / note    |
 * | off command, model picked     | any                                       | off: the user's tools and model back            |
 */
import { flagOrderMessage } from "./cli.ts";
import type { Failover } from "./failover.ts";
import type { Mode, Phase, Reason, Trigger } from "./ladder.ts";
import { PROGRESS_TOOL } from "./plan-steps.ts";
import type { CallEntry, ModelRef, StateEntry } from "./state.ts";

export interface ToolSets {
	plan: readonly string[];
	implementation: readonly string[];
}

/** What differs between pi lines and changes a decision. */
export interface HostCaps {
	/**
	 * pi 1.x: tools set at the end of a run reach its next request (`agent_before_settle`). pi 0.73.1 fixes a run's
	 * tools when it starts, so an auto-approved run starts with both sets and the router offers only the plan tools.
	 */
	toolsSwitchInRun: boolean;
}

export interface PlanModeState {
	mode: Mode;
	/** Approval without a human: granted per process by the flag, never inherited from a resumed session. */
	autoApprove: boolean;
	/** The tools the user had before /plan. */
	userTools?: string[];
	/** The model and thinking level the user had before /plan (pi 1.x selects the ladder model meanwhile). */
	userModel?: ModelRef;
	/** The rung of the call in flight, or of the last one; 0 once the user has control. */
	cursor: number;
	lastCall?: CallEntry;
	/** Headless `--plan-auto-approve` with an unusable config: prompts are refused, not run unplanned. */
	refuseHeadless?: string;
	/** A run of the agent is in progress. */
	running: boolean;
	/** This process made a loop call: only then does a headless session end with a summary (a report changes nothing). */
	calledHere?: boolean;
	/** Headless: why the config is unusable, said once with the first prompt. */
	unusable?: string;
	/** The review on rung 0: armed by the approved plan's kickoff, done once sent; cleared when the run ends. */
	review?: "armed" | "done";
	/** Turns on rung 0 added after runaway outputs in the running run (at most RUNAWAY_TURNS_PER_RUN). */
	runaways?: number;
}

export const INITIAL_STATE: PlanModeState = { mode: "off", autoApprove: false, cursor: 0, running: false };

/** The branch's record, as `state.ts` restores it. */
export interface Restored {
	state: StateEntry;
	cursor: number;
	lastCall?: CallEntry;
}

export interface CallStart {
	rung: number;
	phase: Phase;
	reason: Reason;
	trigger?: Trigger;
	/** A retry moved off a rate-limited or overloaded rung. */
	failover?: Failover;
	/** provider/id of the model that serves the call. */
	model: string;
	thinking: string;
	/** An agent-loop call (recorded and stepped), not compaction or a summary. */
	loop: boolean;
	/** Cache-aware stepping kept a stronger rung than the ladder's: the ladder's rung, and why. */
	ladderRung?: number;
	why?: string;
}

export type ApprovalChoice = "start" | "refine" | "cancel" | "dismissed";

export type PlanModeEvent =
	| {
			type: "start";
			/** pi's session_start reason. */
			reason: string;
			restored: Restored;
			autoFlag: boolean;
			headless: boolean;
			/** Why the mode cannot be used now (config or ladder problems), or undefined. */
			blocker?: string;
			/** Config problems to mention at start-up. */
			configIssues: string[];
			/** The task pi swallowed as the value of `--plan-auto-approve`. */
			swallowedTask?: string;
			activeTools: string[];
			userModel?: ModelRef;
	  }
	| { type: "tree"; restored: Restored; autoFlag: boolean; blocker?: string }
	| {
			type: "plan";
			task: string;
			autoFlag: boolean;
			headless: boolean;
			blocker?: string;
			activeTools: string[];
			userModel?: ModelRef;
			/** Where planning calls go, for the notice. */
			planningModel: string;
			/** No ladder configured (every call uses the user's model, which the user should hear about): where one goes. */
			ladderEmpty?: LadderHelp;
			/** Which protection keeps plan-mode bash read-only (the sandbox or the parser), said with the notice. */
			protection?: string;
	  }
	| { type: "off" }
	| { type: "call"; call: CallStart }
	| {
			type: "final";
			phase: Phase;
			loop: boolean;
			stopReason: string;
			hasText: boolean;
			/** The answer's text: the plan, when it is approved. */
			text?: string;
			/** The rung that answered, and whether the config asks for a review on rung 0. */
			rung?: number;
			reviewEnabled?: boolean;
			/** No UI: an auto-approved plan is printed to stderr before it is implemented. */
			headless?: boolean;
			/** The runaway-output rule fired on this answer (escalation.ts), with its cause. */
			runaway?: Trigger;
	  }
	| { type: "run-start" }
	/** A prompt typed or sent (not an extension command). */
	| { type: "prompt" }
	| { type: "run-end"; lastStopReason: string | undefined; hasUI: boolean }
	| { type: "approval"; choice: ApprovalChoice; feedback?: string; planText?: string }
	| { type: "model-picked"; ladder: boolean; activeTools: string[]; userModel?: ModelRef }
	| { type: "shutdown"; headless: boolean; summary: boolean };

export type Level = "info" | "warning" | "error";

export type Effect =
	/** Append a `plan-stepdown:state` entry. */
	| { type: "persist"; entry: StateEntry }
	/** Route this session's calls through the ladder (on), or give the user's model back (off). */
	| { type: "route"; on: true }
	| { type: "route"; on: false; restore?: ModelRef }
	| { type: "tools"; names: readonly string[] }
	| { type: "record-call"; entry: CallEntry }
	/** Redraw the status line (idle, or the call in flight). */
	| { type: "status"; call?: CallStart }
	| { type: "say"; text: string; level: Level }
	| { type: "exit-code"; code: number }
	/** Put the task or the user's text in the editor (TUI). */
	| { type: "editor"; text: string }
	/** Send the approved plan's kickoff: inside the running run, or as a new run; `planText` is the approved plan. */
	| { type: "kickoff"; inRun: boolean; planText?: string }
	| { type: "offer-approval" }
	/** One review turn on rung 0, inside the running run. */
	| { type: "review" }
	/** One turn on rung 0 inside the running run after a runaway output, asking the model to continue. */
	| { type: "runaway"; trigger: Trigger }
	/** A user message: the /plan task, or the refine feedback (queued as a follow-up). */
	| { type: "prompt"; text: string; followUp: boolean }
	| { type: "summary" };

export interface Step {
	state: PlanModeState;
	effects: Effect[];
}

export const PLAN_ON_TEXT = (where: string) => `plan-stepdown: plan mode on. Every planning call uses ${where}.`;
export const unusableText = (why: string) =>
	`plan-stepdown is unusable until this is fixed (your prompts run on your own model, /plan is refused):\n${why}`;

/** Where a ladder goes, for the no-ladder message: the user's config file and the package's JSON Schema. */
export interface LadderHelp {
	userConfig: string;
	schema: string;
}
export const noLadderText = (help: LadderHelp) =>
	`plan-stepdown: plan mode on, but no ladder is configured, so every call uses your current model. Add a ladder to .pi/plan-stepdown.json or ${help.userConfig} ("$schema": "${help.schema}").`;
/** Headless auto-approve: the plan the run is about to implement, so a log shows what was approved. */
export const approvedText = (plan: string) =>
	`plan-stepdown: plan approved (--plan-auto-approve), implementing it:\n${plan.trim()}`;
export const CANCEL_TEXT = "plan-stepdown: left plan mode; your tools and model are back.";
export const DISMISSED_TEXT = "plan-stepdown: still planning. Reply to refine the plan, /stepdown-off to leave.";

export const refineText = (feedback: string) =>
	`Refine the plan with this feedback, then give the full revised plan:\n\n${feedback}`;

/** The tools a mode activates; undefined: the mode does not touch the tools. */
export function toolsForMode(
	mode: Mode,
	autoApprove: boolean,
	tools: ToolSets,
	caps: HostCaps,
): readonly string[] | undefined {
	if (mode === "planning") {
		return autoApprove && !caps.toolsSwitchInRun
			? [...new Set([...tools.plan, ...implementationTools(tools)])]
			: tools.plan.filter((t) => !WRITE_TOOLS.has(t));
	}
	if (mode === "implementing") return implementationTools(tools);
	return undefined;
}

/** While implementing: the configured tools, and the plan's steps are reported with a tool of this extension's. */
const implementationTools = (tools: ToolSets): readonly string[] => [...tools.implementation, PROGRESS_TOOL];

/** Never offered or run while planning, whatever the plan tool list says. */
export const WRITE_TOOLS: ReadonlySet<string> = new Set(["edit", "write"]);

const entryOf = (s: PlanModeState): StateEntry => ({
	v: 1,
	mode: s.mode,
	autoApprove: s.autoApprove,
	...(s.userTools ? { userTools: s.userTools } : {}),
	...(s.userModel ? { userModel: s.userModel } : {}),
});

/** The session's mode after an event, and what the shell must do about it. */
export function reduce(state: PlanModeState, event: PlanModeEvent, tools: ToolSets, caps: HostCaps): Step {
	switch (event.type) {
		case "start":
			return onStart(state, event, tools, caps);
		case "tree":
			return onTree(state, event, tools, caps);
		case "plan":
			return onPlan(state, event, tools, caps);
		case "off":
			return leave(
				state,
				state.mode === "off" ? "plan-stepdown: already off." : "plan-stepdown: off. Your own model and tools are back.",
			);
		case "call":
			return onCall(state, event.call);
		case "final":
			return onFinal(state, event, tools);
		case "prompt":
			return state.unusable
				? {
						state: { ...state, unusable: undefined },
						effects: [{ type: "say", text: unusableText(state.unusable), level: "warning" }],
					}
				: { state, effects: [] };
		case "run-start":
			return { state: { ...state, running: true }, effects: [] };
		case "run-end":
			return onRunEnd(state, event);
		case "approval":
			return onApproval(state, event, tools, caps);
		case "model-picked":
			return onModelPicked(state, event, tools, caps);
		case "shutdown":
			return {
				state,
				effects: [
					{ type: "route", on: false },
					...(event.headless && event.summary && state.mode !== "off" && state.calledHere
						? [{ type: "summary" } as const]
						: []),
				],
			};
	}
}

/** Route and set the tools of the mode `next` is in; an unusable config leaves it off (not persisted). */
function applyRestored(next: PlanModeState, blocker: string | undefined, tools: ToolSets, caps: HostCaps): Step {
	if (next.mode === "off") return { state: next, effects: [{ type: "route", on: false }, { type: "status" }] };
	if (blocker) {
		return {
			state: { ...next, mode: "off" },
			effects: [
				{
					type: "say",
					text: `plan-stepdown: the session was in ${next.mode} mode, which cannot resume:\n${blocker}`,
					level: "warning",
				},
				{ type: "route", on: false, restore: next.userModel },
				{ type: "status" },
			],
		};
	}
	const names = toolsForMode(next.mode, next.autoApprove, tools, caps);
	return {
		state: next,
		effects: [{ type: "route", on: true }, ...(names ? [{ type: "tools", names } as const] : []), { type: "status" }],
	};
}

const fromRestored = (state: PlanModeState, restored: Restored, autoFlag: boolean): PlanModeState => ({
	...state,
	mode: restored.state.mode,
	autoApprove: restored.state.autoApprove && autoFlag,
	userTools: restored.state.userTools,
	userModel: restored.state.userModel,
	cursor: restored.cursor,
	lastCall: restored.lastCall,
});

function onStart(
	state: PlanModeState,
	event: Extract<PlanModeEvent, { type: "start" }>,
	tools: ToolSets,
	caps: HostCaps,
): Step {
	const effects: Effect[] = [];
	const restored = fromRestored(
		{ ...state, refuseHeadless: undefined, running: false },
		event.restored,
		event.autoFlag,
	);
	if (event.swallowedTask !== undefined) {
		const text = flagOrderMessage(AUTO_FLAG, event.swallowedTask);
		effects.push({ type: "say", text, level: "error" });
		// Headless, pi will run nothing: do not enter (and persist) a mode for a run that never happens.
		if (event.headless) return { state: restored, effects: [...effects, { type: "exit-code", code: 2 }] };
		effects.push({ type: "editor", text: event.swallowedTask });
	}
	// A config problem is said once at start-up; with the flag it is said where the flag is refused (below).
	if (event.configIssues.length > 0 && !event.headless && !event.autoFlag) {
		effects.push({ type: "say", text: `plan-stepdown config:\n${event.configIssues.join("\n")}`, level: "warning" });
	}
	// Headless without the flag: said with the first prompt (a /plan command reports it itself), once.
	const unusable = event.headless && !event.autoFlag && restored.mode === "off" ? event.blocker : undefined;
	if (event.autoFlag && event.reason === "startup") {
		if (event.blocker) {
			effects.push({
				type: "say",
				text: `plan-stepdown: --${AUTO_FLAG} cannot plan:\n${event.blocker}`,
				level: "error",
			});
			effects.push({ type: "route", on: false, restore: restored.mode === "off" ? undefined : restored.userModel });
			if (event.headless) effects.push({ type: "exit-code", code: 2 });
			return {
				state: { ...restored, mode: "off", refuseHeadless: event.headless ? event.blocker : undefined },
				effects: [...effects, { type: "status" }],
			};
		}
		const step = enter(restored, "planning", true, event.activeTools, event.userModel, tools, caps);
		return { state: step.state, effects: [...effects, ...step.effects] };
	}
	const step = applyRestored({ ...restored, unusable }, event.blocker, tools, caps);
	return { state: step.state, effects: [...effects, ...step.effects] };
}

function onTree(
	state: PlanModeState,
	event: Extract<PlanModeEvent, { type: "tree" }>,
	tools: ToolSets,
	caps: HostCaps,
): Step {
	const next = fromRestored(state, event.restored, event.autoFlag);
	const effects: Effect[] = [];
	// Leaving the mode by moving to a branch that never had it: the tools the user had before /plan come back.
	if (state.mode !== "off" && next.mode === "off") {
		if (state.userTools) effects.push({ type: "tools", names: state.userTools });
		const step = applyRestored(next, event.blocker, tools, caps);
		return {
			state: step.state,
			effects: [...effects, ...step.effects.map((e) => (e.type === "route" ? { ...e, restore: state.userModel } : e))],
		};
	}
	const step = applyRestored(next, event.blocker, tools, caps);
	return { state: step.state, effects: [...effects, ...step.effects] };
}

function enter(
	state: PlanModeState,
	mode: Mode,
	autoApprove: boolean,
	activeTools: string[],
	userModel: ModelRef | undefined,
	tools: ToolSets,
	caps: HostCaps,
): Step {
	const fresh = state.mode === "off";
	const next: PlanModeState = {
		...state,
		mode,
		autoApprove,
		// The progress tool is the mode's, never the user's own.
		userTools: fresh ? activeTools.filter((t) => t !== PROGRESS_TOOL) : state.userTools,
		userModel: fresh ? userModel : (state.userModel ?? userModel),
		cursor: 0,
	};
	const names = toolsForMode(mode, autoApprove, tools, caps);
	return {
		state: next,
		effects: [
			{ type: "persist", entry: entryOf(next) },
			{ type: "route", on: true },
			...(names ? [{ type: "tools", names } as const] : []),
			{ type: "status" },
		],
	};
}

function leave(state: PlanModeState, notice: string | undefined): Step {
	const effects: Effect[] = [{ type: "route", on: false, restore: state.userModel }];
	if (state.mode !== "off") effects.push({ type: "persist", entry: { v: 1, mode: "off", autoApprove: false } });
	if (state.userTools && state.mode !== "off") effects.push({ type: "tools", names: state.userTools });
	effects.push({ type: "status" });
	if (notice) effects.push({ type: "say", text: notice, level: "info" });
	return {
		state: { ...state, mode: "off", autoApprove: false, userTools: undefined, userModel: undefined, cursor: 0 },
		effects,
	};
}

function onPlan(
	state: PlanModeState,
	event: Extract<PlanModeEvent, { type: "plan" }>,
	tools: ToolSets,
	caps: HostCaps,
): Step {
	const refuse = (why: string): Step => ({
		state,
		effects: [
			{ type: "say", text: `plan-stepdown: /plan refused:\n${why}`, level: "error" },
			...(event.headless ? [{ type: "exit-code", code: 2 } as const] : []),
		],
	});
	if (event.blocker) return refuse(event.blocker);
	// A plan typed while the agent implements would turn that run into planning and offer its answer as a plan.
	if (state.running && state.mode === "implementing") {
		return refuse("the agent is still implementing; wait for the run to end (or press Escape), then /plan again.");
	}
	const step = enter(state, "planning", event.autoFlag, event.activeTools, event.userModel, tools, caps);
	const effects = [...step.effects];
	const protection = event.protection ? `\n${event.protection}` : "";
	if (event.ladderEmpty)
		effects.push({ type: "say", text: noLadderText(event.ladderEmpty) + protection, level: "warning" });
	else if (!event.headless) {
		effects.push({ type: "say", text: PLAN_ON_TEXT(event.planningModel) + protection, level: "info" });
	}
	if (event.task) effects.push({ type: "prompt", text: event.task, followUp: false });
	return { state: step.state, effects };
}

function onCall(state: PlanModeState, call: CallStart): Step {
	const effects: Effect[] = [];
	let lastCall = state.lastCall;
	if (call.loop) {
		const entry: CallEntry & { failover?: Failover } = {
			v: 1,
			rung: call.rung,
			phase: call.phase,
			reason: call.reason,
			...(call.trigger ? { trigger: call.trigger } : {}),
			...(call.failover ? { failover: call.failover } : {}),
			model: call.model,
			thinking: call.thinking,
			...(call.ladderRung !== undefined ? { ladderRung: call.ladderRung, why: call.why } : {}),
		};
		lastCall = entry;
		effects.push({ type: "record-call", entry });
	}
	effects.push({ type: "status", call });
	return { state: { ...state, cursor: call.rung, lastCall, calledHere: state.calledHere || call.loop }, effects };
}

/** A planning call answered. With auto-approve, a text answer is the plan: implement it in the same run. */
function onFinal(state: PlanModeState, event: Extract<PlanModeEvent, { type: "final" }>, tools: ToolSets): Step {
	const approves =
		event.loop &&
		event.phase === "planning" &&
		state.mode === "planning" &&
		state.autoApprove &&
		event.stopReason === "stop" &&
		event.hasText;
	if (!approves) return runawayAfter(state, event) ?? reviewAfter(state, event);
	const next: PlanModeState = { ...state, mode: "implementing", review: "armed" };
	const shown: Effect[] = event.headless
		? [{ type: "say", text: approvedText(event.text ?? ""), level: "warning" }]
		: [];
	return {
		state: next,
		effects: [
			...shown,
			{ type: "persist", entry: entryOf(next) },
			{ type: "kickoff", inRun: true, planText: event.text },
			// The rest of this run (pi 1.x) and later runs (user follow-ups) get the implementation tools.
			{ type: "tools", names: implementationTools(tools) },
		],
	};
}

/** Bounds the cost of a cheap rung that keeps running away: after this many turns in one run, pi ends it. */
export const RUNAWAY_TURNS_PER_RUN = 3;

/**
 * A cheaper rung's answer ran away (no tool call, no final answer, far more output than the segment's median): pi
 * would end the run there, so one more turn on rung 0 continues it. Rung 0's own answers are not continued.
 */
function runawayAfter(state: PlanModeState, event: Extract<PlanModeEvent, { type: "final" }>): Step | undefined {
	const runaways = state.runaways ?? 0;
	const continues =
		event.runaway !== undefined &&
		state.mode === "implementing" &&
		event.loop &&
		event.phase === "implementing" &&
		(event.rung ?? 0) !== 0 &&
		runaways < RUNAWAY_TURNS_PER_RUN;
	if (!continues || !event.runaway) return undefined;
	return { state: { ...state, runaways: runaways + 1 }, effects: [{ type: "runaway", trigger: event.runaway }] };
}

/**
 * The implementation of an approved plan ended with a final answer from a cheaper rung: one review turn on rung 0 in
 * the same run, at most one per run (the review's own answer comes from rung 0 or, if it made tool calls, after it).
 */
function reviewAfter(state: PlanModeState, event: Extract<PlanModeEvent, { type: "final" }>): Step {
	const reviews =
		event.reviewEnabled === true &&
		state.review === "armed" &&
		state.mode === "implementing" &&
		event.loop &&
		event.phase === "implementing" &&
		event.stopReason === "stop" &&
		event.hasText &&
		(event.rung ?? 0) !== 0;
	if (!reviews) return { state, effects: [] };
	return { state: { ...state, review: "done" }, effects: [{ type: "review" }] };
}

const failedStop = (stop: string | undefined) => stop === "error" || stop === "aborted";

function onRunEnd(state: PlanModeState, event: Extract<PlanModeEvent, { type: "run-end" }>): Step {
	const failed = failedStop(event.lastStopReason);
	const { review: _done, runaways: _turns, ...rest } = state;
	const ended: PlanModeState = { ...rest, running: false };
	if (state.mode === "implementing") {
		// Control is back with the user: the top of the ladder, unless the last call failed (kept for resume).
		return { state: { ...ended, cursor: failed ? state.cursor : 0 }, effects: [{ type: "status" }] };
	}
	if (state.mode !== "planning") return { state: ended, effects: [] };
	const effects: Effect[] = [{ type: "status" }];
	if (!state.autoApprove && event.hasUI && !failed && event.lastStopReason !== undefined) {
		effects.push({ type: "offer-approval" });
	}
	return { state: { ...ended, cursor: 0 }, effects };
}

function onApproval(
	state: PlanModeState,
	event: Extract<PlanModeEvent, { type: "approval" }>,
	tools: ToolSets,
	caps: HostCaps,
): Step {
	if (state.mode !== "planning") return { state, effects: [] }; // left or restarted meanwhile
	switch (event.choice) {
		case "start": {
			const step = enter(state, "implementing", state.autoApprove, [], undefined, tools, caps);
			return {
				state: { ...step.state, review: "armed" },
				effects: [...step.effects, { type: "kickoff", inRun: false, planText: event.planText }],
			};
		}
		case "refine": {
			const feedback = event.feedback?.trim();
			return { state, effects: feedback ? [{ type: "prompt", text: refineText(feedback), followUp: true }] : [] };
		}
		case "cancel":
			return leave(state, CANCEL_TEXT);
		case "dismissed":
			return { state, effects: [{ type: "say", text: DISMISSED_TEXT, level: "info" }] };
	}
}

/**
 * pi 1.x: the user picked a model in /model. The ladder model while off: implementing without a plan (the ladder
 * steps while the agent works alone). Any other model while on: the user took the model back, so the mode ends.
 */
function onModelPicked(
	state: PlanModeState,
	event: Extract<PlanModeEvent, { type: "model-picked" }>,
	tools: ToolSets,
	caps: HostCaps,
): Step {
	if (event.ladder && state.mode === "off") {
		return enter(state, "implementing", false, event.activeTools, event.userModel, tools, caps);
	}
	if (!event.ladder && state.mode !== "off") {
		// Their new model stays selected: nothing to restore.
		const step = leave({ ...state, userModel: undefined }, "plan-stepdown: off (you picked another model).");
		return step;
	}
	return { state, effects: [] };
}

export const AUTO_FLAG = "plan-auto-approve";

/** Whether a headless prompt must be refused (auto-approve with an unusable config), and why. */
export const refusesInput = (state: PlanModeState, source: string): boolean =>
	state.refuseHeadless !== undefined && source !== "extension";

/** Why a tool may not run while planning, or undefined. Bash commands are checked by the plan-mode bash guard. */
export function planToolRefusal(
	state: PlanModeState,
	toolName: string,
	planTools: readonly string[],
): string | undefined {
	if (state.mode !== "planning") return undefined;
	if (WRITE_TOOLS.has(toolName) || !planTools.includes(toolName)) {
		return `plan-stepdown: ${toolName} is not available while planning. Finish the plan; it runs after approval.`;
	}
	return undefined;
}
