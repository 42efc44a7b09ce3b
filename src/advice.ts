/**
 * Ladder advice from the branch's own calls: a rung "does not pay" when the same calls replayed on the ladder without
 * it (replay.ts, same tokens, same stepping) cost less, i.e. the cache its switches lost cost more than its lower
 * prices saved. Greedy: drop the rung whose removal saves most, again until no removal saves. Pure.
 */
import { usd } from "./accounting.ts";
import { type PriceLookup, type ReplayOptions, replayBranch } from "./replay.ts";
import type { Config } from "./schema.ts";
import type { SessionFileEntry } from "./session-reader.ts";

export interface RungVerdict {
	/** Index in the configured ladder. */
	rung: number;
	/** Replayed cost without this rung minus with it: negative means the rung does not pay. */
	deltaWithout: number;
}

export interface LadderAdvice {
	/** The branch replayed on the configured ladder. */
	cost: number;
	flatCost: number;
	/** Each rung below rung 0, on the configured ladder. */
	verdicts: RungVerdict[];
	/** The configured ladder's indices of the suggested ladder (all of them when nothing is to drop). */
	suggested: number[];
	suggestedCost: number;
	calls: number;
	/** Why the branch could not be replayed (a rung without prices), else empty. */
	problems: string[];
	lines: string[];
}

/** The advice as the summary entry keeps it: figures, no text. */
export type AdviceData = Omit<LadderAdvice, "lines">;

export function ladderAdvice(
	entries: readonly SessionFileEntry[],
	config: Config,
	prices: PriceLookup,
	options: ReplayOptions = {},
): LadderAdvice {
	const costOf = (keep: readonly number[]) =>
		replayBranch(
			entries,
			{ ...config, ladder: keep.map((i) => config.ladder[i] as Config["ladder"][0]) },
			prices,
			options,
		);
	const all = config.ladder.map((_, i) => i);
	const base = costOf(all);
	if (base.calls === 0 || base.problems.length > 0) {
		return {
			cost: base.cost,
			flatCost: base.flatCost,
			verdicts: [],
			suggested: all,
			suggestedCost: base.cost,
			calls: base.calls,
			problems: base.problems,
			lines: [base.problems.length ? `advice: ${base.problems.join("; ")}` : "advice: no calls on this branch yet"],
		};
	}
	const rungName = (i: number) => {
		const r = base.perRung[i];
		return r ? `${r.model}:${r.thinking}` : "?";
	};
	const verdicts = all.slice(1).map((rung) => ({
		rung,
		deltaWithout: costOf(all.filter((i) => i !== rung)).cost - base.cost,
	}));
	let suggested = all;
	let suggestedCost = base.cost;
	for (;;) {
		let best: { keep: number[]; cost: number } | undefined;
		for (const rung of suggested.slice(1)) {
			const keep = suggested.filter((i) => i !== rung);
			const cost = costOf(keep).cost;
			if (cost < (best?.cost ?? suggestedCost) - 1e-9) best = { keep, cost };
		}
		if (!best) break;
		suggested = best.keep;
		suggestedCost = best.cost;
	}
	const lines: string[] = [];
	const losers = verdicts.filter((v) => v.deltaWithout < 0);
	lines.push(
		`ladder advice (this branch's ${base.calls} calls replayed, same tokens): ${usd(base.cost)} on the configured ladder`,
	);
	for (const v of losers) {
		lines.push(
			`  rung ${v.rung} costs more in lost cache than it saves: without it ${usd(base.cost + v.deltaWithout)}`,
		);
	}
	if (suggested.length < all.length) {
		lines.push(
			`  suggested ladder: rungs ${suggested.join(", ")} of the current one (${suggested.map(rungName).join(" → ")}): ${usd(suggestedCost)} (${pctChange(suggestedCost, base.cost)})`,
		);
	} else {
		lines.push("  every rung pays for its switches on this branch");
	}
	lines.push("  identical tokens: not a claim about the quality of the work on fewer rungs");
	return {
		cost: base.cost,
		flatCost: base.flatCost,
		verdicts,
		suggested,
		suggestedCost,
		calls: base.calls,
		problems: [],
		lines,
	};
}

const pctChange = (to: number, from: number) => `${(((to - from) / from) * 100).toFixed(1)}%`;

export function adviceData(advice: LadderAdvice): AdviceData {
	const { lines: _text, ...data } = advice;
	return data;
}

/**
 * The headless summary's advice line: only when a simpler ladder would have cost less (nothing to say otherwise).
 */
export function adviceLine(advice: LadderAdvice): string | undefined {
	if (advice.problems.length > 0 || advice.suggested.length === advice.verdicts.length + 1) return undefined;
	const dropped = advice.verdicts.map((v) => v.rung).filter((r) => !advice.suggested.includes(r));
	const one = dropped.length === 1;
	return `plan-stepdown advice: rung${one ? "" : "s"} ${dropped.join(", ")} cost${one ? "s" : ""} more in lost cache than ${one ? "it" : "they"} saved; replayed on the same tokens, rungs ${advice.suggested.join(", ")} alone: ${usd(advice.suggestedCost)} vs ${usd(advice.cost)} on this ladder (${pctChange(advice.suggestedCost, advice.cost)})`;
}
