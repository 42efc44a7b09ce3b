/** Text the user reads: the status line and the `/stepdown` report. Pure formatting over plain data. */
import type { ResolvedConfig } from "./config.ts";
import { formatIssue } from "./config.ts";
import type { Mode, Phase } from "./ladder.ts";
import type { CallEntry } from "./state.ts";

export interface RungView {
	index: number;
	label: string;
	thinking: string;
	webSearch: string;
}

const MODE_LABEL: Record<Mode, string> = { off: "off", planning: "plan", implementing: "impl" };

/** e.g. `▶ impl [2/5] anthropic/claude-sonnet-4-5:high` while a call is in flight. */
export function statusText(
	mode: Mode,
	phase: Phase | undefined,
	rung: number,
	ladderLength: number,
	model: string,
	thinking: string,
	inFlight: boolean,
): string | undefined {
	if (mode === "off") return undefined;
	const label = phase ? MODE_LABEL[phase === "planning" ? "planning" : "implementing"] : MODE_LABEL[mode];
	return `${inFlight ? "▶" : "⏸"} ${label} [${rung}/${Math.max(1, ladderLength)}] ${model}:${thinking}`;
}

export interface ReportInput {
	mode: Mode;
	autoApprove: boolean;
	cursor: number;
	resolved: ResolvedConfig;
	rungs: RungView[];
	problems: string[];
	lastCall: CallEntry | undefined;
	extra?: string[];
}

export function stepdownReport(input: ReportInput): string {
	const { resolved } = input;
	const lines: string[] = [];
	lines.push(`plan-stepdown: mode ${input.mode}${input.autoApprove ? " (auto-approve)" : ""}, cursor ${input.cursor}`);
	if (input.lastCall) {
		lines.push(
			`last call: rung ${input.lastCall.rung} ${input.lastCall.model}:${input.lastCall.thinking} (${input.lastCall.reason})`,
		);
	}
	lines.push("", "ladder:");
	if (input.rungs.length === 0 && input.problems.length === 0) {
		lines.push("  (empty: every call uses the model you had when you entered /plan)");
	}
	for (const rung of input.rungs) {
		const marker = input.mode !== "off" && rung.index === input.cursor ? "▶" : " ";
		lines.push(`${marker} [${rung.index}] ${rung.label}:${rung.thinking}  web_search ${rung.webSearch}`);
	}
	for (const problem of input.problems) lines.push(`  ✗ ${problem}`);
	lines.push("", "config (value ← file that set it):");
	for (const [pointer, source] of Object.entries(resolved.origins).sort(([a], [b]) => a.localeCompare(b))) {
		lines.push(`  ${pointer} = ${JSON.stringify(valueAt(resolved.config, pointer))}  ← ${source}`);
	}
	if (resolved.issues.length > 0) {
		lines.push("", "config errors:");
		for (const issue of resolved.issues) lines.push(`  ✗ ${formatIssue(issue)}`);
	}
	if (resolved.warnings?.length) {
		lines.push("", "config warnings (ignored settings):");
		for (const issue of resolved.warnings) lines.push(`  ! ${formatIssue(issue)}`);
	}
	if (input.extra?.length) lines.push("", ...input.extra);
	return lines.join("\n");
}

function valueAt(root: unknown, pointer: string): unknown {
	let node = root;
	for (const part of pointer.split("/").slice(1)) node = (node as Record<string, unknown> | undefined)?.[part];
	return node;
}
