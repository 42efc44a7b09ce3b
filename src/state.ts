/**
 * What the extension stores in the session, and how it comes back from the current branch on resume, fork or
 * tree navigation. Pure: it reads plain session entries.
 */
import type { Mode, Phase, Reason, Trigger } from "./ladder.ts";

export const STATE_TYPE = "plan-stepdown:state";
export const CALL_TYPE = "plan-stepdown:call";
/** Written when a headless session ends: the accounting summary as data (see accounting.ts). */
export const SUMMARY_TYPE = "plan-stepdown:summary";

/** A model and thinking level as the session selects them. */
export interface ModelRef {
	provider: string;
	id: string;
	thinking: string;
}

export interface StateEntry {
	v: 1;
	mode: Mode;
	autoApprove: boolean;
	/** The tools the user had before /plan, restored by /stepdown-off. */
	userTools?: string[];
	/** pi 1.x: the model selected before /plan (the ladder model is selected meanwhile), restored on leaving. */
	userModel?: ModelRef;
}

/** One routed LLM call, written when it starts; the assistant message that follows carries usage and cost. */
export interface CallEntry {
	v: 1;
	rung: number;
	phase: Phase;
	reason: Reason;
	trigger?: Trigger;
	/** provider/id of the model that served the call. */
	model: string;
	thinking: string;
	/** Cache-aware stepping used a stronger rung than the ladder's: the ladder's rung, and why. */
	ladderRung?: number;
	why?: string;
}

export interface SessionEntryLike {
	type: string;
	customType?: string;
	data?: unknown;
	message?: { role?: string; stopReason?: string };
}

export interface RestoredState {
	state: StateEntry;
	/** The rung of the last call, or 0 when its run ended cleanly (control went back to the user). */
	cursor: number;
	lastCall?: CallEntry;
}

export const OFF_STATE: StateEntry = { v: 1, mode: "off", autoApprove: false };

export function restoreState(branch: readonly SessionEntryLike[]): RestoredState {
	let state: StateEntry = OFF_STATE;
	let lastCall: CallEntry | undefined;
	let lastCallFailed = false;
	let afterCall = false;
	for (const entry of branch) {
		if (entry.type === "custom" && entry.customType === STATE_TYPE && isStateEntry(entry.data)) {
			state = entry.data;
			lastCall = undefined;
			afterCall = false;
		} else if (entry.type === "custom" && entry.customType === CALL_TYPE && isCallEntry(entry.data)) {
			lastCall = entry.data;
			afterCall = true;
			lastCallFailed = false;
		} else if (afterCall && entry.type === "message" && entry.message?.role === "assistant") {
			lastCallFailed = entry.message.stopReason === "error" || entry.message.stopReason === "aborted";
			afterCall = false;
		}
	}
	// A clean end hands control back to the user: the cursor is at the top. A failed or aborted call keeps its rung.
	const cursor = lastCall && lastCallFailed && state.mode !== "off" ? lastCall.rung : 0;
	return { state, cursor, lastCall };
}

/** Session files are user data: every field is checked, so a hand-edited or corrupted entry is skipped, not trusted. */
export function isStateEntry(data: unknown): data is StateEntry {
	if (!isRecord(data) || data.v !== 1) return false;
	if (data.mode !== "off" && data.mode !== "planning" && data.mode !== "implementing") return false;
	if (typeof data.autoApprove !== "boolean") return false;
	return data.userTools === undefined || isToolList(data.userTools);
}

/** Ladders are short; a rung beyond this is corruption (and would print as an absurd cursor). */
export const MAX_RUNG = 1000;
const PHASES = new Set(["planning", "implementing"]);
/** Every reason a call entry may carry: a Record, so a new reason in ladder.ts must be listed here to compile. */
const REASON_NAMES: Record<Reason, true> = {
	planning: true,
	"user-turn": true,
	kickoff: true,
	step: true,
	bump: true,
	escalation: true,
	review: true,
};
const REASONS = new Set(Object.keys(REASON_NAMES));

export function isCallEntry(data: unknown): data is CallEntry {
	if (!isRecord(data) || data.v !== 1) return false;
	if (!Number.isInteger(data.rung) || (data.rung as number) < 0 || (data.rung as number) > MAX_RUNG) return false;
	if (!PHASES.has(data.phase as string) || !REASONS.has(data.reason as string)) return false;
	if (typeof data.model !== "string" || typeof data.thinking !== "string") return false;
	return data.trigger === undefined || isTrigger(data.trigger);
}

export const isRecord = (v: unknown): v is Record<string, unknown> =>
	typeof v === "object" && v !== null && !Array.isArray(v);
const isToolList = (v: unknown) => Array.isArray(v) && v.length <= 1000 && v.every((t) => typeof t === "string");
const isTrigger = (v: unknown) =>
	isRecord(v) && typeof v.kind === "string" && typeof v.tool === "string" && typeof v.detail === "string";
