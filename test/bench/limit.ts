/**
 * The limit: the cheapest any policy could have done on a trace with full knowledge of it, under the same rule
 * (each call on the ladder's rung or a stronger one) and the same cache model (trace.ts `applyCall`). A branch and
 * bound over the choices, call by call: states are the caches' contents, merged when equal; a state is dropped when
 * another one dominates it (cheaper, and every cache at least as large and fresh) or when its cost so far plus a lower
 * bound of the rest (each remaining call at its cheapest rung with a full cache hit) exceeds the cost of a complete
 * path already known (the cheapest of per-call, flat rung 0 and a greedy path). Neither loses the optimum. Beyond
 * that only the cheapest `width` states are kept per call, and the result says whether that cap ever cut (then the
 * figure is an upper bound of the limit).
 */
import { MIN_CACHED_PROMPT } from "../../src/accounting.ts";
import type { RungCache, RungInfo } from "../../src/stepping.ts";
import { callTokens, tokensCost } from "../../src/stepping.ts";
import { applyCall, type SimCall } from "./trace.ts";

export interface LimitResult {
	/** Every call. */
	cost: number;
	/** The implementation calls. */
	implementing: number;
	/** The rung of each call on the cheapest path. */
	rungs: number[];
	width: number;
	/** No state was dropped but for dominance and the bound: the figure is the exact optimum of the cache model. */
	exact: boolean;
	/** The most states kept after any call. */
	peak: number;
}

interface State {
	cost: number;
	implementing: number;
	caches: Record<string, RungCache>;
	/** The path as a linked list, materialised at the end. */
	last: { rung: number; prev: State["last"] } | undefined;
}

/** Caches whose age cannot matter (TTL of an hour or more, longer than any gap the traces have) drop their time. */
const LONG_TTL = 60 * 60_000;
/** Float slack for the bound: a state is pruned only when it is worse by more than rounding. */
const EPS = 1e-9;

function stateKey(caches: Record<string, RungCache>, ttl: ReadonlyMap<string, number>): string {
	return Object.keys(caches)
		.sort()
		.map((k) => `${k}=${caches[k]?.prompt}${(ttl.get(k) ?? 0) < LONG_TTL ? `@${caches[k]?.at}` : ""}`)
		.join("|");
}

/** One call on rung `r` from `caches` (copied): its cost and the caches after it, expired ones removed. */
function step(
	caches: Record<string, RungCache>,
	call: SimCall,
	info: RungInfo,
	ttl: ReadonlyMap<string, number>,
): { cost: number; caches: Record<string, RungCache> } {
	const next: Record<string, RungCache> = {};
	for (const [k, v] of Object.entries(caches)) next[k] = { ...v };
	const cost = tokensCost(applyCall(next, call, info), info.prices);
	// An expired or emptied cache is no cache: states that differ only there are the same state.
	for (const [k, v] of Object.entries(next)) {
		if (v.prompt <= 0 || call.at - v.at >= (ttl.get(k) ?? 0)) delete next[k];
	}
	return { cost, caches: next };
}

/** A complete path that picks each call's rung with `pick`: a feasible upper bound of the limit. */
export function pathOf(
	calls: readonly SimCall[],
	rungs: readonly RungInfo[],
	pick: (call: SimCall, costs: (r: number) => number, index: number) => number,
): { cost: number; implementing: number; rungs: number[] } {
	const ttl = new Map(rungs.map((r) => [r.key, r.ttlMs]));
	let caches: Record<string, RungCache> = {};
	const path = { cost: 0, implementing: 0, rungs: [] as number[] };
	for (const [i, call] of calls.entries()) {
		const r = pick(call, (x) => step(caches, call, rungs[x] as RungInfo, ttl).cost, i);
		const s = step(caches, call, rungs[r] as RungInfo, ttl);
		path.cost += s.cost;
		if (call.implementing) path.implementing += s.cost;
		path.rungs.push(r);
		caches = s.caches;
	}
	return path;
}

/** A lower bound of each call's cost: its cheapest allowed rung, reading all it possibly could from a cache. */
function callFloor(call: SimCall, rungs: readonly RungInfo[]): number {
	let min = Number.POSITIVE_INFINITY;
	for (let r = 0; r <= call.ladderRung; r++) {
		const p = (rungs[r] as RungInfo).prices;
		for (const hit of [0, call.cacheable]) {
			min = Math.min(min, tokensCost(callTokens(p, call.prompt, Math.min(hit, call.prompt), call.output), p));
		}
	}
	return min;
}

