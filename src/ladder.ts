/**
 * The ladder's whole state machine, as pure functions over plain data.
 *
 * Stepping is derived per call from the messages pi is about to send (which pi awaits), never from counters bumped
 * in un-awaited events: the segment since the last user-role message tells who has control, each successful
 * assistant message since then is one step down, and the tool results after the latest step say whether to bump.
 *
 * | situation                                     | rung                                  |
 * |-----------------------------------------------|---------------------------------------|
 * | mode "planning" (every call)                  | 0                                     |
 * | implementing, first call after the kickoff    | 1 (0 on a one-rung ladder)            |
 * | implementing, first call after a user message | 0                                     |
 * | each further call of that segment             | previous + 1, the last rung repeats   |
 * | after a failed bash / failed tool / pkg cmd   | 1 (0 on a one-rung ladder), then on   |
 * | after a loop (escalation.ts rules)            | 0, then on                            |
 * | the review turn at the end of a plan's run    | 0, then on                            |
 * | the turn after a runaway output               | 0, then on                            |
 * | a failed or aborted call                      | does not count: the retry reuses it   |
 */
import { type EscalationRules, escalationTracker, type FinalSeen, runawayOutput } from "./escalation.ts";

export type Mode = "off" | "planning" | "implementing";

/** The review turn on rung 0 at the end of an implementation run (plan-mode.ts decides, hosts deliver). */
export const REVIEW_TYPE = "plan-stepdown:review";
/** How the review message starts, so that pi 1.x's router, which sees it as a user message, tells it apart. */
export const REVIEW_MARKER = "[plan-stepdown review]";
export type Phase = "planning" | "implementing";

/** The turn on rung 0 after a runaway output (escalation.ts `runawayOutput`; plan-mode.ts decides, hosts deliver). */
export const RUNAWAY_TYPE = "plan-stepdown:continue";
const RUNAWAY_OPEN = "[plan-stepdown runaway-output: ";
const RUNAWAY_PROMPT =
	"Your last answer ended without a tool call or a final answer. Continue the task from where it stands: make the next tool call, or give the final answer if the work is done.";
/** The message that continues the run; its first bracket carries the trigger's detail, so the router can record it. */
export const runawayText = (detail: string) => `${RUNAWAY_OPEN}${detail.replaceAll("]", ")")}] ${RUNAWAY_PROMPT}`;

export const KICKOFF_TYPE = "plan-stepdown:implement";
/**
 * The approved plan's kickoff. pi 0.73.1 hands the ladder pi's own messages (the kickoff keeps its `customType`);
 * pi 1.x hands a virtual model's router LLM messages, where the kickoff is a user-role message with this exact text.
 */
export const KICKOFF_TEXT =
	"The plan above is approved. Implement it now, step by step: make the changes with the tools you have, run the checks the plan names, fix what fails, and finish with a short summary of what changed. After finishing each numbered step, report it with the plan_progress tool (its number and status).";

export interface BumpRules {
	bumpOnFailedBash: boolean;
	bumpOnFailedTool: boolean;
	bumpOnPackageManagerCommand: boolean;
	packageManagerCommands: readonly string[];
}

export interface CallToolCall {
	id: string;
	name: string;
	/** The bash command, when the tool is bash. */
	command?: string;
	/** The full arguments as stable JSON (keys sorted): what "the same call" compares. */
	args?: string;
	/** The file an edit or write targets. */
	path?: string;
}

/** The part of a message the ladder looks at. */
export type CallMessage =
	| { role: "user"; kickoff: boolean; review?: boolean; escalation?: Trigger }
	| { role: "assistant"; ok: boolean; toolCalls: CallToolCall[] }
	| { role: "toolResult"; toolCallId: string; toolName: string; isError: boolean; errorText?: string };

export type TriggerKind =
	| "failed-bash"
	| "failed-tool"
	| "package-manager"
	| "same-tool-call"
	| "same-failing-bash"
	| "failures-in-a-row"
	| "edit-not-found"
	| "runaway-output";

export interface Trigger {
	kind: TriggerKind;
	tool: string;
	detail: string;
}

