/**
 * The limit: the cheapest any policy could have done on a trace with full knowledge of it, under the same rule
 * (each call on the ladder's rung or a stronger one) and the same cache model (trace.ts `applyCall`). A beam search
 * over the choices: states are the caches' contents, merged when equal; a state another one dominates (cheaper, and
 * every cache at least as large and fresh) is dropped, which keeps the search exact; beyond that only the cheapest
 * `width` states are kept per call, and the result says whether that cap ever cut (then it is an upper bound).
 */
import type { RungCache, RungInfo } from "../../src/stepping.ts";
import { tokensCost } from "../../src/stepping.ts";
import { applyCall, type SimCall } from "./trace.ts";

export interface LimitResult {
	/** Every call. */
	cost: number;
	/** The implementation calls. */
	implementing: number;
	/** The rung of each call on the cheapest path. */
	rungs: number[];
	width: number;
	/** No state was dropped but for dominance: the figure is the exact optimum of the cache model. */
	exact: boolean;
}

interface State {
	cost: number;
	implementing: number;
	caches: Record<string, RungCache>;
	path: number[] | undefined;
	/** The path as a linked list, materialised at the end. */
	last: { rung: number; prev: State["last"] } | undefined;
}

/** Caches whose age cannot matter (TTL of an hour or more, longer than any gap the traces have) drop their time. */
const LONG_TTL = 60 * 60_000;

function stateKey(caches: Record<string, RungCache>, ttl: ReadonlyMap<string, number>): string {
	return Object.keys(caches)
		.sort()
		.map((k) => `${k}=${caches[k]?.prompt}${(ttl.get(k) ?? 0) < LONG_TTL ? `@${caches[k]?.at}` : ""}`)
		.join("|");
}

export function limitSearch(calls: readonly SimCall[], rungs: readonly RungInfo[], width = 2000): LimitResult {
	const ttl = new Map(rungs.map((r) => [r.key, r.ttlMs]));
	let capped = false;
	let beam: State[] = [{ cost: 0, implementing: 0, caches: {}, path: undefined, last: undefined }];
	for (const call of calls) {
		const next = new Map<string, State>();
		for (const state of beam) {
			for (let r = 0; r <= call.ladderRung; r++) {
				const info = rungs[r] as RungInfo;
				const caches: Record<string, RungCache> = {};
				for (const [k, v] of Object.entries(state.caches)) caches[k] = { ...v };
				const cost = tokensCost(applyCall(caches, call, info), info.prices);
				// An expired or emptied cache is no cache: states that differ only there are the same state.
				for (const [k, v] of Object.entries(caches)) {
					if (v.prompt <= 0 || call.at - v.at >= (ttl.get(k) ?? 0)) delete caches[k];
				}
				const key = stateKey(caches, ttl);
				const total = state.cost + cost;
				const seen = next.get(key);
				if (seen && seen.cost <= total) continue;
				next.set(key, {
					cost: total,
					implementing: state.implementing + (call.implementing ? cost : 0),
					caches,
					path: undefined,
					last: { rung: r, prev: state.last },
				});
			}
		}
		const sorted = [...next.values()].sort((a, b) => a.cost - b.cost);
		beam = [];
		for (const state of sorted) {
			if (beam.some((kept) => dominates(kept, state))) continue;
			if (beam.length >= width) {
				capped = true;
				break;
			}
			beam.push(state);
		}
	}
	const best = beam[0] as State;
	const rungsUsed: number[] = [];
	for (let node = best.last; node; node = node.prev) rungsUsed.push(node.rung);
	return { cost: best.cost, implementing: best.implementing, rungs: rungsUsed.reverse(), width, exact: !capped };
}

/**
 * `a` is no more expensive and holds at least every cache `b` holds, as large and as fresh: whatever follows, `a`
 * does at least as well, so dropping `b` keeps the search exact.
 */
function dominates(a: State, b: State): boolean {
	if (a.cost > b.cost) return false;
	for (const [k, cb] of Object.entries(b.caches)) {
		const ca = a.caches[k];
		if (!ca || ca.prompt < cb.prompt || ca.at < cb.at) return false;
	}
	return true;
}
