/**
 * Cache-aware stepping: the ladder names a rung for each call (src/ladder.ts); the call may use that rung or any
 * stronger one, never a weaker one, and takes whichever is cheapest over a short horizon given what each rung holds
 * in its prompt cache. Pure functions over plain data: the caller supplies prices, cache states and the clock.
 *
 * Cost model (one call on rung r, prompt P tokens of which C are a prefix some cache could hold, output O):
 *
 * | part                               | priced at                                           |
 * |------------------------------------|-----------------------------------------------------|
 * | hit = min(r's cached prompt, C)    | cacheRead, when r's cache is younger than its TTL   |
 * |   (0 below MIN_CACHED_PROMPT)      |                                                     |
 * | P - hit                            | cacheWrite where the model charges for writes       |
 * |                                    | (Anthropic: pi marks the prompt for caching), else  |
 * |                                    | input                                               |
 * | O                                  | output                                              |
 *
 * A cache is keyed on the model *and* the effort (OpenAI: a level not used before misses; Anthropic: changing
 * thinking parameters invalidates message breakpoints), so two rungs share a cache only when both match.
 */
import { MIN_CACHED_PROMPT, type Prices, type Tokens } from "./accounting.ts";
import { KICKOFF_TYPE, type Phase } from "./ladder.ts";
import { CALL_TYPE, isCallEntry, isStateEntry, STATE_TYPE } from "./state.ts";

export type Stepping = "cache-aware" | "per-call";

/** How many calls ahead the choice looks (the current one included). Chosen on the bench (README, Benchmark). */
export const HORIZON = 4;

/** Time between two calls of an agent working alone, for the horizon's clock (and the bench's). */
export const CALL_GAP_MS = 15_000;

const MINUTE = 60_000;

/**
 * How long a provider keeps a prompt cache without use. Anthropic: 5 min (1 h with long retention); OpenAI: in-memory
 * caches are documented as 5–10 min (up to an hour off-peak), 24 h when `prompt_cache_retention: "24h"` is requested;
 * everything else: the short default.
 */
export function cacheTtlMs(
	model: { provider: string; api: string },
	options: { openaiRetention?: "24h" | "in_memory" | null; anthropicLong?: boolean } = {},
): number {
	if (model.api === "anthropic-messages" || model.provider === "anthropic") {
		return options.anthropicLong ? 60 * MINUTE : 5 * MINUTE;
	}
	if (model.api === "openai-responses" || model.api === "azure-openai-responses" || model.provider === "openai") {
		return options.openaiRetention === "24h" ? 24 * 60 * MINUTE : 5 * MINUTE;
	}
	return 5 * MINUTE;
}

/** The identity of a prompt cache: model and effort. */
export const cacheKey = (model: string, thinking: string) => `${model}:${thinking}`;

export interface RungInfo {
	/** `cacheKey(provider/id, effort)`: rungs with the same key share one cache. */
	key: string;
	prices: Prices;
	ttlMs: number;
}

/** What a rung's cache holds: the prompt tokens its last call sent, and when. */
export interface RungCache {
	prompt: number;
	at: number;
}

export type CacheState = Readonly<Record<string, RungCache | undefined>>;

/** Cached prompt tokens a call on this cache reads, out of `cacheable`. */
export function cacheHit(cache: RungCache | undefined, ttlMs: number, now: number, cacheable: number): number {
	if (!cache || now - cache.at >= ttlMs) return 0;
	const hit = Math.min(cache.prompt, cacheable);
	return hit >= MIN_CACHED_PROMPT ? hit : 0;
}

/** The tokens a call records: `hit` of the prompt read from cache, the rest written (or plain input). */
export function callTokens(prices: Prices, prompt: number, hit: number, output: number): Tokens {
	const uncached = Math.max(0, prompt - hit);
	return prices.cacheWrite > 0
		? { input: 0, output, cacheRead: hit, cacheWrite: uncached }
		: { input: uncached, output, cacheRead: hit, cacheWrite: 0 };
}

/** $ of one call (prices per million tokens). */
export function tokensCost(t: Tokens, p: Prices): number {
	return (t.input * p.input + t.output * p.output + t.cacheRead * p.cacheRead + t.cacheWrite * p.cacheWrite) / 1e6;
}

export interface StepInput {
	/** The rung the ladder decided (decideCall). */
	ladderRung: number;
	/** Every rung of the ladder, by index. */
	rungs: readonly RungInfo[];
	/** Each cache key's state (rungCacheFromBranch). */
	caches: CacheState;
	/** ms, the same clock as the caches' `at`. */
	now: number;
	/** Prompt tokens of the call about to be made (an estimate is fine). */
	prompt: number;
	/** Of those, the prefix a cache could hold: the previous call's prompt when nothing reset it. */
	cacheable: number;
	/** Expected output tokens per call and prompt growth per call, for the horizon. */
	output: number;
	growth: number;
	/** The ladder's rungs for the next calls (after this one); default: one step down per call. */
	ahead?: readonly number[];
	horizon?: number;
	gapMs?: number;
}

