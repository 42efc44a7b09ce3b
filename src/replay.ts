/**
 * Price a ladder on a recorded session: every LLM call of the branch is replayed through the ladder's own decision
 * (ladder.ts decideCall) and the configured stepping (stepping.ts chooseRung), on the same prompt and output tokens,
 * with each rung's prompt cache modelled (stepping.ts: what its key last sent, its TTL on the calls' real timestamps).
 * A counterfactual on identical tokens: it says what the calls would have cost, not how well another model would have
 * done the work. Pure: entries, config and prices in, figures out.
 */
import { type Prices, type Tokens, usd } from "./accounting.ts";
import {
	type AgentMessageLike,
	currentSegment,
	decideCall,
	KICKOFF_TYPE,
	type Mode,
	toCallMessages,
} from "./ladder.ts";
import { type RegistryLike, rungRef } from "./resolve.ts";
import type { Config } from "./schema.ts";
import type { SessionFileEntry } from "./session-reader.ts";
import { sessionCalls } from "./session-reader.ts";
import { CALL_TYPE, isCallEntry, STATE_TYPE } from "./state.ts";
import {
	CALL_GAP_MS,
	cacheHit,
	cacheKey,
	cacheTtlMs,
	callTokens,
	chooseRung,
	type RungCache,
	type RungInfo,
	type Stepping,
	tokensCost,
} from "./stepping.ts";

/** What the replay knows of a model: its prices (pi's model table) and API (for the cache TTL). */
export interface ModelPrice {
	cost: Prices;
	api?: string;
}

export type PriceLookup = (ref: string) => ModelPrice | undefined;

/** Prices from pi's model registry (the live extension's): "provider/id" → the model's cost and API. */
export function registryPrices(registry: Pick<RegistryLike, "find">): PriceLookup {
	return (ref) => {
		const slash = ref.indexOf("/");
		const model = slash > 0 ? registry.find(ref.slice(0, slash), ref.slice(slash + 1)) : undefined;
		return model ? { cost: model.cost, api: model.api } : undefined;
	};
}

export interface ReplayRung extends Tokens {
	rung: number;
	model: string;
	thinking: string;
	calls: number;
	cost: number;
}

export interface ReplayResult {
	stepping: Stepping;
	calls: number;
	failed: number;
	cost: number;
	/** Rung 0 for every call, through the same cache model. */
	flatCost: number;
	/** What the session really cost, as pi recorded it (usage.cost.total). */
	recordedCost: number;
	perRung: ReplayRung[];
	/** Prompt tokens the ladder read uncached that flat rung 0 read from its cache. */
	cacheLostTokens: number;
	/** Calls that stayed on a stronger rung than the ladder named (cache-aware). */
	stronger: number;
	/** The rung each call used, and the ladder's. */
	rungs: number[];
	ladderRungs: number[];
	problems: string[];
}

export interface ReplayOptions {
	/** Overrides config.stepping. */
	stepping?: Stepping;
	/** The session's thinking level, for rungs that set none (default: the header's, else "off"). */
	sessionThinking?: string;
}

interface Sim {
	caches: Record<string, RungCache>;
	cost: number;
}

const PREFIX_BREAKERS = new Set(["compaction", "branch_summary"]);

