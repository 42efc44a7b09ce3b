/**
 * What the ladder cost and saved, derived from the session branch alone (so it survives resume and fork):
 * each `plan-stepdown:call` entry is joined with the assistant message that follows it, which carries pi's
 * usage and cost for the real model. The "flat rung 0" figure prices the same tokens at rung 0's model:
 * a counterfactual on identical token counts, not a claim about quality.
 */
import type { Api, Model } from "@mariozechner/pi-ai";
import type { Trigger } from "./ladder.ts";
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
	cost: number;
	failed: boolean;
	/** Index of the implementation run (counting kickoffs); -1 for planning and user-started runs. */
	run: number;
}

export interface RungTotals extends Tokens {
	rung: number;
	calls: number;
	cost: number;
	models: string[];
}

export interface Summary {
	calls: number;
	failed: number;
	cost: number;
	/** Same tokens priced at rung 0's model; undefined when rung 0's prices are unknown. */
	flatCost: number | undefined;
	savings: number | undefined;
	savingsPct: number | undefined;
	perRung: RungTotals[];
	bumps: { rung: number; trigger: Trigger }[];
	lastRun: { calls: number; cost: number; flatCost: number | undefined } | undefined;
	table: string[];
}

interface BranchEntry {
	type: string;
	customType?: string;
	data?: unknown;
	message?: {
		role?: string;
		stopReason?: string;
		usage?: Partial<Tokens> & { cost?: { total?: number } };
	};
}

/** Join call records with the assistant messages that answered them. */
export function callCosts(branch: readonly BranchEntry[]): CallCost[] {
	const out: CallCost[] = [];
	let open: CallEntry | undefined;
	let run = -1;
	let inRun = false; // an implementation run: from a kickoff until the user (or planning) has the next call
	for (const entry of branch) {
		if (entry.type === "custom" && entry.customType === CALL_TYPE && isCallEntry(entry.data)) {
			open = entry.data;
			if (open.reason === "kickoff") {
				run++;
				inRun = true;
			} else if (open.reason === "user-turn" || open.reason === "planning") {
				inRun = false;
			}
			continue;
		}
		if (!open || entry.type !== "message" || entry.message?.role !== "assistant") continue;
		const usage = entry.message.usage ?? {};
		out.push({
			call: open,
			tokens: {
				input: usage.input ?? 0,
				output: usage.output ?? 0,
				cacheRead: usage.cacheRead ?? 0,
				cacheWrite: usage.cacheWrite ?? 0,
			},
			cost: usage.cost?.total ?? 0,
			failed: entry.message.stopReason === "error" || entry.message.stopReason === "aborted",
			run: inRun ? run : -1,
		});
		open = undefined;
	}
	return out;
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

export function summarize(calls: readonly CallCost[], rung0Prices: Prices | undefined): Summary {
	const perRung = new Map<number, RungTotals>();
	let cost = 0;
	let flat = 0;
	let failed = 0;
	const bumps: Summary["bumps"] = [];
	for (const c of calls) {
		cost += c.cost;
		if (c.failed) failed++;
		if (rung0Prices) flat += price(c.tokens, rung0Prices);
		if (c.call.reason === "bump" && c.call.trigger) bumps.push({ rung: c.call.rung, trigger: c.call.trigger });
		const t = perRung.get(c.call.rung) ?? {
			rung: c.call.rung,
			calls: 0,
			cost: 0,
			input: 0,
			output: 0,
			cacheRead: 0,
			cacheWrite: 0,
			models: [],
		};
		t.calls++;
		t.cost += c.cost;
		t.input += c.tokens.input;
		t.output += c.tokens.output;
		t.cacheRead += c.tokens.cacheRead;
		t.cacheWrite += c.tokens.cacheWrite;
		if (!t.models.includes(c.call.model)) t.models.push(c.call.model);
		perRung.set(c.call.rung, t);
	}
	const lastRunIndex = Math.max(-1, ...calls.map((c) => c.run));
	const lastRunCalls = lastRunIndex >= 0 ? calls.filter((c) => c.run === lastRunIndex) : [];
	const flatCost = rung0Prices ? flat : undefined;
	const savings = flatCost !== undefined ? flatCost - cost : undefined;
	const summary: Summary = {
		calls: calls.length,
		failed,
		cost,
		flatCost,
		savings,
		savingsPct: savings !== undefined && flatCost ? (savings / flatCost) * 100 : undefined,
		perRung: [...perRung.values()].sort((a, b) => a.rung - b.rung),
		bumps,
		lastRun:
			lastRunCalls.length > 0
				? {
						calls: lastRunCalls.length,
						cost: lastRunCalls.reduce((s, c) => s + c.cost, 0),
						flatCost: rung0Prices ? lastRunCalls.reduce((s, c) => s + price(c.tokens, rung0Prices), 0) : undefined,
					}
				: undefined,
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
	return model?.cost;
}

const usd = (n: number) => `$${n.toFixed(4)}`;

export function costTable(s: Summary): string[] {
	const lines = ["cost by rung (this branch):", "  rung  calls   input  output  cache-read      cost  models"];
	for (const r of s.perRung) {
		lines.push(
			`  ${String(r.rung).padStart(4)}  ${String(r.calls).padStart(5)}  ${String(r.input).padStart(6)}  ${String(r.output).padStart(6)}  ${String(r.cacheRead).padStart(10)}  ${usd(r.cost).padStart(8)}  ${r.models.join(", ")}`,
		);
	}
	lines.push(`  total ${s.calls} calls${s.failed ? ` (${s.failed} failed)` : ""}: ${usd(s.cost)}`);
	if (s.flatCost !== undefined) {
		lines.push(
			`  flat rung 0 (same tokens at rung 0's prices): ${usd(s.flatCost)}; saved ${usd(s.savings ?? 0)} (${(s.savingsPct ?? 0).toFixed(1)}%)`,
		);
	}
	if (s.lastRun) {
		lines.push(
			`  last implementation run: ${s.lastRun.calls} calls, ${usd(s.lastRun.cost)}${s.lastRun.flatCost !== undefined ? ` (flat rung 0: ${usd(s.lastRun.flatCost)})` : ""}`,
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
	return lines;
}

export function summaryLine(s: Summary): string {
	const flat =
		s.flatCost !== undefined ? ` (flat rung 0: ${usd(s.flatCost)}, saved ${(s.savingsPct ?? 0).toFixed(1)}%)` : "";
	return `plan-stepdown: ${s.calls} calls, ${usd(s.cost)}${flat}, ${s.bumps.length} bump${s.bumps.length === 1 ? "" : "s"}`;
}
