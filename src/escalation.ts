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

const succeeded = (seen: Seen, ...tools: string[]) =>
	seen.at === "result" && !seen.result.isError && tools.includes(seen.result.toolName);
const failed = (seen: Seen) => (seen.at === "result" && seen.result.isError ? seen : undefined);

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
		clears: (s) => (s.at === "result" && !s.result.isError ? "all" : undefined),
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
