/**
 * The former text-rule guard, kept as a thin compatibility layer: plan-mode bash is now decided by
 * `planBashDecision` (plan-bash.ts), which runs the command in an OS sandbox or checks it with the parsed
 * allow-list (plan-allowlist.ts). This checks with the parsed allow-list only.
 */
import { planBashDecision } from "./plan-bash.ts";
import { patternProblem } from "./safe-regex.ts";

export interface BashRules {
	allow: readonly string[];
	deny: readonly string[];
}

export type BashVerdict = { ok: true } | { ok: false; reason: string };

export function checkPlanBash(command: string, rules: BashRules): BashVerdict {
	const decision = planBashDecision(
		command,
		{ allow: rules.allow, deny: rules.deny, sandbox: "off", network: false },
		{ kind: "parser" },
	);
	return decision.action === "run" ? { ok: true } : { ok: false, reason: decision.reason };
}

/** Patterns that are invalid or unsafe to run (reported at config load with file and path; see config.ts). */
export function invalidPatterns(patterns: readonly string[]): string[] {
	return patterns.filter((p) => patternProblem(p) !== undefined);
}