export type Reason = "planning" | "user-turn" | "kickoff" | "step" | "bump" | "escalation" | "review";

export interface Decision {
	rung: number;
	phase: Phase;
	reason: Reason;
	/** Successful calls already made in this segment. */
	step: number;
	/** What caused a bump (reason "bump") or an escalation (reason "escalation"). */
	trigger?: Trigger;
	/** A retry moved off a rate-limited or overloaded rung (failover.ts); `rung` is where it went. */
	failover?: { from: number; cause: string; kept?: true };
}

export const lastRung = (ladderLength: number) => Math.max(0, ladderLength - 1);
export const bumpRung = (ladderLength: number) => Math.min(1, lastRung(ladderLength));

/** Which rung the call about to be made uses. `undefined` when the mode is off (the call is not ours). */
export function decideCall(
	mode: Mode,
	ladderLength: number,
	messages: readonly CallMessage[],
	rules: BumpRules,
	escalation?: EscalationRules,
): Decision | undefined {
	if (mode === "off") return undefined;
	if (mode === "planning") return { rung: 0, phase: "planning", reason: "planning", step: 0 };

	let start = 0;
	let kickoff = false;
	let review = false;
	let runaway: Trigger | undefined;
	for (let i = messages.length - 1; i >= 0; i--) {
		const m = messages[i];
		if (m.role === "user") {
			start = i + 1;
			kickoff = m.kickoff;
			review = m.review === true;
			runaway = m.escalation;
			break;
		}
	}

	let decision: Decision = kickoff
		? { rung: bumpRung(ladderLength), phase: "implementing", reason: "kickoff", step: 0 }
		: runaway
			? { rung: 0, phase: "implementing", reason: "escalation", step: 0, trigger: runaway }
			: { rung: 0, phase: "implementing", reason: review ? "review" : "user-turn", step: 0 };
	const calls = new Map<string, CallToolCall>();
	let pending: Trigger | undefined;
	let stepped = false;
	const loops = escalation ? escalationTracker(escalation) : undefined;

	const advance = () => {
		if (!stepped) return;
		stepped = false;
		// A loop outranks a bump: the strongest rung looks at it, and stepping continues from there.
		const escalated = loops?.take();
		decision = escalated
			? { rung: 0, phase: "implementing", reason: "escalation", step: decision.step + 1, trigger: escalated }
			: pending
				? {
						rung: bumpRung(ladderLength),
						phase: "implementing",
						reason: "bump",
						step: decision.step + 1,
						trigger: pending,
					}
				: {
						rung: Math.min(decision.rung + 1, lastRung(ladderLength)),
						phase: "implementing",
						reason: "step",
						step: decision.step + 1,
					};
		pending = undefined;
	};

	for (let i = start; i < messages.length; i++) {
		const m = messages[i];
		if (m.role === "assistant") {
			if (!m.ok) continue; // a failed or aborted call does not move the cursor
			advance();
			stepped = true;
			for (const call of m.toolCalls) {
				calls.set(call.id, call);
				loops?.call(call);
			}
		} else if (m.role === "toolResult") {
			const call = calls.get(m.toolCallId);
			pending ??= triggerOf(m, call, rules);
			loops?.result(m, call);
		}
	}
	advance();
	return decision;
}

/**
 * A call that does not come from the agent loop (compaction, branch summaries): it goes to the top of the ladder and
 * does not step. Mode off: the user's own model.
 */
export function auxiliaryDecision(mode: Mode, ladderLength: number, rules: BumpRules): Decision {
	return decideCall(mode, ladderLength, [], rules) ?? { rung: 0, phase: "implementing", reason: "user-turn", step: 0 };
}

/** Does this tool result bump the next call? The first matching rule names the cause. */
export function triggerOf(
	result: { toolName: string; isError: boolean },
	call: CallToolCall | undefined,
	rules: BumpRules,
): Trigger | undefined {
	const command = call?.command;
	if (result.toolName === "bash") {
		if (result.isError && rules.bumpOnFailedBash) {
			return { kind: "failed-bash", tool: "bash", detail: command ?? "" };
		}
		if (command && rules.bumpOnPackageManagerCommand) {
			const manager = packageManagerIn(command, rules.packageManagerCommands);
			if (manager) return { kind: "package-manager", tool: "bash", detail: command };
		}
		return undefined;
	}
	if (result.isError && rules.bumpOnFailedTool) return { kind: "failed-tool", tool: result.toolName, detail: "" };
	return undefined;
}

