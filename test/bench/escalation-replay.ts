/**
 * How often the escalation rules would fire on real sessions: each trace's calls go through `decideCall`
 * (src/ladder.ts) with the default `escalation` rules, one segment per user message or kickoff, and every call the
 * ladder sends to rung 0 with reason "escalation" is counted per rule. Traces carry no tool error texts, so
 * `editNotFound` cannot fire here. Usage: node --import tsx test/bench/escalation-replay.ts [trace.json ...]
 * (default: the real sessions committed in test/bench/traces/).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultConfig } from "../../src/config.ts";
import { type CallMessage, type CallToolCall, decideCall, stableJson } from "../../src/ladder.ts";

interface TraceTool {
	tool?: string | null;
	args?: Record<string, unknown>;
	failed?: boolean;
}
type TraceEvent =
	| { type: "plan" }
	| { type: "kickoff" }
	| { type: "user" }
	| ({ type: "call"; extraTools?: TraceTool[] } & TraceTool);

export interface ReplayResult {
	file: string;
	calls: number;
	fires: Record<string, number>;
}

export function replay(file: string): ReplayResult {
	const { events } = JSON.parse(readFileSync(file, "utf8")) as { events: TraceEvent[] };
	const config = defaultConfig();
	const fires: Record<string, number> = {};
	let segment: CallMessage[] = [];
	let planning = false;
	let calls = 0;
	let id = 0;
	for (const e of events) {
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
				fires[d.trigger.kind] = (fires[d.trigger.kind] ?? 0) + 1;
				if (process.env.SHOW) console.log("  ", d.trigger.kind, d.trigger.detail.slice(0, 100));
			}
			const tools = [e, ...(e.extraTools ?? [])].filter((t): t is TraceTool & { tool: string } => !!t.tool);
			const toolCalls: CallToolCall[] = tools.map((t) => ({
				id: `t${++id}`,
				name: t.tool,
				command: t.tool === "bash" && typeof t.args?.command === "string" ? t.args.command : undefined,
				args: stableJson(t.args ?? {}),
				path: typeof t.args?.path === "string" ? t.args.path : undefined,
			}));
			segment.push({ role: "assistant", ok: true, toolCalls });
			toolCalls.forEach((c, i) => {
				segment.push({ role: "toolResult", toolCallId: c.id, toolName: c.name, isError: tools[i].failed === true });
			});
		}
	}
	return { file, calls, fires };
}

if (import.meta.url === `file://${process.argv[1]}`) {
	const dir = new URL("./traces/", import.meta.url).pathname;
	const files = process.argv.length > 2 ? process.argv.slice(2) : readdirSync(dir).filter((f) => f.endsWith(".json"));
	for (const f of files) {
		const r = replay(f.includes("/") ? f : join(dir, f));
		const total = Object.values(r.fires).reduce((a, b) => a + b, 0);
		const per100 = r.calls ? ((total / r.calls) * 100).toFixed(1) : "0";
		console.log(`${r.file.replace(/.*\//, "")}: ${r.calls} calls, ${total} escalations (${per100}/100)`, r.fires);
	}
}
