/**
 * What the ladder cost and saved, derived from the session branch alone (so it survives resume and fork):
 * each `plan-stepdown:call` entry is joined with the assistant message that follows it, which carries pi's
 * usage and cost for the real model. The "flat rung 0" figure prices the same tokens at rung 0's model:
 * a counterfactual on identical token counts, not a claim about quality. One correction keeps it honest:
 * prompt caches are keyed on the model (and, as measured by users of OpenAI and Anthropic models, on the reasoning
 * effort), so a call that switched rung could read its context uncached where one rung all along would have read it
 * from cache; the flat run gets that cache back (see `flatTokens`).
 */
import type { Api, Model } from "@mariozechner/pi-ai";
import { type Failover, failoverOf } from "./failover.ts";
import { KICKOFF_TYPE, type Phase, type Trigger } from "./ladder.ts";
import type { RegistryLike } from "./resolve.ts";
import { rungRef } from "./resolve.ts";
import type { Config } from "./schema.ts";
import { CALL_TYPE, type CallEntry, isCallEntry } from "./state.ts";

export interface Tokens {
	input: number;
	output: number;
	cacheRead: number;
	cacheWrite: number;
}

export interface Prices {
	input: number;
	output: number;
	cacheRead: number;
	cacheWrite: number;
}

export interface CallCost {
	call: CallEntry;
	tokens: Tokens;
	/** The same call in a flat rung-0 run: the same tokens, with the cache one rung all along would have kept. */
	flatTokens: Tokens;
	cost: number;
	failed: boolean;
	/** The provider's error, for a failed call. */
	error?: string;
	/** The assistant message's usage or cost was not plausible numbers (corrupted session): counted as zero. */
	invalid: boolean;
	/** Part of the review turn on rung 0 (the review call and the calls that follow it in its run). */
	review: boolean;
	/** Index of the implementation run the call belongs to (a kickoff or a user prompt while implementing starts
	 * one); -1 for planning calls. */
	run: number;
}

export interface RungTotals extends Tokens {
	rung: number;
	calls: number;
	cost: number;
	models: string[];
}

export interface PhaseTotals {
	calls: number;
	cost: number;
	flatCost: number | undefined;
}

export interface RunTotals extends PhaseTotals {
	/** How the run started: the approved plan's kickoff, or the user's prompt while implementing. */
	start: "kickoff" | "follow-up";
	perRung: RungTotals[];
}

export interface Summary {
	calls: number;
	failed: number;
	/** The last call failed (a headless run that exits non-zero ended on it). */
	lastFailure?: { rung: number; model: string; error: string };
	/** Calls whose recorded usage or cost was unreadable, counted as zero. */
	invalid: number;
	cost: number;
	/** Same tokens priced at rung 0's model; undefined when rung 0's prices are unknown. */
	flatCost: number | undefined;
	savings: number | undefined;
	savingsPct: number | undefined;
	/** Planning is always rung 0: the savings come from the implementing calls. */
	perPhase: Record<Phase, PhaseTotals>;
	/** Prompt tokens read uncached by calls that switched rung, which one rung all along would have read from cache. */
	cacheLostTokens: number;
	perRung: RungTotals[];
	bumps: { rung: number; trigger: Trigger }[];
	/** Loops a cheaper rung got into, each handed to rung 0 (see escalation.ts). */
	escalations: Trigger[];
	/** The review turns on rung 0 and what they cost (also counted in the totals). */
	review: { calls: number; cost: number };
	/** Retries that moved off a rate-limited or overloaded rung (see failover.ts): where to, and why. */
	failovers: (Failover & { rung: number; model: string })[];
	/** Every implementation run of the branch, oldest first. */
	runs: RunTotals[];
	lastRun: RunTotals | undefined;
	table: string[];
}

/**
 * Providers cache a prompt prefix only from this size on (OpenAI; Anthropic Opus/Sonnet; Gemini's smallest minimum):
 * below it a flat run would not have read from cache either.
 */
export const MIN_CACHED_PROMPT = 1024;

/** Entries after which the next prompt no longer starts with the previous one: history summarised away. */
const PREFIX_BREAKERS = new Set(["compaction", "branch_summary"]);

