/**
 * The words the extension adds to the conversation, and the per-call system prompt swap.
 * The planning instructions live in a delimited block of the system prompt, so a call can add or drop them
 * without touching the rest: a run that started in planning keeps its system prompt for its whole life in pi.
 */
import type { Phase } from "./ladder.ts";
import { WRITE_TOOLS } from "./plan-mode.ts";

const BEGIN = "<plan-stepdown>";
const END = "</plan-stepdown>";

export const PLANNING_INSTRUCTIONS = `${BEGIN}
PLAN MODE. You are planning, not implementing.
- Explore with the read-only tools you have (read, grep, find, ls, and bash for read-only commands such as cat, git log, git diff). Do not modify files: edit and write are unavailable and mutating bash commands are refused.
- Ask a clarifying question only if the task cannot be planned without the answer.
- Finish with the plan as a numbered list under a "Plan:" heading: concrete steps naming the files to change and how to verify the result (tests, commands).
- Stop after the plan. It is implemented only after it is approved.
${END}`;

/** pi 1.x: the name of the system prompt section that carries the planning instructions. */
export const PLANNING_SECTION = "plan-stepdown";

/** The system prompt for one call: pi's own prompt plus the planning block only while planning. */
export function systemPromptFor(systemPrompt: string | undefined, phase: Phase): string | undefined {
	const base = stripBlock(systemPrompt);
	if (phase !== "planning") return base;
	return base ? `${base}\n\n${PLANNING_INSTRUCTIONS}` : PLANNING_INSTRUCTIONS;
}

function stripBlock(systemPrompt: string | undefined): string | undefined {
	if (!systemPrompt) return systemPrompt;
	const start = systemPrompt.indexOf(BEGIN);
	if (start === -1) return systemPrompt;
	const end = systemPrompt.indexOf(END, start);
	if (end === -1) return systemPrompt;
	const before = systemPrompt.slice(0, start).replace(/\s+$/, "");
	const after = systemPrompt.slice(end + END.length).replace(/^\s+/, "");
	return before && after ? `${before}\n\n${after}` : before || after;
}

/** Tools a call may offer the model: while planning only the plan tools, whatever the run was started with. */
export function toolsFor<T extends { name: string }>(
	tools: T[] | undefined,
	phase: Phase,
	planTools: readonly string[],
): T[] | undefined {
	if (!tools || phase !== "planning") return tools;
	return tools.filter((t) => planTools.includes(t.name) && !WRITE_TOOLS.has(t.name));
}
