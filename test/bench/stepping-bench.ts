/**
 * Both stepping modes and the limit on every trace: the committed synthetic one and the real ones in traces/. Each
 * figure goes through runTrace (the extension's ladder, stepping and accounting code); the limit through limitSearch
 * on the same cache model.
 */
import { readdirSync } from "node:fs";
import type { Stepping } from "../../src/stepping.ts";
import { limitSearch } from "./limit.ts";
import { LADDERS, type LadderCase, loadTrace, type RunFigures, runTrace, TRACE_FILE, type Trace } from "./trace.ts";

export const TRACES_DIR = new URL("./traces/", import.meta.url);

export interface TraceFile {
	name: string;
	trace: Trace;
}

/** The committed trace first, then traces/*.json by name. */
export function benchTraces(): TraceFile[] {
	const real = readdirSync(TRACES_DIR)
		.filter((f) => f.endsWith(".json"))
		.sort()
		.map((name) => ({ name, trace: loadTrace(new URL(name, TRACES_DIR)) }));
	return [{ name: "trace.json", trace: loadTrace(TRACE_FILE) }, ...real];
}

export interface ModeFigures {
	implementing: RunFigures;
	session: RunFigures;
	/** Calls that used a stronger rung than the ladder named. */
	stronger: number;
}

export interface SteppingRow {
	trace: string;
	ladder: string;
	calls: number;
	implementingCalls: number;
	"per-call": ModeFigures;
	"cache-aware": ModeFigures;
	limit: {
		/** The whole session and its implementation calls, $ */
		cost: number;
		implementing: number;
		/** Only dominated or bounded-out states were dropped: the exact optimum of the cache model. Else an upper bound. */
		exact: boolean;
		width: number;
		/** The most states kept after one call. */
		peak: number;
	};
	/** The limit vs per-call: the most any policy under the rule could save, whole session and implementation, %. */
	limitVsPerCallPct: number;
	limitVsPerCallImplementingPct: number;
	/** cache-aware / per-call − 1 and cache-aware / limit − 1, over the whole session, %. */
	awareVsPerCallPct: number;
	awareVsLimitPct: number;
	/** The same over the implementation calls (where stepping acts), %. */
	awareVsPerCallImplementingPct: number;
}

/**
 * States kept per call by the limit search: exact on the short traces within seconds; on the long ones the cap cuts
 * (the search is quadratic in the states kept) and the limit is an upper bound, marked as such.
 */
export const LIMIT_WIDTH = 2000;
/** Beyond this many calls the cap is LONG_TRACE_WIDTH: keeps `npm run bench` within minutes. */
export const LONG_TRACE_CALLS = 100;
export const LONG_TRACE_WIDTH = 500;

function figures(trace: Trace, ladder: LadderCase, stepping: Stepping, config?: Record<string, unknown>) {
	const run = runTrace(trace, ladder, config, "rung", undefined, stepping);
	const mode: ModeFigures = {
		implementing: run.implementing,
		session: run.session,
		stronger: run.calls.filter((c) => c.rung < c.ladderRung).length,
	};
	return { run, mode };
}

export function steppingRow(
	name: string,
	trace: Trace,
	ladder: LadderCase,
	width = LIMIT_WIDTH,
	config?: Record<string, unknown>,
): SteppingRow {
	const perCall = figures(trace, ladder, "per-call", config);
	const aware = figures(trace, ladder, "cache-aware", config);
	const calls = perCall.run.sim.calls;
	const cap = calls.length > LONG_TRACE_CALLS ? Math.min(width, LONG_TRACE_WIDTH) : width;
	const limit = limitSearch(
		calls,
		perCall.run.sim.rungs,
		cap,
		aware.run.calls.map((c) => c.rung),
	);
	const pct = (a: number, b: number) => (a / b - 1) * 100;
	return {
		trace: name,
		ladder: ladder.name,
		calls: perCall.run.calls.length,
		implementingCalls: perCall.run.summary.perPhase.implementing.calls,
		"per-call": perCall.mode,
		"cache-aware": aware.mode,
		limit: {
			cost: limit.cost,
			implementing: limit.implementing,
			exact: limit.exact,
			width: limit.width,
			peak: limit.peak,
		},
		limitVsPerCallPct: pct(limit.cost, perCall.mode.session.cost),
		limitVsPerCallImplementingPct: pct(limit.implementing, perCall.mode.implementing.cost),
		awareVsPerCallPct: pct(aware.mode.session.cost, perCall.mode.session.cost),
		awareVsLimitPct: pct(aware.mode.session.cost, limit.cost),
		awareVsPerCallImplementingPct: pct(aware.mode.implementing.cost, perCall.mode.implementing.cost),
	};
}

export function steppingSection(
	traces: readonly TraceFile[] = benchTraces(),
	ladders: readonly LadderCase[] = LADDERS,
	width = LIMIT_WIDTH,
): SteppingRow[] {
	return traces.flatMap((t) => ladders.map((ladder) => steppingRow(t.name, t.trace, ladder, width)));
}
