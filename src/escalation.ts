/**
 * Escalation to rung 0 when a cheap rung loops: pure rules over the messages of the current segment, judged as
 * `decideCall` walks them. Each rule counts events under a key and fires when a count reaches its configured
 * threshold (0 turns the rule off); the next call then goes to rung 0 and stepping continues from there. A firing
 * rule starts every count afresh, so the strong rung's own work is judged from zero.
 */
import type { CallToolCall, Trigger, TriggerKind } from "./ladder.ts";

export interface EscalationRules {
	/** The same tool call (name and full arguments) this many times with no successful edit or write in between. */
	sameToolCall: number;
	/** The same bash command failing this many times. */
	sameFailingBash: number;
	/** This many failed tool calls in a row, any tools. */
	failuresInARow: number;
	/** An edit whose old text was not found, this many times on the same file. */
	editNotFound: number;
	/**
	 * A call whose output tokens exceed this multiple of the segment's median, with no tool call and no final answer
	 * (cut at the token limit, or only thinking): one more turn on rung 0 continues the run (see `runawayOutput`).
	 */
	runawayOutput: number;
}

export interface ResultSeen {
	toolName: string;
	isError: boolean;
	errorText?: string;
}

/** What a rule sees: a tool call as the model made it, or its result (with the call, when known). */
export type Seen = { at: "call"; call: CallToolCall } | { at: "result"; result: ResultSeen; call?: CallToolCall };

interface Rule {
	kind: TriggerKind;
	setting: keyof EscalationRules;
	/** The counter this event adds one to, with the trigger's detail; undefined: not counted. */
	counts(seen: Seen): { key: string; tool: string; detail: string } | undefined;
	/** Counters this event clears: one key, all of them, or none. */
	clears(seen: Seen): string | "all" | undefined;
}

/** pi's edit tool on both lines: "Could not find the exact text in <path>" / "Could not find edits[i] in <path>". */
const NOT_FOUND = /Could not find (the exact text|edits\[\d+\]) in /;
const DETAIL_CHARS = 200;

/** Programs whose exit code 1 answers "no match" rather than reporting a failure. */
const SEARCHES = new Set(["grep", "egrep", "fgrep", "rg", "ag", "ack"]);

/**
 * A bash command whose last stage is a search that found nothing (exit code 1, or no code known): an answer, not a
 * failure (`npm run check | grep "error TS"` finding no errors, three greps for a name that is not there).
 */
export function isNoMatch(command: string | undefined, errorText: string | undefined): boolean {
	if (command === undefined) return false;
	const stages = command.split(/&&|\|\||[;|\n]/).filter((p) => p.trim().length > 0);
	const words = (stages.at(-1) ?? "").trim().split(/\s+/);
	const program = words.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w))?.replace(/^.*\//, "");
	if (!program || !SEARCHES.has(program)) return false;
	const code = /exited with code (\d+)/.exec(errorText ?? "")?.[1];
	return code === undefined || code === "1";
}

const failedResult = (r: ResultSeen, call: CallToolCall | undefined) =>
	r.isError && !(r.toolName === "bash" && isNoMatch(call?.command, r.errorText));
const succeeded = (seen: Seen, ...tools: string[]) =>
	seen.at === "result" && !failedResult(seen.result, seen.call) && tools.includes(seen.result.toolName);
const failed = (seen: Seen) => (seen.at === "result" && failedResult(seen.result, seen.call) ? seen : undefined);