/** Replays the branch (oldest entry first) on `config`'s ladder. */
export function replayBranch(
	entries: readonly SessionFileEntry[],
	config: Config,
	prices: PriceLookup,
	options: ReplayOptions = {},
): ReplayResult {
	const stepping = options.stepping ?? config.stepping ?? "cache-aware";
	const problems: string[] = [];
	const sessionThinking =
		options.sessionThinking ??
		(entries.find((e) => e.type === "thinking_level_change") as { thinkingLevel?: string } | undefined)
			?.thinkingLevel ??
		"off";
	const rungs: (RungInfo & { model: string; thinking: string })[] = [];
	config.ladder.forEach((rung, i) => {
		const ref = rungRef(rung, config);
		const model = ref ? `${ref.provider}/${ref.id}` : "";
		const price = prices(model);
		if (!ref || !price) {
			problems.push(`ladder[${i}]: no prices for "${model || "(no model)"}"`);
			return;
		}
		const thinking = rung.thinking ?? sessionThinking;
		rungs.push({
			model,
			thinking,
			key: cacheKey(model, thinking),
			prices: price.cost,
			ttlMs: cacheTtlMs(
				{ provider: ref.provider, api: price.api ?? "" },
				{ openaiRetention: config.openaiPromptCache.retention },
			),
		});
	});
	const result: ReplayResult = {
		stepping,
		calls: 0,
		failed: 0,
		cost: 0,
		flatCost: 0,
		recordedCost: 0,
		perRung: rungs.map((r, rung) => ({
			rung,
			model: r.model,
			thinking: r.thinking,
			calls: 0,
			cost: 0,
			input: 0,
			output: 0,
			cacheRead: 0,
			cacheWrite: 0,
		})),
		cacheLostTokens: 0,
		stronger: 0,
		rungs: [],
		ladderRungs: [],
		problems,
	};
	if (rungs.length === 0 || problems.length > 0) {
		if (rungs.length === 0 && problems.length === 0) problems.push("the ladder is empty");
		return result;
	}

	const calls = new Map(sessionCalls(entries).map((c) => [c.entry, c]));
	const messages: AgentMessageLike[] = [];
	const ladder: Sim = { caches: {}, cost: 0 };
	const flat: Sim = { caches: {}, cost: 0 };
	let mode: Mode = "off";
	let newPrefix = false;
	let prefixAfterCall = false;
	let callPhase: Mode | undefined;
	let lastPrompt: number | undefined;
	let lastAt: number | undefined;
	const outputs: number[] = [];
	const growths: number[] = [];
	const mean = (xs: number[]) => (xs.length ? xs.slice(-3).reduce((a, b) => a + b, 0) / Math.min(3, xs.length) : 0);

	entries.forEach((entry, index) => {
		if (PREFIX_BREAKERS.has(entry.type)) {
			newPrefix = true;
			messages.push({ role: entry.type === "compaction" ? "compactionSummary" : "branchSummary" });
			return;
		}
		if (entry.type === "custom" && entry.customType === STATE_TYPE) {
			const next = (entry.data as { mode?: Mode } | undefined)?.mode;
			// A change written while a call is in flight (auto-approve, before the last planning answer) rewrites the
			// prompt of the calls after that one: the call in flight was sent on the old prefix.
			if (next && next !== mode) {
				if (callPhase === undefined) newPrefix = true;
				else prefixAfterCall = true;
			}
			if (next) mode = next;
			return;
		}
		if (entry.type === "custom" && entry.customType === CALL_TYPE && isCallEntry(entry.data)) {
			// The extension's own record of the call that follows: its phase is the mode it was made in (with
			// auto-approve the implementing state is written before the last planning call's answer).
			callPhase = entry.data.phase;
			return;
		}
		if (entry.type === "custom_message") {
			if (entry.customType === KICKOFF_TYPE) newPrefix = true;
			messages.push({ role: "custom", customType: entry.customType });
			return;
		}
		if (entry.type !== "message" || !entry.message) return;
		const call = calls.get(index);
		if (!call) {
			messages.push(entry.message as AgentMessageLike);
			return;
		}

		// A session recorded without the extension (or with it off) replays as implementation with a user in the loop.
		const decision = decideCall(
			callPhase ?? (mode === "off" ? "implementing" : mode),
			rungs.length,
			toCallMessages(currentSegment(messages)),
			config.reasoningBump,
		);
		const ladderRung = decision?.rung ?? 0;
		const u = call.usage;
		const prompt = u.input + u.cacheRead + u.cacheWrite;
		const at = call.at ?? (lastAt ?? 0) + CALL_GAP_MS;
		const failed = call.stopReason === "error" || call.stopReason === "aborted";
		// The prefix one model all along could have read: the previous prompt, unless something rewrote the prefix.
		const cacheable = newPrefix ? u.cacheRead : Math.min(prompt, lastPrompt ?? 0);
		const cut = newPrefix && !failed;
		let rung = ladderRung;
		if (stepping === "cache-aware") {
			rung = chooseRung({
				ladderRung,
				rungs,
				caches: cut ? {} : ladder.caches,
				now: at,
				prompt,
				cacheable,
				output: mean(outputs),
				growth: mean(growths),
			}).rung;
		}
		const apply = (sim: Sim, info: RungInfo): Tokens => {
			if (cut) for (const c of Object.values(sim.caches)) c.prompt = Math.min(c.prompt, cacheable);
			const hit = cacheHit(sim.caches[info.key], info.ttlMs, at, cacheable);
			const tokens = callTokens(info.prices, prompt, hit, u.output);
			if (!failed && prompt > 0) sim.caches[info.key] = { prompt, at };
			sim.cost += tokensCost(tokens, info.prices);
			return tokens;
		};
		const info = rungs[rung] as RungInfo;
		const tokens = apply(ladder, info);
		const flatTokens = apply(flat, rungs[0] as RungInfo);
		result.cacheLostTokens += Math.max(0, flatTokens.cacheRead - tokens.cacheRead);
		const row = result.perRung[rung] as ReplayRung;
		row.calls++;
		row.cost += tokensCost(tokens, info.prices);
		row.input += tokens.input;
		row.output += tokens.output;
		row.cacheRead += tokens.cacheRead;
		row.cacheWrite += tokens.cacheWrite;
		result.calls++;
		if (failed) result.failed++;
		if (rung < ladderRung) result.stronger++;
		result.rungs.push(rung);
		result.ladderRungs.push(ladderRung);
		result.recordedCost += (entry.message.usage as { cost?: { total?: number } } | undefined)?.cost?.total ?? 0;
		if (!failed && prompt > 0) {
			if (lastPrompt !== undefined && !newPrefix) growths.push(Math.max(0, prompt - lastPrompt));
			outputs.push(u.output);
			lastPrompt = prompt;
			lastAt = at;
			newPrefix = false;
		}
		messages.push(entry.message as AgentMessageLike);
		callPhase = undefined;
		if (prefixAfterCall) newPrefix = true;
		prefixAfterCall = false;
	});
	result.cost = ladder.cost;
	result.flatCost = flat.cost;
	return result;
}

