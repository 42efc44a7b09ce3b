/**
 * What happens to a bash call while planning. With a sandbox the command runs inside it (the OS refuses writes);
 * without one, the parsed allow-list decides. The user's `planBash.deny` patterns narrow both. Pure: the sandbox
 * probe's answer comes in as `protection`.
 */
import { checkAllowList } from "./plan-allowlist.ts";
import { type SandboxKind, sandboxedCommand } from "./plan-sandbox.ts";
import { compilePattern, type SafePattern, safeTest } from "./safe-regex.ts";

export type Protection = { kind: "sandbox"; sandbox: SandboxKind } | { kind: "parser"; why?: string };

export type PlanBashDecision = { action: "run"; command: string } | { action: "block"; reason: string };

/** The part of the config the decision reads (planBash). */
export interface PlanBashConfig {
	allow: readonly string[];
	deny: readonly string[];
	sandbox: "auto" | "off";
	network: boolean;
}

/** "sandbox: bubblewrap" | "sandbox: sandbox-exec" | "parser allow-list", for /plan and /stepdown. */
export function protectionLabel(protection: Protection): string {
	return protection.kind === "sandbox" ? `sandbox: ${protection.sandbox}` : "parser allow-list";
}

/**
 * One line for /plan and /stepdown: which protection is active and, for the parser, why the sandbox is not used,
 * e.g. "plan-mode bash: parser allow-list (bubblewrap cannot start: bwrap: No permissions to create new namespace)".
 */
export function protectionNote(protection: Protection): string {
	const why = protection.kind === "parser" && protection.why ? ` (${protection.why})` : "";
	return `plan-mode bash: ${protectionLabel(protection)}${why}`;
}

/** The protection in force: the sandbox when it is enabled and could start, else the parser. */
export function planProtection(
	config: Pick<PlanBashConfig, "sandbox">,
	probe: { kind: SandboxKind | undefined; reason?: string },
): Protection {
	if (config.sandbox === "off") return { kind: "parser", why: "planBash.sandbox is off" };
	return probe.kind ? { kind: "sandbox", sandbox: probe.kind } : { kind: "parser", why: probe.reason };
}

const compiled = new Map<string, SafePattern | undefined>();
/** Patterns are validated at config load; one that is not accepted here is skipped (deny: see planBashDecision). */
function compile(source: string): SafePattern | undefined {
	if (!compiled.has(source)) compiled.set(source, compilePattern(source));
	return compiled.get(source);
}

export function planBashDecision(command: string, config: PlanBashConfig, protection: Protection): PlanBashDecision {
	for (const source of config.deny) {
		const pattern = compile(source);
		if (!pattern) return { action: "block", reason: `planBash.deny pattern ${source} cannot be checked safely` };
		const hit = safeTest(pattern, command);
		if (hit === undefined) {
			return {
				action: "block",
				reason: `the command is longer than planBash.deny /${source}/ can be checked on (${pattern.maxInput} characters)`,
			};
		}
		if (hit) return { action: "block", reason: `it matches planBash.deny /${source}/` };
	}
	if (protection.kind === "sandbox") {
		return { action: "run", command: sandboxedCommand(protection.sandbox, command, { network: config.network }) };
	}
	const allow = config.allow.map(compile).filter((p): p is SafePattern => p !== undefined);
	const verdict = checkAllowList(command, allow.length ? (text) => allow.some((p) => safeTest(p, text)) : undefined);
	return verdict.ok ? { action: "run", command } : { action: "block", reason: verdict.reason };
}

/** The text of a blocked call, for the model. */
export function planBashBlockReason(reason: string, command: string): string {
	return `plan-stepdown: refused while planning: ${reason}. Only read-only commands run in plan mode.\nCommand: ${command}`;
}

const READ_ONLY_ERROR = /Read-only file system|EROFS/;

/**
 * A note for the model when a sandboxed command failed to write: plan mode is read-only by design, so it should
 * not look for another way to write. Undefined when the output shows no such failure.
 */
export function planBashResultNote(output: string): string | undefined {
	if (!READ_ONLY_ERROR.test(output)) return undefined;
	return "plan-stepdown: plan mode is read-only: the file system refused the write. Do not try to work around it; put the change in the plan, it runs after approval.";
}