export function limitSearch(
	calls: readonly SimCall[],
	rungs: readonly RungInfo[],
	width = 6000,
	/** The rungs of a known path (e.g. the cache-aware policy's): a tighter bound when it is cheaper. */
	hint?: readonly number[],
): LimitResult {
	const ttl = new Map(rungs.map((r) => [r.key, r.ttlMs]));
	// rest[i]: a lower bound of calls i.. together.
	const rest = new Array<number>(calls.length + 1).fill(0);
	for (let i = calls.length - 1; i >= 0; i--) rest[i] = (rest[i + 1] as number) + callFloor(calls[i] as SimCall, rungs);
	const cheapestNow = (call: SimCall, costs: (r: number) => number) => {
		let best = call.ladderRung;
		for (let r = call.ladderRung - 1; r >= 0; r--) if (costs(r) < costs(best)) best = r;
		return best;
	};
	const known = [
		pathOf(calls, rungs, (call) => call.ladderRung),
		pathOf(calls, rungs, () => 0),
		pathOf(calls, rungs, cheapestNow),
		...(hint?.length === calls.length
			? [pathOf(calls, rungs, (call, _costs, i) => Math.min(hint[i] ?? 0, call.ladderRung))]
			: []),
	].reduce((a, b) => (b.cost < a.cost ? b : a));
	// What a better cache of one key can save over a worse one, per token: once on its next use, plus once per failed
	// call still to come (a failed call reads the cache but does not refresh it).
	const saving = new Map(
		rungs.map((r) => [r.key, (r.prices.cacheWrite > 0 ? r.prices.cacheWrite : r.prices.input) - r.prices.cacheRead]),
	);
	const errorsAfter = new Array<number>(calls.length + 1).fill(0);
	for (let i = calls.length - 1; i >= 0; i--)
		errorsAfter[i] = (errorsAfter[i + 1] as number) + (calls[i]?.error ? 1 : 0);
	const bound = known.cost;

	let capped = false;
	let peak = 1;
	let beam: State[] = [{ cost: 0, implementing: 0, caches: {}, last: undefined }];
	calls.forEach((call, i) => {
		const next = new Map<string, State>();
		const floor = rest[i + 1] as number;
		for (const state of beam) {
			for (let r = 0; r <= call.ladderRung; r++) {
				const s = step(state.caches, call, rungs[r] as RungInfo, ttl);
				const total = state.cost + s.cost;
				if (total + floor > bound + EPS) continue;
				const key = stateKey(s.caches, ttl);
				const seen = next.get(key);
				if (seen && seen.cost <= total) continue;
				next.set(key, {
					cost: total,
					implementing: state.implementing + (call.implementing ? s.cost : 0),
					caches: s.caches,
					last: { rung: r, prev: state.last },
				});
			}
		}
		const sorted = [...next.values()].sort((a, b) => a.cost - b.cost);
		beam = [];
		const repeats = 1 + (errorsAfter[i + 1] as number);
		for (const state of sorted) {
			if (beam.some((kept) => dominates(kept, state, saving, repeats))) continue;
			if (beam.length >= width) {
				capped = true;
				break;
			}
			beam.push(state);
		}
		peak = Math.max(peak, beam.length);
	});
	const best = beam[0];
	// Only the cap can have cut every path the bound let through: then the known path is the best found.
	if (!best || best.cost > known.cost) return { ...known, width, exact: false, peak };
	const rungsUsed: number[] = [];
	for (let node = best.last; node; node = node.prev) rungsUsed.push(node.rung);
	return {
		cost: best.cost,
		implementing: best.implementing,
		rungs: rungsUsed.reverse(),
		width,
		exact: !capped,
		peak,
	};
}

/**
 * `a` does at least as well as `b` whatever follows: it costs less by more than `b`'s better caches could ever save.
 * A cache of `b` that `a` holds as large and as fresh saves nothing; otherwise at most its prompt (the part beyond
 * `a`'s, when `a`'s is as fresh and large enough to be read at all) at the key's saving per token, on the key's next
 * use and on each failed call before it (after a successful call both hold the same cache). Dropping `b` keeps the
 * search exact.
 */
function dominates(a: State, b: State, saving: ReadonlyMap<string, number>, repeats: number): boolean {
	if (a.cost > b.cost) return false;
	let edge = 0;
	for (const [k, cb] of Object.entries(b.caches)) {
		const ca = a.caches[k];
		if (ca && ca.prompt >= cb.prompt && ca.at >= cb.at) continue;
		const usable = ca && ca.at >= cb.at && ca.prompt >= MIN_CACHED_PROMPT ? ca.prompt : 0;
		edge += ((Math.max(0, cb.prompt - usable) * (saving.get(k) ?? 0)) / 1e6) * repeats;
		if (a.cost + edge > b.cost) return false;
	}
	return true;
}
