/**
 * Where the `/stepdown` report goes, and keeping it away from the model. Pure.
 *
 * In the TUI it is a custom message in the chat (it stays in the scrollback and comes back on resume) that the hosts
 * strip before every call (pi 0.73.1 `context`, pi 1.x `context_with_system`): the model never reads it. RPC clients
 * get it as a notify request (their own UI decides how long it stays); print mode prints it and JSON mode writes it to
 * stderr, both without touching the session. While a run is working the TUI gets a notification instead: pi 0.73.1
 * would steer a message into the run.
 */
import type { AgentMessageLike } from "./ladder.ts";

export const REPORT_TYPE = "plan-stepdown:report";

export type ReportDelivery = "message" | "notify" | "stdout" | "stderr";

export function reportDelivery(hasUI: boolean, mode: string | undefined, idle: boolean): ReportDelivery {
	if (!hasUI) return mode === "json" ? "stderr" : "stdout";
	return mode === "rpc" || !idle ? "notify" : "message";
}

/** The report as the chat shows it: a code block, so the TUI's markdown keeps its columns. */
export const reportMessage = (text: string) => `\`\`\`\n${text}\n\`\`\``;

/** The messages without the reports, or undefined when there are none (pi then keeps its list untouched). */
export function withoutReports<T extends AgentMessageLike>(messages: readonly T[]): T[] | undefined {
	if (!messages.some(isReport)) return undefined;
	return messages.filter((m) => !isReport(m));
}

/**
 * Removes the reports from `messages` in place: pi hands `session_before_compact` handlers the very lists its summary
 * call reads, and offers no way to return changed ones.
 */
export function dropReports(messages: AgentMessageLike[]): void {
	for (let i = messages.length - 1; i >= 0; i--) if (isReport(messages[i])) messages.splice(i, 1);
}

const isReport = (m: AgentMessageLike) => m.role === "custom" && m.customType === REPORT_TYPE;