export interface StepChoice {
	rung: number;
	ladderRung: number;
	/** Why this rung: "ladder" (the ladder's rung), or a stronger rung kept for its warm cache. */
	why: string;
	/** Estimated cost of the best plan over the horizon starting on each allowed rung (index = rung). */
	estimates: number[];
}

/**
 * The rung for this call: the ladder's or a stronger one, whichever starts the cheapest plan over the horizon.
 * Every plan of `horizon` calls that never goes weaker than the ladder's rung at each step is priced (at most
 * rungs^horizon, a few hundred); ties go to the weaker rung, so an all-cold or all-warm ladder behaves per call.
 */
export function chooseRung(input: StepInput): StepChoice {
	const { ladderRung, rungs } = input;
	const horizon = Math.max(1, input.horizon ?? HORIZON);
	const gap = input.gapMs ?? CALL_GAP_MS;
	const last = rungs.length - 1;
	const ladderAt = (h: number) =>
		h === 0 ? ladderRung : Math.min(input.ahead?.[h - 1] ?? Math.min(ladderRung + h, last), last);

	const caches: Record<string, RungCache | undefined> = { ...input.caches };
	const best = (h: number, prompt: number, cacheable: number, now: number): number => {
		if (h >= horizon) return 0;
		let min = Number.POSITIVE_INFINITY;
		for (let r = 0; r <= ladderAt(h); r++) {
			const cost = step(r, h, prompt, cacheable, now);
			if (cost < min) min = cost;
		}
		return min;
	};
	const step = (r: number, h: number, prompt: number, cacheable: number, now: number): number => {
		const rung = rungs[r] as RungInfo;
		const hit = cacheHit(caches[rung.key], rung.ttlMs, now, cacheable);
		const cost = tokensCost(callTokens(rung.prices, prompt, hit, input.output), rung.prices);
		const saved = caches[rung.key];
		caches[rung.key] = { prompt, at: now };
		const rest = best(h + 1, prompt + input.growth, prompt, now + gap);
		caches[rung.key] = saved;
		return cost + rest;
	};

	const estimates: number[] = [];
	for (let r = 0; r <= ladderRung; r++) estimates.push(step(r, 0, input.prompt, input.cacheable, input.now));
	let rung = ladderRung;
	for (let r = ladderRung - 1; r >= 0; r--)
		if ((estimates[r] as number) < (estimates[rung] as number) - 1e-12) rung = r;
	const why =
		rung === ladderRung
			? "ladder"
			: `warm: rung ${rung}'s cache makes the next ${horizon} calls $${((estimates[ladderRung] as number) - (estimates[rung] as number)).toFixed(4)} cheaper than rung ${ladderRung}`;
	return { rung, ladderRung, why, estimates };
}

// ------------------------------------------------------------------------------------------------ from the branch

/** The subset of a session entry this module reads (pi's SessionEntry, old id-less files included). */
export interface StepEntry {
	type: string;
	customType?: string;
	data?: unknown;
	thinkingLevel?: string;
	timestamp?: string | number;
	message?: {
		role?: string;
		provider?: string;
		model?: string;
		stopReason?: string;
		timestamp?: number;
		usage?: Partial<Tokens>;
	};
}

export interface BranchCaches {
	caches: Record<string, RungCache>;
	/** The last call's prompt tokens and when it was sent (undefined after a reset or before any call). */
	lastPrompt: number | undefined;
	lastAt: number | undefined;
	/** Recent means, for the horizon: output tokens per call and prompt growth per call. */
	output: number;
	growth: number;
	/** The phase of the last routed call. */
	phase: Phase | undefined;
	/** The rung the ladder named for each routed call (the entry's `ladderRung`, else its `rung`), oldest first. */
	recentLadder: number[];
}

/** Entries after which the next prompt no longer starts with the previous one: history summarised away. */
const PREFIX_BREAKERS = new Set(["compaction", "branch_summary"]);
const RECENT = 3;
/** Ladder decisions kept in `recentLadder`: about one Anthropic TTL of calls. */
const RECENT_LADDER = 20;

const entryTime = (e: StepEntry): number | undefined => {
	if (typeof e.message?.timestamp === "number") return e.message.timestamp;
	if (typeof e.timestamp === "number") return e.timestamp;
	if (typeof e.timestamp === "string") {
		const t = Date.parse(e.timestamp);
		return Number.isNaN(t) ? undefined : t;
	}
	return undefined;
};

/**
 * Each cache's state as the branch left it: for every model and effort, the prompt its last answered call sent and
 * when. Routed calls name their model and effort in the `plan-stepdown:call` entry before the assistant message;
 * other calls (mode off) are keyed on the message's model and the session's thinking level. A compaction or branch
 * summary empties every cache (the prompt's prefix changed), and so does a change of phase (the system prompt and
 * tools change between planning and implementing).
 */