export const promptTokens = (t: Tokens) => t.input + t.cacheRead + t.cacheWrite;

/**
 * The call as a flat rung-0 run would have made it. When the call switched rung (model or effort) in the same phase,
 * its context could be cold for the new rung; one rung all along would have read the previous call's prompt from
 * its cache. Those tokens move from input (then cache writes) to cache reads; everything else stays as recorded.
 * A phase change rewrites the system prompt and tools, so the prefix changes for the flat run too: no credit there.
 * Flat's cache is assumed not to expire between calls, which can only understate the savings.
 */
export function flatTokens(tokens: Tokens, previousPrompt: number | undefined): Tokens {
	if (previousPrompt === undefined || previousPrompt < MIN_CACHED_PROMPT) return tokens;
	const extra = Math.min(previousPrompt, promptTokens(tokens)) - tokens.cacheRead;
	if (extra <= 0) return tokens;
	const fromInput = Math.min(extra, tokens.input);
	const fromWrite = Math.min(extra - fromInput, tokens.cacheWrite);
	return {
		input: tokens.input - fromInput,
		output: tokens.output,
		cacheRead: tokens.cacheRead + fromInput + fromWrite,
		cacheWrite: tokens.cacheWrite - fromWrite,
	};
}

interface BranchEntry {
	type: string;
	customType?: string;
	data?: unknown;
	message?: {
		role?: string;
		stopReason?: string;
		/** Validated by readUsage: a session file is user data. */
		usage?: unknown;
		errorMessage?: unknown;
	};
}

/** Join call records with the assistant messages that answered them. */
export function callCosts(branch: readonly BranchEntry[]): CallCost[] {
	const out: CallCost[] = [];
	let open: CallEntry | undefined;
	let run = -1;
	let inRun = false;
	// A user prompt or the kickoff since the last call: the next implementing call opens a run (a retried call does not).
	let started = false;
	let inReview = false;
	// The last routed call whose prompt the next one extends (what a single model would hold in its cache).
	let previous: { model: string; thinking: string; phase: Phase; prompt: number } | undefined;
	for (const entry of branch) {
		if (PREFIX_BREAKERS.has(entry.type)) previous = undefined;
		if (
			(entry.type === "custom_message" && entry.customType === KICKOFF_TYPE) ||
			(entry.type === "message" && entry.message?.role === "user")
		) {
			started = true;
		}
		if (entry.type === "custom" && entry.customType === CALL_TYPE && isCallEntry(entry.data)) {
			open = entry.data;
			if (open.reason === "review") inReview = true;
			else if (started || open.phase === "planning") inReview = false;
			if (open.phase === "planning") {
				inRun = false;
			} else if ((open.reason === "kickoff" || open.reason === "user-turn") && (started || !inRun)) {
				run++;
				inRun = true;
			}
			started = false;
			continue;
		}
		if (entry.type !== "message" || entry.message?.role !== "assistant") continue;
		if (!open) {
			previous = undefined; // a call we did not route (mode off): its model now holds the cache
			continue;
		}
		const usage = readUsage(entry.message.usage);
		const tokens = usage.tokens;
		// Only what the call did not read itself is credited: a provider whose cache survived the switch costs nothing.
		const switched =
			previous !== undefined &&
			previous.phase === open.phase &&
			(previous.model !== open.model || previous.thinking !== open.thinking);
		out.push({
			call: open,
			tokens,
			flatTokens: flatTokens(tokens, switched ? previous?.prompt : undefined),
			cost: usage.cost,
			failed: entry.message.stopReason === "error" || entry.message.stopReason === "aborted",
			...(typeof entry.message.errorMessage === "string" ? { error: entry.message.errorMessage } : {}),
			invalid: usage.invalid,
			review: inReview,
			run: inRun ? run : -1,
		});
		// A failed call that sent nothing (no usage) leaves the cache as it was.
		if (promptTokens(tokens) > 0) {
			previous = { model: open.model, thinking: open.thinking, phase: open.phase, prompt: promptTokens(tokens) };
		}
		open = undefined;
	}
	return out;
}