/** The package manager a shell command runs, looking at each simple command of a pipeline or list. */
export function packageManagerIn(command: string, managers: readonly string[]): string | undefined {
	for (const part of command.split(/&&|\|\||[;|\n]/)) {
		const words = part.trim().split(/\s+/);
		let i = 0;
		// Skip env assignments and common wrappers: `FOO=1 npx ...`, `time npm test`, `sudo -E pnpm i`.
		while (
			i < words.length &&
			(/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]) || ["time", "env", "command"].includes(words[i]))
		) {
			i++;
		}
		const word = words[i]?.replace(/^.*\//, "");
		if (word && managers.includes(word)) return word;
	}
	return undefined;
}

/** The subset of pi's AgentMessage this module reads. */
export interface AgentMessageLike {
	role: string;
	customType?: string;
	stopReason?: string;
	usage?: { output?: number };
	content?: unknown;
	toolCallId?: string;
	toolName?: string;
	isError?: boolean;
}

/** pi 1.x carries the system prompt (and mid-run prompt or tool patches) as system messages: no one's turn. */
const isUserTurn = (m: AgentMessageLike) => m.role !== "assistant" && m.role !== "toolResult" && m.role !== "system";

/**
 * The messages `decideCall` reads: from the last user-role message on (the whole history when there is none).
 * A backwards scan over the current segment only, so the per-call cost does not grow with the history.
 */
export function currentSegment<T extends AgentMessageLike>(messages: readonly T[]): readonly T[] {
	for (let i = messages.length - 1; i >= 0; i--) if (isUserTurn(messages[i])) return messages.slice(i);
	return messages;
}

/** A call that produced an answer: a failed or aborted one is retried and does not count. */
const answered = (m: AgentMessageLike) => m.stopReason !== "error" && m.stopReason !== "aborted";

/**
 * The runaway-output rule (escalation.ts) on a call's final message, given the messages sent with that call: the
 * earlier calls of its segment give the median.
 */
export function runawayOf(
	multiple: number,
	final: Omit<AgentMessageLike, "role">,
	history: readonly AgentMessageLike[],
): Trigger | undefined {
	if (multiple <= 0) return undefined;
	const blocks = Array.isArray(final.content) ? (final.content as { type?: string; text?: unknown }[]) : [];
	const seen: FinalSeen = {
		stopReason: final.stopReason ?? "",
		hasToolCall: blocks.some((b) => b?.type === "toolCall"),
		hasText: blocks.some((b) => b?.type === "text" && typeof b.text === "string" && b.text.trim().length > 0),
		output: final.usage?.output ?? 0,
	};
	return runawayOutput(multiple, seen, segmentOutputs(history));
}

/** The output tokens of the current segment's answered calls. */
export function segmentOutputs(history: readonly AgentMessageLike[]): number[] {
	return currentSegment(history)
		.filter((m) => m.role === "assistant" && answered(m))
		.map((m) => m.usage?.output ?? 0);
}

/** Distil pi's messages (the `context` event's) to what `decideCall` needs. */
export function toCallMessages(messages: readonly AgentMessageLike[]): CallMessage[] {
	const out: CallMessage[] = [];
	for (const m of messages) {
		if (m.role === "assistant") {
			out.push({
				role: "assistant",
				ok: answered(m),
				toolCalls: toolCallsOf(m.content),
			});
		} else if (m.role === "toolResult") {
			out.push({
				role: "toolResult",
				toolCallId: m.toolCallId ?? "",
				toolName: m.toolName ?? "",
				isError: m.isError === true,
				errorText: m.isError === true ? clip(textOf(m.content)) : undefined,
			});
		} else if (m.role !== "system") {
			// user, custom, bashExecution, compaction and branch summaries all reach the model as user turns
			const runaway = continueTriggerOf(m);
			out.push(
				isReview(m)
					? { role: "user", kickoff: false, review: true }
					: runaway
						? { role: "user", kickoff: false, escalation: runaway }
						: { role: "user", kickoff: isKickoff(m) },
			);
		}
	}
	return out;
}