export function rungCacheFromBranch(entries: readonly StepEntry[], sessionThinking = "off"): BranchCaches {
	let caches: Record<string, RungCache> = {};
	let thinking = sessionThinking;
	let open: { model: string; thinking: string; phase: Phase } | undefined;
	let phase: Phase | undefined;
	let mode: string | undefined;
	let lastPrompt: number | undefined;
	let lastAt: number | undefined;
	const outputs: number[] = [];
	const growths: number[] = [];
	const recentLadder: number[] = [];
	for (const entry of entries) {
		if (PREFIX_BREAKERS.has(entry.type)) {
			caches = {};
			lastPrompt = undefined;
			continue;
		}
		if (entry.type === "thinking_level_change" && typeof entry.thinkingLevel === "string") {
			thinking = entry.thinkingLevel;
			continue;
		}
		// The kickoff and every change of mode rewrite the system prompt and tools: a new prefix.
		let newPrefix = entry.type === "custom_message" && entry.customType === KICKOFF_TYPE;
		if (entry.type === "custom" && entry.customType === STATE_TYPE && isStateEntry(entry.data)) {
			newPrefix = entry.data.mode !== mode;
			mode = entry.data.mode;
		}
		if (newPrefix) {
			caches = {};
			lastPrompt = undefined;
			continue;
		}
		if (entry.type === "custom" && entry.customType === CALL_TYPE && isCallEntry(entry.data)) {
			open = { model: entry.data.model, thinking: entry.data.thinking, phase: entry.data.phase };
			const named = (entry.data as { ladderRung?: unknown }).ladderRung;
			recentLadder.push(typeof named === "number" ? named : entry.data.rung);
			if (phase !== undefined && open.phase !== phase) {
				caches = {};
				lastPrompt = undefined;
			}
			phase = open.phase;
			continue;
		}
		const m = entry.message;
		if (entry.type !== "message" || m?.role !== "assistant") continue;
		const key = open
			? cacheKey(open.model, open.thinking)
			: cacheKey(`${m.provider ?? "?"}/${m.model ?? "?"}`, thinking);
		open = undefined;
		const u = m.usage ?? {};
		const prompt = (u.input ?? 0) + (u.cacheRead ?? 0) + (u.cacheWrite ?? 0);
		if (prompt <= 0 || m.stopReason === "error" || m.stopReason === "aborted") continue; // sent nothing cacheable
		const at = entryTime(entry) ?? lastAt ?? 0;
		caches[key] = { prompt, at };
		if (lastPrompt !== undefined) growths.push(Math.max(0, prompt - lastPrompt));
		outputs.push(u.output ?? 0);
		lastPrompt = prompt;
		lastAt = at;
	}
	const mean = (xs: number[]) => {
		const recent = xs.slice(-RECENT);
		return recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : 0;
	};
	return {
		caches,
		lastPrompt,
		lastAt,
		output: mean(outputs),
		growth: mean(growths),
		phase,
		recentLadder: recentLadder.slice(-RECENT_LADDER),
	};
}

// ------------------------------------------------------------------------------------------------ a live call

export interface LiveRung {
	index: number;
	model: { provider: string; id: string; api: string; cost: Prices };
	/** The rung's effort for this call. */
	thinking: string;
}

/**
 * Cache-aware stepping for the call about to be made, from what the session branch recorded: the rung to use, or
 * undefined to keep the ladder's. Only implementation calls of the agent loop step; planning stays on rung 0.
 */
export function stepLive(input: {
	ladderRung: number;
	rungs: readonly LiveRung[];
	branch: readonly StepEntry[];
	sessionThinking: string;
	openaiRetention: "24h" | "in_memory" | null;
	anthropicLong: boolean;
	now: number;
}): StepChoice | undefined {
	const { ladderRung, rungs } = input;
	// Nothing stronger to stay on, or a rung that did not resolve: the ladder's rung.
	if (ladderRung === 0 || rungs.some((r, i) => r.index !== i)) return undefined;
	const st = rungCacheFromBranch(input.branch, input.sessionThinking);
	if (st.lastPrompt === undefined) return undefined;
	const prompt = st.lastPrompt + st.growth;
	const info: RungInfo[] = rungs.map((r) => ({
		key: cacheKey(`${r.model.provider}/${r.model.id}`, r.thinking),
		prices: r.model.cost,
		ttlMs: cacheTtlMs(r.model, { openaiRetention: input.openaiRetention, anthropicLong: input.anthropicLong }),
	}));
	const cacheable = st.phase && st.phase !== "implementing" ? 0 : Math.min(prompt, st.lastPrompt);
	return chooseRung({
		ladderRung,
		rungs: info,
		caches: st.caches,
		now: input.now,
		prompt,
		cacheable,
		output: st.output,
		growth: st.growth,
	});
}