/** The replay as text: per rung, the totals, flat rung 0, the cache lost, and what the figures do not say. */
export function replayLines(r: ReplayResult, label = "this ladder"): string[] {
	if (r.problems.length > 0) return [`replay: ${r.problems.join("; ")}`];
	const lines = [
		`replay on ${label} (${r.stepping} stepping): ${r.calls} calls${r.failed ? ` (${r.failed} failed)` : ""}`,
		"  rung  calls      input   output   cache-read  cache-write       cost  model",
	];
	for (const x of r.perRung) {
		lines.push(
			`  ${String(x.rung).padStart(4)}  ${String(x.calls).padStart(5)}  ${String(x.input).padStart(9)}  ${String(x.output).padStart(7)}  ${String(x.cacheRead).padStart(11)}  ${String(x.cacheWrite).padStart(11)}  ${usd(x.cost).padStart(9)}  ${x.model} (${x.thinking})`,
		);
	}
	const pct = r.flatCost > 0 ? ` (${((r.cost / r.flatCost) * 100).toFixed(1)}% of flat rung 0)` : "";
	lines.push(`  total: ${usd(r.cost)}${pct}; flat rung 0: ${usd(r.flatCost)}; as recorded: ${usd(r.recordedCost)}`);
	if (r.stronger > 0) lines.push(`  ${r.stronger} calls stayed on a stronger rung than the ladder named (warm cache)`);
	lines.push(`  prompt cache lost to rung switches: ${r.cacheLostTokens} tokens read uncached that rung 0 had cached`);
	lines.push(
		"  identical tokens on every rung: what these calls would have cost, not a claim about the quality another model would have reached",
	);
	return lines;
}