/** The runaway-output trigger a continue message carries: pi 0.73.1 keeps its customType, pi 1.x only the text. */
function continueTriggerOf(m: AgentMessageLike): Trigger | undefined {
	if (m.role !== "custom" && m.role !== "user") return undefined;
	if (m.role === "custom" && m.customType !== RUNAWAY_TYPE) return undefined;
	const content = m.content as string | readonly { type?: string; text?: unknown }[] | undefined;
	const text = typeof content === "string" ? content : Array.isArray(content) ? content[0]?.text : undefined;
	if (typeof text !== "string" || !text.startsWith(RUNAWAY_OPEN)) return undefined;
	const end = text.indexOf("]");
	return { kind: "runaway-output", tool: "", detail: text.slice(RUNAWAY_OPEN.length, end < 0 ? undefined : end) };
}

function isReview(m: AgentMessageLike): boolean {
	if (m.role === "custom") return m.customType === REVIEW_TYPE;
	if (m.role !== "user") return false;
	const content = m.content as string | readonly { type?: string; text?: unknown }[] | undefined;
	const text = typeof content === "string" ? content : Array.isArray(content) ? content[0]?.text : undefined;
	return typeof text === "string" && text.startsWith(REVIEW_MARKER);
}

function isKickoff(m: AgentMessageLike): boolean {
	if (m.role === "custom") return m.customType === KICKOFF_TYPE;
	if (m.role !== "user") return false;
	const content = m.content as string | readonly { type?: string; text?: unknown }[] | undefined;
	if (typeof content === "string") return content === KICKOFF_TEXT;
	if (!Array.isArray(content) || content.length !== 1) return false;
	return content[0]?.type === "text" && content[0].text === KICKOFF_TEXT;
}

function toolCallsOf(content: unknown): CallToolCall[] {
	if (!Array.isArray(content)) return [];
	const calls: CallToolCall[] = [];
	for (const block of content as { type?: string; id?: string; name?: string; arguments?: unknown }[]) {
		if (block?.type !== "toolCall" || typeof block.name !== "string") continue;
		const args = block.arguments as { command?: unknown; path?: unknown } | undefined;
		calls.push({
			id: String(block.id ?? ""),
			name: block.name,
			command: block.name === "bash" && typeof args?.command === "string" ? args.command : undefined,
			args: stableJson(args ?? {}),
			path: typeof args?.path === "string" ? args.path : undefined,
		});
	}
	return calls;
}

/**
 * Enough of a failed tool's output to tell "old text not found" (its start) and bash's exit code (its end) from other
 * failures, without copying whole logs.
 */
const ERROR_HEAD_CHARS = 240;
const ERROR_TAIL_CHARS = 60;
const clip = (text: string) =>
	text.length <= ERROR_HEAD_CHARS + ERROR_TAIL_CHARS
		? text
		: `${text.slice(0, ERROR_HEAD_CHARS)}…${text.slice(-ERROR_TAIL_CHARS)}`;

function textOf(content: unknown): string {
	if (typeof content === "string") return content;
	if (!Array.isArray(content)) return "";
	return (content as { type?: string; text?: unknown }[])
		.map((c) => (c?.type === "text" && typeof c.text === "string" ? c.text : ""))
		.join("\n");
}

/** JSON with object keys sorted, so that the same arguments in another key order are the same call. */
export function stableJson(value: unknown): string {
	// One native stringify of a key-sorted copy: a replacer function runs per value and cost ~20× more per call.
	return JSON.stringify(sortedKeys(value));
}

function sortedKeys(value: unknown): unknown {
	if (value === null || typeof value !== "object") return value;
	if (Array.isArray(value)) return value.map(sortedKeys);
	const out: Record<string, unknown> = {};
	for (const key of Object.keys(value).sort()) out[key] = sortedKeys((value as Record<string, unknown>)[key]);
	return out;
}
