/**
 * Savings on a recorded trace, through the extension's real code: for each call the session's messages go through
 * `toCallMessages` + `decideCall` (src/ladder.ts) for the rung, the rung resolves to pi-ai 0.73.1's real model
 * (src/resolve.ts), the call is recorded as a `plan-stepdown:call` entry followed by an assistant message whose
 * usage is priced with pi-ai's `calculateCost`, and src/accounting.ts totals the branch against flat rung 0.
 */
import { readFileSync } from "node:fs";
import type { Api, AssistantMessage, Model, Usage } from "@mariozechner/pi-ai";
import { calculateCost, getModels, getProviders } from "@mariozechner/pi-ai";
import { accountingSummary, type Summary } from "../../src/accounting.ts";
import { resolveConfig } from "../../src/config.ts";
import { type AgentMessageLike, decideCall, KICKOFF_TYPE, type Mode, toCallMessages } from "../../src/ladder.ts";
import { callThinking, type RegistryLike, resolveLadder } from "../../src/resolve.ts";
import type { ThinkingSetting } from "../../src/schema.ts";
import { CALL_TYPE, type CallEntry, STATE_TYPE, type StateEntry } from "../../src/state.ts";

export interface TraceTokens {
	input: number;
	output: number;
	cacheRead: number;
}

export type TraceEvent =
	/** `/plan <text>`: planning mode, then the user's message. */
	| { type: "plan"; text: string }
	/** The plan is approved: implementing mode, the kickoff message starts the run. */
	| { type: "kickoff" }
	/** A user follow-up while implementing. */
	| { type: "user"; text: string }
	/** One LLM call: the tool it called (null: a final answer), whether that tool's result was an error. */
	| {
			type: "call";
			tool?: string | null;
			args?: Record<string, unknown>;
			failed?: boolean;
			/** The call itself failed (provider error); pi retries it. */
			error?: boolean;
			tokens: TraceTokens;
			note?: string;
	  };

export type TraceCallEvent = Extract<TraceEvent, { type: "call" }>;

export interface Trace {
	v: 1;
	description: string;
	notes: string[];
	/** The user's session thinking level (used by rungs that set none). */
	sessionThinking: ThinkingSetting;
	events: TraceEvent[];
}

export const TRACE_FILE = new URL("./trace.json", import.meta.url);

export function loadTrace(file: URL | string = TRACE_FILE): Trace {
	return JSON.parse(readFileSync(file, "utf8")) as Trace;
}

export interface LadderCase {
	name: string;
	label: string;
	/** The project config layer (.pi/plan-stepdown.json) that sets the ladder. */
	config: Record<string, unknown>;
}

export const LADDERS: LadderCase[] = [
	{
		name: "openai-same-provider",
		label: "same provider: openai gpt-5.5 xhigh → gpt-5.4 high → gpt-5.4 medium → gpt-5.4-mini medium → low",
		config: {
			provider: "openai",
			ladder: [
				{ modelId: "gpt-5.5", thinking: "xhigh", webSearchContextSize: "high" },
				{ modelId: "gpt-5.4", thinking: "high", webSearchContextSize: "high" },
				{ modelId: "gpt-5.4", thinking: "medium", webSearchContextSize: "medium" },
				{ modelId: "gpt-5.4-mini", thinking: "medium", webSearchContextSize: "medium" },
				{ modelId: "gpt-5.4-mini", thinking: "low", webSearchContextSize: "low" },
			],
		},
	},
	{
		name: "anthropic-to-openai",
		label: "cross provider: anthropic claude-opus-4-6 → claude-sonnet-4-6 → openai gpt-5.4 → gpt-5.4-mini",
		config: {
			ladder: [
				{ model: "anthropic/claude-opus-4-6", thinking: "high" },
				{ model: "anthropic/claude-sonnet-4-6", thinking: "high" },
				{ model: "openai/gpt-5.4", thinking: "medium", webSearchContextSize: "medium" },
				{ model: "openai/gpt-5.4-mini", thinking: "low", webSearchContextSize: "low" },
			],
		},
	},
];

/** pi-ai's built-in model table, as pi's ModelRegistry serves it (every provider authenticated). */
export function piAiRegistry(): RegistryLike {
	const all: Model<Api>[] = getProviders().flatMap((p) => getModels(p) as Model<Api>[]);
	return {
		find: (provider, id) => all.find((m) => m.provider === provider && m.id === id),
		getAll: () => all,
		hasConfiguredAuth: () => true,
	};
}

