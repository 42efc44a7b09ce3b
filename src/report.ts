/** Text the user reads: the status line and the `/stepdown` report. Pure formatting over plain data. */
import type { ResolvedConfig } from "./config.ts";
import { formatIssue } from "./config.ts";
import type { Mode, Phase } from "./ladder.ts";
import type { CallStart } from "./plan-mode.ts";
import type { ResolvedRung } from "./resolve.ts";
import type { Config } from "./schema.ts";
import type { CallEntry, ModelRef } from "./state.ts";
import { type Env, webSearchFor } from "./wire-plan.ts";

export interface RungView {
	index: number;
	label: string;
	thinking: string;
	/** Effective hosted web search (after environment overrides); undefined: the rung's API has none. */
	webSearch?: string;
}

/** APIs whose payloads get hosted web search (the OpenAI Responses family, see rewrite.ts). */
const WEB_SEARCH_APIS = new Set(["openai-responses", "azure-openai-responses", "openai-codex-responses"]);

/**
 * The ladder as `/stepdown` lists it: real model, effort, and web search as it will really be sent (environment
 * overrides applied), only on rungs whose API has it.
 */
export function rungViews(rungs: readonly ResolvedRung[], config: Config, env: Env): RungView[] {
	return rungs.map((r) => {
		const search = WEB_SEARCH_APIS.has(r.model.api)
			? webSearchFor(config, r.webSearchContextSize, env, undefined)
			: undefined;
		return {
			index: r.index,
			label: `${r.model.provider}/${r.model.id}`,
			thinking: r.thinking ?? "(session)",
			webSearch: search === undefined ? undefined : search.enabled ? (search.contextSize ?? "default") : "off",
		};
	});
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

/** The status line: the call in flight, or the rung the cursor is on (the user's own model with no ladder). */
export function statusFor(
	line: { mode: Mode; cursor: number; ladderLength: number; userModel?: ModelRef },
	rungs: readonly ResolvedRung[],
	sessionThinking: string,
	call?: Pick<CallStart, "phase" | "rung" | "model" | "thinking">,
): string | undefined {
	if (call) return statusText(line.mode, call.phase, call.rung, line.ladderLength, call.model, call.thinking, true);
	const top = rungs.find((r) => r.index === line.cursor);
	const own = line.userModel ? `${line.userModel.provider}/${line.userModel.id}` : "?";
	const model = top ? `${top.model.provider}/${top.model.id}` : own;
	return statusText(
		line.mode,
		undefined,
		line.cursor,
		line.ladderLength,
		model,
		top?.thinking ?? sessionThinking,
		false,
	);
}

export interface ReportInput {
	mode: Mode;
	autoApprove: boolean;
	cursor: number;
	resolved: ResolvedConfig;
	rungs: RungView[];
	problems: string[];
	lastCall: CallEntry | undefined;
	/** Which pi line runs the extension, and so how calls reach their rungs. */
	piLine?: "0.73" | "1.x";
	/** Which protection keeps plan-mode bash read-only. */
	protection?: string;
	extra?: string[];
	/** Ladder advice from this branch's calls (advice.ts), after the cost table. */
	advice?: readonly string[];
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
		const search = rung.webSearch === undefined ? "" : `  web_search ${rung.webSearch}`;
		lines.push(`${marker} [${rung.index}] ${rung.label}:${rung.thinking}${search}`);
	}
	for (const problem of input.problems) lines.push(`  ✗ ${problem}`);
	if (input.piLine) {
		const how = input.piLine === "1.x" ? "the stepdown/ladder virtual model" : "the plan-stepdown routing provider";
		lines.push(`  (pi ${input.piLine}: calls reach their rungs through ${how})`);
	}
	if (input.protection) lines.push("", input.protection);
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
	if (input.advice?.length) lines.push("", ...input.advice);
	return lines.join("\n");
}

function valueAt(root: unknown, pointer: string): unknown {
	let node = root;
	for (const part of pointer.split("/").slice(1)) node = (node as Record<string, unknown> | undefined)?.[part];
	return node;
}
