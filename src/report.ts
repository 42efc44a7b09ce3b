/** Text the user reads: the status line and the `/stepdown` report. Pure formatting over plain data. */
import { failureText, usd } from "./accounting.ts";
import type { ResolvedConfig } from "./config.ts";
import { formatIssue } from "./config.ts";
import type { Mode, Phase } from "./ladder.ts";
import type { CallStart } from "./plan-mode.ts";
import { progressLines, type StepView } from "./plan-steps.ts";
import type { ResolvedRung } from "./resolve.ts";
import type { Config } from "./schema.ts";
import type { CallEntry, ModelRef } from "./state.ts";
import type { StepCosts } from "./step-costs.ts";
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
	/** The branch's last call failed: which rung, model and error. */
	failure?: { rung: number; model: string; error: string };
	/** Which pi line runs the extension, and so how calls reach their rungs. */
	piLine?: "0.73" | "1.x";
	/** Which protection keeps plan-mode bash read-only. */
	protection?: string;
	/** The approved plan's steps (stepLines). */
	steps?: string[];
	/** The cost table (accounting.ts). */
	costs?: string[];
	/** Ladder advice from this branch's calls (advice.ts), after the cost table. */
	advice?: readonly string[];
}

/**
 * The `/stepdown` report, in the order a user needs it: what is wrong first (config errors, rungs that do not
 * resolve, a failed last call), then where the mode stands (mode, cursor, ladder, steps) and what it cost, then the
 * config that produced it.
 */
export function stepdownReport(input: ReportInput): string {
	const { resolved } = input;
	const lines: string[] = [];
	const errors = [
		...resolved.issues.map(formatIssue),
		...input.problems,
		...(input.failure ? [failureText(input.failure)] : []),
	];
	if (errors.length > 0) lines.push("plan-stepdown errors:", ...errors.map((e) => `  ✗ ${e}`), "");
	lines.push(`plan-stepdown: mode ${input.mode}${input.autoApprove ? " (auto-approve)" : ""}, cursor ${input.cursor}`);
	if (input.lastCall) {
		lines.push(
			`last call: rung ${input.lastCall.rung} ${input.lastCall.model}:${input.lastCall.thinking} (${input.lastCall.reason})`,
		);
	}
	lines.push("", "ladder:");
	if (input.rungs.length === 0 && input.problems.length === 0) {
		lines.push(
			resolved.issues.length > 0
				? "  (none: a config file with errors is not used; fix the errors above)"
				: "  (empty: every call uses the model you had when you entered /plan)",
		);
	}
	for (const rung of input.rungs) {
		const marker = input.mode !== "off" && rung.index === input.cursor ? "▶" : " ";
		const search = rung.webSearch === undefined ? "" : `  web_search ${rung.webSearch}`;
		lines.push(`${marker} [${rung.index}] ${rung.label}:${rung.thinking}${search}`);
	}
	if (input.problems.length > 0)
		lines.push(`  (${input.problems.length} rung(s) did not resolve: see the errors above)`);
	if (input.piLine) {
		const how = input.piLine === "1.x" ? "the stepdown/ladder virtual model" : "the plan-stepdown routing provider";
		lines.push(`  (pi ${input.piLine}: calls reach their rungs through ${how})`);
	}
	if (input.steps?.length) lines.push("", ...input.steps);
	if (input.costs?.length) lines.push("", ...input.costs);
	if (input.advice?.length) lines.push("", ...input.advice);
	if (input.protection) lines.push("", input.protection);
	lines.push("", "config (value ← file that set it):");
	for (const [pointer, source] of Object.entries(resolved.origins).sort(([a], [b]) => a.localeCompare(b))) {
		lines.push(`  ${pointer} = ${JSON.stringify(valueAt(resolved.config, pointer))}  ← ${source}`);
	}
	if (resolved.warnings?.length) {
		lines.push("", "config warnings (ignored settings):");
		for (const issue of resolved.warnings) lines.push(`  ! ${formatIssue(issue)}`);
	}
	return lines.join("\n");
}

/** The plan's steps for `/stepdown`: the widget's lines with what each step cost, and what no step was charged. */
export function stepLines(views: readonly StepView[], costs: StepCosts): string[] {
	if (views.length === 0) return [];
	const [head, ...rows] = progressLines(views);
	const out = [head, ...rows.map((row, i) => `${row}  ${usd(costs.perStep.get(views[i].n) ?? 0)}`)];
	if (costs.unreported > 0) out.push(`  after the last progress report: ${usd(costs.unreported)}`);
	return out;
}

function valueAt(root: unknown, pointer: string): unknown {
	let node = root;
	for (const part of pointer.split("/").slice(1)) node = (node as Record<string, unknown> | undefined)?.[part];
	return node;
}