interface BranchEntry {
	type: string;
	customType?: string;
	data?: unknown;
	message?: AgentMessageLike & { usage?: Usage; stopReason?: string };
}

export interface TraceCall {
	index: number;
	rung: number;
	reason: CallEntry["reason"];
	trigger?: string;
	model: string;
	thinking: string;
	tool: string | null;
	failed: boolean;
	error: boolean;
	/** The trace's tokens: what one model all along records (its prompt cache holds the previous call's prompt). */
	tokens: TraceTokens;
	/** What this ladder's call records: its model's prompt cache holds only what that model itself saw. */
	recorded: TraceTokens;
	/** `recorded` at the rung's model's prices. */
	cost: number;
	/** The trace's tokens at rung 0's prices: the flat run, priced directly. */
	flatCost: number;
}

export interface RunFigures {
	cost: number;
	flatCost: number;
	/** cost / flat rung 0, % */
	pct: number;
}

export interface TraceRun {
	ladder: string;
	label: string;
	rungs: { rung: number; model: string; thinking: string; prices: Model<Api>["cost"] }[];
	calls: TraceCall[];
	/** src/accounting.ts's summary of the branch as this ladder records it (without its text table). */
	summary: Omit<Summary, "table">;
	table: string[];
	/** The implementation calls (the target figure): planning is rung 0 by design and costs the same either way. */
	implementing: RunFigures;
	/** The whole session, planning included. */
	session: RunFigures;
	/**
	 * Accounting's flat rung 0 (same tokens, the cache a rung switch lost credited back) next to the trace's own
	 * tokens priced at rung 0: how closely the counterfactual reconstructs the flat run.
	 */
	flatCheck: { accounting: number; direct: number; diffPct: number };
	/** Optimistic: every model reads the previous prompt from cache, as if caches were shared (they are not). */
	sharedCache: { implementing: RunFigures; session: RunFigures };
}

function usageFor(model: Model<Api>, tokens: TraceTokens): Usage {
	const usage: Usage = {
		input: tokens.input,
		output: tokens.output,
		cacheRead: tokens.cacheRead,
		cacheWrite: 0,
		totalTokens: tokens.input + tokens.output + tokens.cacheRead,
		cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
	};
	calculateCost(model, usage);
	return usage;
}

const figures = (t: { cost: number; flatCost: number | undefined }): RunFigures => {
	const flatCost = t.flatCost ?? Number.NaN;
	return { cost: t.cost, flatCost, pct: (t.cost / flatCost) * 100 };
};

/**
 * What a provider's prompt cache is keyed on. "rung": the model and the reasoning effort (OpenAI's caching guide lists
 * effort changes among the causes of misses, and both Codex and Claude Code users measured misses after an effort
 * change); "model": the model alone.
 */
export type CacheKey = "rung" | "model";

/**
 * Replays the trace on one ladder. Deterministic: no clock, no randomness, no I/O.
 * `overrides` is a further config layer (e.g. other bump rules), merged by the real config code.
 */