/** Above these a recorded figure is corruption, not usage: no call reads a billion tokens or costs $10,000. */
const MAX_TOKENS = 1e9;
const MAX_COST = 1e4;

const plausible = (v: unknown, max: number): v is number =>
	typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= max;

/**
 * Usage as the session recorded it, validated: a missing field is 0; a string, NaN, negative or absurd figure makes
 * the whole call count as zero (flagged `invalid`), so reports never print $NaN or a savings of millions of percent.
 */
export function readUsage(usage: unknown): { tokens: Tokens; cost: number; invalid: boolean } {
	const zero = { tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, cost: 0 };
	if (usage === undefined || usage === null) return { ...zero, invalid: false };
	if (typeof usage !== "object") return { ...zero, invalid: true };
	const u = usage as Record<string, unknown>;
	const fields = ["input", "output", "cacheRead", "cacheWrite"] as const;
	const tokens = { ...zero.tokens };
	for (const field of fields) {
		const v = u[field] ?? 0;
		if (!plausible(v, MAX_TOKENS)) return { ...zero, invalid: true };
		tokens[field] = v;
	}
	const costField = u.cost;
	if (costField !== undefined && (typeof costField !== "object" || costField === null))
		return { ...zero, invalid: true };
	const total = (costField as Record<string, unknown> | undefined)?.total ?? 0;
	if (!plausible(total, MAX_COST)) return { ...zero, invalid: true };
	return { tokens, cost: total, invalid: false };
}

/** $ per million tokens, as in pi's model table. */
export function price(tokens: Tokens, prices: Prices): number {
	return (
		(tokens.input * prices.input +
			tokens.output * prices.output +
			tokens.cacheRead * prices.cacheRead +
			tokens.cacheWrite * prices.cacheWrite) /
		1_000_000
	);
}

function phaseTotals(calls: readonly CallCost[], rung0Prices: Prices | undefined): PhaseTotals {
	return {
		calls: calls.length,
		cost: calls.reduce((sum, c) => sum + c.cost, 0),
		flatCost: rung0Prices ? calls.reduce((sum, c) => sum + price(c.flatTokens, rung0Prices), 0) : undefined,
	};
}

/** Adds the call to its rung's row; rows stay sorted by rung. */
function addToRung(perRung: RungTotals[], c: CallCost): void {
	let t = perRung.find((r) => r.rung === c.call.rung);
	if (!t) {
		t = { rung: c.call.rung, calls: 0, cost: 0, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, models: [] };
		perRung.push(t);
		perRung.sort((a, b) => a.rung - b.rung);
	}
	t.calls++;
	t.cost += c.cost;
	t.input += c.tokens.input;
	t.output += c.tokens.output;
	t.cacheRead += c.tokens.cacheRead;
	t.cacheWrite += c.tokens.cacheWrite;
	if (!t.models.includes(c.call.model)) t.models.push(c.call.model);
}

function addToRun(runs: Map<number, RunTotals>, c: CallCost, rung0Prices: Prices | undefined): void {
	let run = runs.get(c.run);
	if (!run) {
		const start = c.call.reason === "kickoff" ? "kickoff" : "follow-up";
		run = { start, calls: 0, cost: 0, flatCost: rung0Prices ? 0 : undefined, perRung: [] };
		runs.set(c.run, run);
	}
	run.calls++;
	run.cost += c.cost;
	if (run.flatCost !== undefined && rung0Prices) run.flatCost += price(c.flatTokens, rung0Prices);
	addToRung(run.perRung, c);
}

