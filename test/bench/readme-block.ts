/** The README's bench section, written from the results (between the bench markers), so it never drifts. */
import type { SafetyRow } from "./escalation-replay.ts";
import type { BenchResults } from "./run.ts";
import { LONG_TRACE_CALLS, LONG_TRACE_WIDTH } from "./stepping-bench.ts";

export const START = "<!-- bench:start -->";
export const END = "<!-- bench:end -->";

export function withBenchBlock(readme: string, block: string[]): string {
	const a = readme.indexOf(START);
	const b = readme.indexOf(END);
	if (a < 0 || b < a) throw new Error("README: bench markers not found");
	return `${readme.slice(0, a + START.length)}\n${block.join("\n")}\n${readme.slice(b)}`;
}

const usd = (n: number) => `$${n.toFixed(2)}`;
const signed = (n: number) => `${n >= 0 ? "+" : "−"}${Math.abs(n).toFixed(1)}%`;

export function readmeBlock(r: BenchResults): string[] {
	const m = r.machine;
	const out = [
		`Measured ${r.date.slice(0, 10)} on ${m.os.split(" ")[0]} ${m.cpu.split(" ").slice(0, 2).join(" ")}, ${m.cores} cores, Node ${m.node.slice(1)}, pi ${r.versions.piCodingAgent} (\`src/\` loaded with ${r.options.loader}, as pi loads it).`,
		"",
		"| What | Target | Measured | |",
		"|---|---|---|---|",
	];
	for (const t of r.targets)
		out.push(`| ${t.description} | ${t.target} | ${t.value} | ${t.met ? "met" : "**not met**"} |`);
	out.push(
		"",
		"Stepping on every trace (whole session, $ at pi-ai's prices; % of flat rung 0; the limit is the cheapest choice of",
		"rungs with full knowledge of the trace, under the same rule and cache model):",
		"",
		"| Trace | Ladder | Calls | Per-call | Cache-aware | Limit | Cache-aware vs per-call | vs limit |",
		"|---|---|---:|---:|---:|---:|---:|---:|",
	);
	for (const x of r.stepping) {
		out.push(
			`| ${x.trace} | ${x.ladder} | ${x.calls} | ${usd(x["per-call"].session.cost)} (${x["per-call"].session.pct.toFixed(1)}%) | ${usd(x["cache-aware"].session.cost)} (${x["cache-aware"].session.pct.toFixed(1)}%) | ${usd(x.limit.cost)}${x.limit.exact ? "" : "*"} | ${signed(x.awareVsPerCallPct)} | ${signed(x.awareVsLimitPct)} |`,
		);
	}
	out.push(
		"",
		"Without \\* the limit is exact (branch and bound: only dominated states and states that could not beat a known",
		`path were dropped). \\* the search was capped (${r.options.limitWidth ?? "?"} states per call, ${LONG_TRACE_WIDTH} beyond ${LONG_TRACE_CALLS} calls): an`,
		"upper bound of the limit, so the true gap may be larger.",
	);
	out.push(...safetyBlock(r.safety ?? []));
	return out;
}

const delta = (n: number, pct: number) =>
	`${n >= 0 ? "+" : "−"}${usd(Math.abs(n))} (${pct >= 0 ? "+" : "−"}${Math.abs(pct).toFixed(1)}%)`;

/** The safety net on the real traces: one row per trace, the $ columns per bench ladder. */
function safetyBlock(rows: readonly SafetyRow[]): string[] {
	if (rows.length === 0) return [];
	const ladders = [...new Set(rows.map((x) => x.ladder))];
	const traces = [...new Set(rows.map((x) => x.trace))];
	const out = [
		"",
		"Safety net on the real traces: escalations per 100 implementation calls, each fire read by hand",
		"([`escalation-verdicts.json`](test/bench/escalation-verdicts.json): stuck = a real loop, false alarm = the work",
		"was progressing), and what escalation and the review (estimated: one rung-0 call per approved plan's run) add to",
		`per-call stepping, whole session, on the ${ladders.join(" / ")} ladders:`,
		"",
		"| Trace | Calls | Fires (/100) | Stuck | False alarms (/100) | Escalation | Review (est.) |",
		"|---|---:|---:|---:|---:|---:|---:|",
	];
	for (const trace of traces) {
		const xs = ladders.map((l) => rows.find((x) => x.trace === trace && x.ladder === l) as SafetyRow);
		const x = xs[0] as SafetyRow;
		const fires = x.stuck + x.progressing + x.unclassified;
		const review = x.reviewCalls ? xs.map((y) => delta(y.review, y.reviewPct)).join(" / ") : "no plan";
		out.push(
			`| ${trace} | ${x.calls} | ${fires} (${x.firesPer100.toFixed(1)}) | ${x.stuck} | ${x.progressing} (${x.falseAlarmsPer100.toFixed(1)})${x.unclassified ? `, ${x.unclassified} unclassified` : ""} | ${xs.map((y) => delta(y.escalation, y.escalationPct)).join(" / ")} | ${review} |`,
		);
	}
	return out;
}
