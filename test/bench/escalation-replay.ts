/**
 * How often the escalation rules fire on real sessions, whether each fire was a real loop, and what the safety net
 * costs. Each trace's calls go through `decideCall` (src/ladder.ts) with the default `escalation` rules, one segment
 * per user message or kickoff, the tools as pi would have seen them (`piToolCalls`: a derived failure is no error,
 * calls whose arguments the trace did not record are never "the same call"); every call the ladder sends to rung 0
 * with reason "escalation" is a fire. Each fire is matched with a verdict read by hand from the trace
 * (escalation-verdicts.json: "stuck", a real loop, or "progressing", a false alarm); a fire without one is
 * "unclassified". Traces carry no tool error texts, so `editNotFound` cannot fire here, nor `runawayOutput` (it needs
 * an answer with no tool call that ended a run early, which a recorded session does not have).
 * Usage: node --import tsx test/bench/escalation-replay.ts [trace.json ...] (default: the traces in traces/).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultConfig } from "../../src/config.ts";
import { type CallMessage, type CallToolCall, decideCall, stableJson } from "../../src/ladder.ts";
import { benchTraces, TRACES_DIR } from "./stepping-bench.ts";
import { LADDERS, type LadderCase, piToolCalls, runTrace, type Trace, type TraceEvent } from "./trace.ts";

export type Verdict = "stuck" | "progressing" | "unclassified";

export interface Fire {
	/** The index in the trace's events of the call that went to rung 0. */
	event: number;
	kind: string;
	detail: string;
	verdict: Verdict;
	why?: string;
}

export interface ReplayResult {
	file: string;
	/** Implementation calls. */
	calls: number;
	fires: Record<string, number>;
	list: Fire[];
}

interface VerdictEntry {
	trace: string;
	event: number;
	kind: string;
	verdict: "stuck" | "progressing";
	why: string;
}

export const VERDICTS_FILE = new URL("./escalation-verdicts.json", import.meta.url);

export function loadVerdicts(): VerdictEntry[] {
	return (JSON.parse(readFileSync(VERDICTS_FILE, "utf8")) as { verdicts: VerdictEntry[] }).verdicts;
}

export function replayTrace(name: string, events: readonly TraceEvent[], verdicts = loadVerdicts()): ReplayResult {
	const config = defaultConfig();
	const fires: Record<string, number> = {};
	const list: Fire[] = [];
	let segment: CallMessage[] = [];
	let planning = false;
	let calls = 0;
	let id = 0;
	events.forEach((e, index) => {
		if (e.type === "plan") {
			planning = true;
			segment = [{ role: "user", kickoff: false }];
		} else if (e.type === "kickoff" || e.type === "user") {
			if (e.type === "kickoff") planning = false;
			segment = [{ role: "user", kickoff: e.type === "kickoff" }];
		} else {
			const mode = planning ? "planning" : "implementing";
			const d = decideCall(mode, 5, segment, config.reasoningBump, config.escalation);
			if (!planning) calls++;
			if (d?.reason === "escalation" && d.trigger) {
				const { kind, detail } = d.trigger;
				fires[kind] = (fires[kind] ?? 0) + 1;
				const v = verdicts.find((x) => x.trace === name && x.event === index && x.kind === kind);
				list.push({ event: index, kind, detail, verdict: v?.verdict ?? "unclassified", ...(v ? { why: v.why } : {}) });
			}
			if (e.error || e.aborted) {
				segment.push({ role: "assistant", ok: false, toolCalls: [] });
				return;
			}
			const tools = piToolCalls(e, () => `#${++id}`);
			const toolCalls: CallToolCall[] = tools.map((t) => ({
				id: `t${++id}`,
				name: t.tool,
				command: t.tool === "bash" && typeof t.args?.command === "string" ? t.args.command : undefined,
				args: stableJson(t.args ?? {}),
				path: typeof t.args?.path === "string" ? t.args.path : undefined,
			}));
			segment.push({ role: "assistant", ok: true, toolCalls });
			toolCalls.forEach((c, i) => {
				segment.push({ role: "toolResult", toolCallId: c.id, toolName: c.name, isError: tools[i]?.failed === true });
			});
		}
	});
	return { file: name, calls, fires, list };
}

export function replay(file: string): ReplayResult {
	const { events } = JSON.parse(readFileSync(file, "utf8")) as { events: TraceEvent[] };
	return replayTrace(file.replace(/.*\//, ""), events);
}

/** One trace on one bench ladder: fires, their verdicts, and what escalation and review add to per-call stepping. */
export interface SafetyRow {
	trace: string;
	ladder: string;
	/** Implementation calls. */
	calls: number;
	fires: Record<string, number>;
	firesPer100: number;
	stuck: number;
	progressing: number;
	unclassified: number;
	/** False alarms (progressing) per 100 implementation calls. */
	falseAlarmsPer100: number;
	/** Per-call stepping, the trace as pi would record it, without the safety net: the whole session, $. */
	base: number;
	/** With the default escalation rules, minus `base`: $ and % of `base`. */
	escalation: number;
	escalationPct: number;
	/** The estimated review calls on rung 0 and their $ (see runTrace's `review`). */
	reviewCalls: number;
	review: number;
	reviewPct: number;
}

export function safetyRow(name: string, trace: Trace, ladder: LadderCase, verdicts = loadVerdicts()): SafetyRow {
	const r = replayTrace(name, trace.events, verdicts);
	const total = r.list.length;
	const count = (v: Verdict) => r.list.filter((f) => f.verdict === v).length;
	const per100 = (n: number) => (r.calls ? (n / r.calls) * 100 : 0);
	const base = runTrace(trace, ladder, undefined, "rung", undefined, "per-call", { piView: true });
	const netted = runTrace(trace, ladder, undefined, "rung", undefined, "per-call", {
		piView: true,
		escalation: true,
		review: true,
	});
	const b = base.session.cost;
	const escalation = netted.session.cost - b;
	return {
		trace: name,
		ladder: ladder.name,
		calls: r.calls,
		fires: r.fires,
		firesPer100: per100(total),
		stuck: count("stuck"),
		progressing: count("progressing"),
		unclassified: count("unclassified"),
		falseAlarmsPer100: per100(count("progressing")),
		base: b,
		escalation,
		escalationPct: (escalation / b) * 100,
		reviewCalls: netted.review.calls,
		review: netted.review.cost,
		reviewPct: (netted.review.cost / b) * 100,
	};
}

/** Every real trace (not the synthetic trace.json) on every bench ladder. */
export function safetySection(ladders: readonly LadderCase[] = LADDERS): SafetyRow[] {
	const verdicts = loadVerdicts();
	return benchTraces()
		.filter((t) => t.name !== "trace.json")
		.flatMap((t) => ladders.map((l) => safetyRow(t.name, t.trace, l, verdicts)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
	const dir = TRACES_DIR.pathname;
	const files = process.argv.length > 2 ? process.argv.slice(2) : readdirSync(dir).filter((f) => f.endsWith(".json"));
	for (const f of files) {
		const r = replay(f.includes("/") ? f : join(dir, f));
		const total = r.list.length;
		const per100 = r.calls ? ((total / r.calls) * 100).toFixed(1) : "0";
		console.log(`${r.file}: ${r.calls} calls, ${total} escalations (${per100}/100)`, r.fires);
		for (const x of r.list) console.log(`  #${x.event} ${x.kind} [${x.verdict}] ${x.detail.slice(0, 90)}`);
	}
}