export function summarize(calls: readonly CallCost[], rung0Prices: Prices | undefined): Summary {
	const perRung: RungTotals[] = [];
	const runs = new Map<number, RunTotals>();
	const bumps: Summary["bumps"] = [];
	const escalations: Trigger[] = [];
	const failovers: Summary["failovers"] = [];
	let cacheLostTokens = 0;
	for (const c of calls) {
		if (c.call.reason === "bump" && c.call.trigger) bumps.push({ rung: c.call.rung, trigger: c.call.trigger });
		if (c.call.reason === "escalation" && c.call.trigger) escalations.push(c.call.trigger);
		const moved = failoverOf(c.call);
		if (moved && !moved.kept) failovers.push({ ...moved, rung: c.call.rung, model: c.call.model });
		cacheLostTokens += c.flatTokens.cacheRead - c.tokens.cacheRead;
		addToRung(perRung, c);
		if (c.run >= 0) addToRun(runs, c, rung0Prices);
	}
	const all = phaseTotals(calls, rung0Prices);
	const inPhase = (phase: Phase) =>
		phaseTotals(
			calls.filter((c) => c.call.phase === phase),
			rung0Prices,
		);
	const savings = all.flatCost !== undefined ? all.flatCost - all.cost : undefined;
	const runList = [...runs.values()];
	const reviewed = calls.filter((c) => c.review);
	const summary: Summary = {
		calls: calls.length,
		failed: calls.filter((c) => c.failed).length,
		...endedOnFailure(calls),
		invalid: calls.filter((c) => c.invalid).length,
		cost: all.cost,
		flatCost: all.flatCost,
		savings,
		savingsPct: savings !== undefined && all.flatCost ? (savings / all.flatCost) * 100 : undefined,
		perPhase: { planning: inPhase("planning"), implementing: inPhase("implementing") },
		cacheLostTokens,
		perRung,
		bumps,
		escalations,
		failovers,
		review: { calls: reviewed.length, cost: reviewed.reduce((sum, c) => sum + c.cost, 0) },
		runs: runList,
		lastRun: runList.at(-1),
		table: [],
	};
	summary.table = costTable(summary);
	return summary;
}

export function accountingSummary(
	branch: readonly BranchEntry[],
	config: Config,
	registry: RegistryLike | undefined,
): Summary {
	return summarize(callCosts(branch), rung0Prices(config, registry));
}

function rung0Prices(config: Config, registry: RegistryLike | undefined): Prices | undefined {
	const rung = config.ladder[0];
	const ref = rung ? rungRef(rung, config) : undefined;
	const model: Model<Api> | undefined = ref ? registry?.find(ref.provider, ref.id) : undefined;
	const cost = model?.cost;
	// A models.json can say anything: prices that are not plausible numbers give no flat figure rather than $NaN.
	if (!cost || ![cost.input, cost.output, cost.cacheRead, cost.cacheWrite].every((p) => plausible(p, 1e6))) {
		return undefined;
	}
	return cost;
}

/** Dollars to 4 decimals; a negative amount as -$x, and one that rounds to zero as $0.0000 (never $-0.0000). */
export const usd = (n: number) => {
	if (!Number.isFinite(n)) return "$?";
	const text = Math.abs(n).toFixed(4);
	return n < 0 && Number(text) !== 0 ? `-$${text}` : `$${text}`;
};
/** A percentage only when it means something: finite and within ±1000%. One decimal; never -0.0. */
const pct = (n: number | undefined) => {
	if (n === undefined || !Number.isFinite(n) || Math.abs(n) > 1000) return "n/a";
	const r = Math.round(n * 10) / 10;
	return `${(r === 0 ? 0 : r).toFixed(1)}%`;
};

/** A failed call in one line: its rung, model and the provider's error (on one line, at most 300 characters). */
export const failureText = (f: { rung: number; model: string; error: string }) =>
	`the last call failed: rung ${f.rung} ${f.model}: ${f.error.replace(/\s+/g, " ").trim().slice(0, 300)}`;

/** The session's last call failed (the run ended on it): which rung, model and error, for the summary line. */
function endedOnFailure(calls: readonly CallCost[]): { lastFailure?: { rung: number; model: string; error: string } } {
	const last = calls[calls.length - 1];
	if (!last?.failed) return {};
	return { lastFailure: { rung: last.call.rung, model: last.call.model, error: last.error ?? "aborted" } };
}
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const ofFlat = (t: PhaseTotals) =>
	t.flatCost ? ` (flat rung 0: ${usd(t.flatCost)}, ${pct((t.cost / t.flatCost) * 100)} of it)` : "";

const RUNG_HEADER = "  rung  calls   input  output  cache-read      cost  models";