export const ESCALATION_RULES: readonly Rule[] = [
	{
		kind: "same-tool-call",
		setting: "sameToolCall",
		counts: (s) => {
			if (s.at !== "call") return undefined;
			const key = `${s.call.name} ${s.call.args ?? ""}`;
			return { key, tool: s.call.name, detail: key.slice(0, DETAIL_CHARS) };
		},
		// Re-reading a file or re-running the tests after a change is progress, not a loop.
		clears: (s) => (succeeded(s, "edit", "write") ? "all" : undefined),
	},
	{
		kind: "same-failing-bash",
		setting: "sameFailingBash",
		counts: (s) => {
			const f = failed(s);
			const command = f?.call?.command;
			if (f?.result.toolName !== "bash" || command === undefined) return undefined;
			return { key: command, tool: "bash", detail: command.slice(0, DETAIL_CHARS) };
		},
		clears: (s) => (succeeded(s, "bash") && s.at === "result" ? s.call?.command : undefined),
	},
	{
		kind: "failures-in-a-row",
		setting: "failuresInARow",
		counts: (s) => {
			const f = failed(s);
			if (!f) return undefined;
			const detail = f.call?.command ?? f.call?.path ?? "";
			return { key: "", tool: f.result.toolName, detail: detail.slice(0, DETAIL_CHARS) };
		},
		clears: (s) => (s.at === "result" && !failedResult(s.result, s.call) ? "all" : undefined),
	},
	{
		kind: "edit-not-found",
		setting: "editNotFound",
		counts: (s) => {
			const f = failed(s);
			if (f?.result.toolName !== "edit" || !NOT_FOUND.test(f.result.errorText ?? "")) return undefined;
			const path = f.call?.path ?? "";
			return { key: path, tool: "edit", detail: path };
		},
		clears: (s) => (succeeded(s, "edit", "write") && s.at === "result" ? (s.call?.path ?? "all") : undefined),
	},
];

/**
 * The runaway-output rule, judged on a call's final message rather than on the next call's messages: pi ends the run
 * on an answer with no tool call, so there is no next call unless the extension adds one (a turn on rung 0 that asks
 * the model to go on, plan-mode.ts). `previous` is the output tokens of the segment's earlier successful calls.
 */
export interface FinalSeen {
	stopReason: string;
	hasToolCall: boolean;
	hasText: boolean;
	output: number;
}

/** Fewer earlier calls than this in the segment: no median to compare with, the rule does not judge. */
export const RUNAWAY_MIN_CALLS = 3;

export function runawayOutput(multiple: number, final: FinalSeen, previous: readonly number[]): Trigger | undefined {
	if (multiple <= 0 || previous.length < RUNAWAY_MIN_CALLS) return undefined;
	// An error or abort is pi's retry's business; a tool call or a final answer is progress.
	if (final.stopReason !== "stop" && final.stopReason !== "length") return undefined;
	if (final.hasToolCall || (final.stopReason === "stop" && final.hasText)) return undefined;
	const median = medianOf(previous);
	if (median <= 0 || final.output <= multiple * median) return undefined;
	const what = final.stopReason === "length" ? "cut at the token limit" : "no tool call or answer";
	return {
		kind: "runaway-output",
		tool: "",
		detail: `${final.output} output tokens, ${Math.round(final.output / median)}× the median ${median}, ${what}`,
	};
}

function medianOf(values: readonly number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 === 1 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

export interface EscalationTracker {
	call(call: CallToolCall): void;
	result(result: ResultSeen, call: CallToolCall | undefined): void;
	/** The rule that fired since the last take, if any (the first one wins). */
	take(): Trigger | undefined;
}

export function escalationTracker(settings: EscalationRules, rules = ESCALATION_RULES): EscalationTracker {
	const active = rules.filter((r) => settings[r.setting] > 0);
	const counters = new Map<TriggerKind, Map<string, number>>(active.map((r) => [r.kind, new Map()]));
	let fired: Trigger | undefined;

	const see = (seen: Seen) => {
		for (const rule of active) {
			const counts = counters.get(rule.kind) ?? new Map<string, number>();
			const cleared = rule.clears(seen);
			if (cleared === "all") counts.clear();
			else if (cleared !== undefined) counts.delete(cleared);
			const hit = rule.counts(seen);
			if (!hit) continue;
			const n = (counts.get(hit.key) ?? 0) + 1;
			counts.set(hit.key, n);
			if (n >= settings[rule.setting] && !fired) fired = { kind: rule.kind, tool: hit.tool, detail: hit.detail };
		}
		if (fired) for (const counts of counters.values()) counts.clear();
	};

	return {
		call: (call) => see({ at: "call", call }),
		result: (result, call) => see({ at: "result", result, call }),
		take() {
			const t = fired;
			fired = undefined;
			return t;
		},
	};
}
