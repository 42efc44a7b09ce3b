/** A pi session file as a bench trace (the format of test/bench/trace.json), for `npm run bench -- --trace x.jsonl`. */
import { readFileSync } from "node:fs";
import { KICKOFF_TYPE } from "../../src/ladder.ts";
import type { ThinkingSetting } from "../../src/schema.ts";
import { currentBranch, parseSession, sessionCalls } from "../../src/session-reader.ts";
import { STATE_TYPE } from "../../src/state.ts";
import { loadTrace, type Trace, type TraceEvent } from "./trace.ts";

export function readTraceFile(path: string): Trace {
	return path.endsWith(".jsonl") ? sessionToTrace(readFileSync(path, "utf8"), path) : loadTrace(path);
}

/**
 * The session's branch as trace events: user messages and compactions are `user` events (`plan` after /plan), the
 * kickoff is `kickoff`, each assistant message that sent tokens is a `call` with its first tool call, the others in
 * `extraTools`, and its tool results' error flags. Calls with no usage (aborted before any token) are left out.
 */
export function sessionToTrace(text: string, source: string): Trace {
	const session = parseSession(text);
	const branch = currentBranch(session.entries);
	const calls = new Map(sessionCalls(branch).map((c) => [c.entry, c]));
	const errors = new Set<string>();
	for (const e of branch)
		if (e.message?.role === "toolResult" && e.message.isError) errors.add(e.message.toolCallId ?? "");
	const events: TraceEvent[] = [];
	let planning = false;
	branch.forEach((e, i) => {
		if (e.type === "custom" && e.customType === STATE_TYPE) {
			planning = (e.data as { mode?: string } | undefined)?.mode === "planning";
			return;
		}
		if (e.type === "custom_message" && e.customType === KICKOFF_TYPE) {
			events.push({ type: "kickoff" });
			return;
		}
		if (e.type === "compaction" || e.type === "branch_summary" || e.message?.role === "user") {
			events.push(
				planning && e.message?.role === "user"
					? { type: "plan", text: "(user message)" }
					: { type: "user", text: "(user message)" },
			);
			planning = false;
			return;
		}
		const call = calls.get(i);
		if (!call) return;
		const u = call.usage;
		if (u.input + u.cacheRead + u.cacheWrite + u.output === 0) return;
		const [first, ...rest] = call.toolCalls;
		const args = (t: { command?: string }) => (t.command !== undefined ? { command: t.command } : {});
		events.push({
			type: "call",
			tool: first?.name ?? null,
			...(first ? { args: args(first) } : {}),
			failed: call.toolCalls.some((t) => errors.has(t.id)),
			...(call.stopReason === "error" ? { error: true } : {}),
			...(call.stopReason === "aborted" ? { aborted: true } : {}),
			...(rest.length
				? { extraTools: rest.map((t) => ({ tool: t.name, args: args(t), failed: errors.has(t.id) })) }
				: {}),
			tokens: { input: u.input + u.cacheWrite, output: u.output, cacheRead: u.cacheRead },
		});
	});
	return {
		v: 1,
		description: `pi session ${source}`,
		notes: ["Converted from a pi session file by test/bench/session-trace.ts."],
		sessionThinking: (session.header?.thinkingLevel ?? "off") as ThinkingSetting,
		events,
	};
}