function rungRows(perRung: readonly RungTotals[]): string[] {
	return perRung.map(
		(r) =>
			`  ${String(r.rung).padStart(4)}  ${String(r.calls).padStart(5)}  ${String(r.input).padStart(6)}  ${String(r.output).padStart(6)}  ${String(r.cacheRead).padStart(10)}  ${usd(r.cost).padStart(8)}  ${r.models.join(", ")}`,
	);
}

export function costTable(s: Summary): string[] {
	const lines = ["cost by rung (this branch):", RUNG_HEADER, ...rungRows(s.perRung)];
	lines.push(`  total ${plural(s.calls, "call")}${s.failed ? ` (${s.failed} failed)` : ""}: ${usd(s.cost)}`);
	if (s.flatCost !== undefined) {
		lines.push(
			`  flat rung 0 (same tokens at rung 0's prices): ${usd(s.flatCost)}; saved ${usd(s.savings ?? 0)} (${pct(s.savingsPct ?? 0)})`,
		);
	}
	if (s.invalid > 0) {
		lines.push(`  ${plural(s.invalid, "call")} with unreadable usage in the session (counted as $0)`);
	}
	const { planning, implementing } = s.perPhase;
	if (planning.calls > 0 && implementing.calls > 0) {
		lines.push(`  planning (rung 0): ${plural(planning.calls, "call")}, ${usd(planning.cost)}`);
		lines.push(
			`  implementing: ${plural(implementing.calls, "call")}, ${usd(implementing.cost)}${ofFlat(implementing)}`,
		);
	}
	if (s.cacheLostTokens > 0) {
		lines.push(
			`  prompt cache lost to rung switches: ${s.cacheLostTokens} tokens read uncached (flat rung 0 is credited with them)`,
		);
	}
	if (s.bumps.length > 0) {
		lines.push("  bumps:");
		for (const b of s.bumps) {
			lines.push(
				`    → rung ${b.rung} after ${b.trigger.kind}${b.trigger.detail ? `: ${b.trigger.detail}` : ` (${b.trigger.tool})`}`,
			);
		}
	}
	if (s.escalations.length > 0) {
		lines.push("  escalations to rung 0:");
		for (const e of s.escalations) {
			lines.push(`    after ${e.kind}${e.tool ? ` (${e.tool})` : ""}${e.detail ? `: ${e.detail}` : ""}`);
		}
	}
	if (s.review.calls > 0) lines.push(`  review on rung 0: ${plural(s.review.calls, "call")}, ${usd(s.review.cost)}`);
	if (s.failovers.length > 0) {
		lines.push("  failovers:");
		for (const f of s.failovers) lines.push(`    rung ${f.from} → ${f.rung} (${f.model}): ${f.cause}`);
	}
	const last = s.lastRun;
	if (last) {
		const started = last.start === "kickoff" ? "started by the approved plan" : "started by your prompt";
		lines.push(
			`last implementation run (${s.runs.length} in this branch; ${started}): ${plural(last.calls, "call")}, ${usd(last.cost)}${ofFlat(last)}`,
			RUNG_HEADER,
			...rungRows(last.perRung),
		);
	}
	return lines;
}

/** The plan's steps for the summary line: shown whenever the approved plan has steps, `0/N` when none was reported. */
export interface StepsDone {
	done: number;
	total: number;
}

export function summaryLine(s: Summary, steps?: StepsDone): string {
	const flat = s.flatCost !== undefined ? ` (flat rung 0: ${usd(s.flatCost)}, saved ${pct(s.savingsPct ?? 0)})` : "";
	const escalated = s.escalations.length > 0 ? `, ${plural(s.escalations.length, "escalation")}` : "";
	const failedOver = s.failovers.length > 0 ? `, ${plural(s.failovers.length, "failover")}` : "";
	const reviewed = s.review.calls > 0 ? `, ${plural(s.review.calls, "review call")} (${usd(s.review.cost)})` : "";
	const stepped = steps && steps.total > 0 ? `, ${steps.done}/${steps.total} steps done` : "";
	const f = s.lastFailure;
	const failure = f ? `; ${failureText(f)}` : "";
	return `plan-stepdown: ${plural(s.calls, "call")}, ${usd(s.cost)}${flat}, ${plural(s.bumps.length, "bump")}${escalated}${failedOver}${reviewed}${stepped}${failure}`;
}