export function runTrace(
	trace: Trace,
	ladder: LadderCase,
	overrides?: Record<string, unknown>,
	cacheKey: CacheKey = "rung",
	registry: RegistryLike = piAiRegistry(),
): TraceRun {
	const layers = [{ source: `bench:${ladder.name}`, text: JSON.stringify(ladder.config) }];
	if (overrides) layers.push({ source: "bench:overrides", text: JSON.stringify(overrides) });
	const resolved = resolveConfig(layers);
	if (resolved.issues.length > 0) throw new Error(resolved.issues.map((i) => i.message).join("; "));
	const config = resolved.config;
	const { rungs, problems } = resolveLadder(config, registry);
	if (problems.length > 0) throw new Error(problems.join("; "));
	const rung0 = rungs[0]?.model;
	if (!rung0) throw new Error("empty ladder");
	const session = trace.sessionThinking;

	const messages: AgentMessageLike[] = [];
	/** The session as this ladder records it. */
	const branch: BranchEntry[] = [];
	/** The same session if every model could read every other model's prompt cache. */
	const sharedBranch: BranchEntry[] = [];
	const calls: TraceCall[] = [];
	/** Per model: the prompt tokens of its last call (what its prompt cache holds). */
	const cached = new Map<string, number>();
	let mode: Mode = "off";
	let callId = 0;

	const push = (entry: BranchEntry) => {
		branch.push(entry);
		sharedBranch.push(entry);
	};
	const setMode = (next: Mode) => {
		mode = next;
		const data: StateEntry = { v: 1, mode, autoApprove: false };
		push({ type: "custom", customType: STATE_TYPE, data });
	};

	for (const event of trace.events) {
		if (event.type === "plan" || event.type === "user") {
			if (event.type === "plan") setMode("planning");
			const message = { role: "user", content: event.text };
			messages.push(message);
			push({ type: "message", message });
			continue;
		}
		if (event.type === "kickoff") {
			setMode("implementing");
			const message = { role: "custom", customType: KICKOFF_TYPE, content: "The plan above is approved." };
			messages.push(message);
			push({ type: "custom_message", customType: KICKOFF_TYPE });
			continue;
		}

		const decision = decideCall(mode, config.ladder.length, toCallMessages(messages), config.reasoningBump);
		if (!decision) throw new Error("a call while the mode is off");
		const rung = rungs.find((r) => r.index === decision.rung);
		if (!rung) throw new Error(`rung ${decision.rung} not resolved`);
		const model = rung.model;
		const modelRef = `${model.provider}/${model.id}`;
		const entry: CallEntry = {
			v: 1,
			rung: decision.rung,
			phase: decision.phase,
			reason: decision.reason,
			...(decision.trigger ? { trigger: decision.trigger } : {}),
			model: modelRef,
			thinking: callThinking(rung, model, session),
		};
		push({ type: "custom", customType: CALL_TYPE, data: entry });

		// A cache holds what was sent with the same key before; what this call lost is billed as uncached input.
		const key = cacheKey === "rung" ? `${modelRef}:${entry.thinking}` : modelRef;
		const prompt = event.tokens.input + event.tokens.cacheRead;
		const hit = Math.min(event.tokens.cacheRead, cached.get(key) ?? 0);
		const recorded = { ...event.tokens, input: prompt - hit, cacheRead: hit };
		if (!event.error) cached.set(key, prompt);

		const tool = event.error ? null : (event.tool ?? null);
		const id = `call_${callId++}`;
		const content = tool ? [{ type: "toolCall", id, name: tool, arguments: event.args ?? {} }] : [];
		const stopReason: AssistantMessage["stopReason"] = event.error ? "error" : tool ? "toolUse" : "stop";
		const usage = usageFor(model, recorded);
		const message = { role: "assistant", content, stopReason, usage };
		messages.push(message);
		branch.push({ type: "message", message });
		sharedBranch.push({ type: "message", message: { ...message, usage: usageFor(model, event.tokens) } });

		calls.push({
			index: calls.length,
			rung: decision.rung,
			reason: decision.reason,
			...(decision.trigger
				? { trigger: `${decision.trigger.kind}: ${decision.trigger.detail || decision.trigger.tool}` }
				: {}),
			model: modelRef,
			thinking: entry.thinking,
			tool,
			failed: event.failed === true,
			error: event.error === true,
			tokens: event.tokens,
			recorded,
			cost: usage.cost.total,
			flatCost: usageFor(rung0, event.tokens).cost.total,
		});

		if (tool) {
			const result = { role: "toolResult", toolCallId: id, toolName: tool, isError: event.failed === true };
			messages.push(result);
			push({ type: "message", message: result });
		}
	}

	const { table, ...summary } = accountingSummary(branch, config, registry);
	const shared = accountingSummary(sharedBranch, config, registry);
	const direct = calls.reduce((sum, c) => sum + c.flatCost, 0);
	const accounting = summary.flatCost ?? Number.NaN;
	return {
		ladder: ladder.name,
		label: ladder.label,
		rungs: rungs.map((r) => ({
			rung: r.index,
			model: `${r.model.provider}/${r.model.id}`,
			thinking: callThinking(r, r.model, session),
			prices: r.model.cost,
		})),
		calls,
		summary,
		table,
		implementing: figures(summary.perPhase.implementing),
		session: figures(summary),
		flatCheck: { accounting, direct, diffPct: ((accounting - direct) / direct) * 100 },
		sharedCache: { implementing: figures(shared.perPhase.implementing), session: figures(shared) },
	};
}
