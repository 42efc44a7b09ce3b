/**
 * Savings on a recorded trace, through the extension's real code: for each call the session's messages go through
 * `toCallMessages` + `decideCall` (src/ladder.ts) for the rung, the rung resolves to pi-ai 0.73.1's real model
 * (src/resolve.ts), the call is recorded as a `plan-stepdown:call` entry followed by an assistant message whose
 * usage is priced with pi-ai's `calculateCost`, and src/accounting.ts totals the branch against flat rung 0.
 */
import { readFileSync } from "node:fs";
import type { Api, AssistantMessage, Model, Usage } from "@mariozechner/pi-ai";
import { calculateCost, getModels, getProviders } from "@mariozechner/pi-ai";
import { accountingSummary, type Summary, type Tokens } from "../../src/accounting.ts";
import { resolveConfig } from "../../src/config.ts";
import { type AgentMessageLike, decideCall, KICKOFF_TYPE, type Mode, toCallMessages } from "../../src/ladder.ts";
import { callThinking, type RegistryLike, resolveLadder } from "../../src/resolve.ts";
import type { ThinkingSetting } from "../../src/schema.ts";
import { CALL_TYPE, type CallEntry, STATE_TYPE, type StateEntry } from "../../src/state.ts";
import {
	CALL_GAP_MS,
	cacheHit,
	cacheKey,
	cacheTtlMs,
	callTokens,
	chooseRung,
	type RungCache,
	type RungInfo,
	rungCacheFromBranch,
	type Stepping,
	tokensCost,
} from "../../src/stepping.ts";

export interface TraceTokens {
	/** Every prompt token not served from cache (Anthropic cache writes included). */
	input: number;
	output: number;
	cacheRead: number;
	/** Real traces: the cache-write part of `input`, repeated (not added again). */
	cacheWrite?: number;
}

/** A further tool call of the same LLM call (real traces: parallel tool calls). */
export interface TraceToolCall {
	tool: string;
	args?: Record<string, unknown>;
	failed?: boolean;
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
			/** Real traces: the command exited 0 but its output shows failures (derived by a regex, not pi's isError). */
			failedDerived?: boolean;
			/** The call itself failed (provider error); pi retries it. */
			error?: boolean;
			/** Real traces: the user aborted the call (its tool calls did not run). Counted like `error`. */
			aborted?: boolean;
			extraTools?: TraceToolCall[];
			tokens: TraceTokens;
			note?: string;
	  };

export type TraceCallEvent = Extract<TraceEvent, { type: "call" }>;

/** Tools whose recorded arguments are incomplete in the real traces (the path only): never "the same call". */
const PARTLY_RECORDED = new Set(["edit", "write"]);

/**
 * A call's tools as pi would have seen them: `failed` is pi's isError (a derived failure exited 0, so it is none),
 * and a call whose arguments the trace did not record (edit and write keep only the path, some tools none) gets a
 * unique marker, so the replay never takes two different edits for the same call.
 */
export function piToolCalls(event: TraceCallEvent, unique: () => string): TraceToolCall[] {
	if (!event.tool) return [];
	const first = { tool: event.tool, args: event.args, failed: event.failed === true && event.failedDerived !== true };
	return [first, ...(event.extraTools ?? [])].map((t) =>
		PARTLY_RECORDED.has(t.tool) || Object.keys(t.args ?? {}).length === 0
			? { ...t, args: { ...t.args, unrecorded: unique() } }
			: t,
	);
}

/** What `runTrace` adds to the per-call ladder: the safety net, and the trace read as pi would have recorded it. */
export interface SafetyOptions {
	/** The default escalation rules send loops to rung 0. */
	escalation?: boolean;
	/** A review call on rung 0 at the end of each approved plan's run that ended on a cheaper rung (an estimate). */
	review?: boolean;
	/** Tools as `piToolCalls` gives them. */
	piView?: boolean;
}

/** The review message's own tokens, roughly (the marker, the prompt, the open plan steps). */
export const REVIEW_PROMPT_TOKENS = 150;

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
	message?: AgentMessageLike & { usage?: Usage; stopReason?: string; timestamp?: number };
}

export interface TraceCall {
	index: number;
	/** The rung the call used. */
	rung: number;
	/** The rung the ladder named (cache-aware stepping may use a stronger one). */
	ladderRung: number;
	why?: string;
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
	recorded: Tokens;
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

/** One call as the cache model sees it: what the limit search replays under any choice of rungs. */
export interface SimCall {
	prompt: number;
	/** The prefix one model all along read from cache (the trace's cacheRead): no cache can serve more. */
	cacheable: number;
	output: number;
	/** A failed or aborted call: billed, but leaves its cache as it was. */
	error: boolean;
	/** The nominal clock, ms. */
	at: number;
	ladderRung: number;
	implementing: boolean;
	/** The prefix changed before this call: every cache is cut to `cacheable`. */
	cut: boolean;
}

export interface TraceRun {
	ladder: string;
	label: string;
	stepping: Stepping;
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
	/** For the limit search (not written to results.json). */
	sim: { calls: SimCall[]; rungs: RungInfo[] };
	/** With `SafetyOptions.review`: the estimated review calls on rung 0 (not in the figures above). */
	review: { calls: number; cost: number };
}

function usageFor(model: Model<Api>, tokens: Tokens): Usage {
	const usage: Usage = {
		...tokens,
		totalTokens: tokens.input + tokens.output + tokens.cacheRead + tokens.cacheWrite,
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
 * The bench's cache model, shared by every policy and the limit. A cache holds the prompt its key last sent, for its
 * TTL, on a nominal clock (CALL_GAP_MS per call). A call reads at most what one model all along could have read
 * (`cacheable`). Where the trace's own read drops below half the previous prompt there are two causes:
 * - the prefix changed (a shrunk prompt: compaction; the kickoff's new system prompt and tools): every cache is cut
 *   to what the trace read (`cut`);
 * - otherwise, after a user message, a human pause let the recording model's cache expire: the clock jumps by
 *   PAUSE_MS and each cache's TTL decides (Anthropic's 5 min expire, a 24 h OpenAI cache survives).
 */
export const PAUSE_MS = 10 * 60_000;

/** The trace's own cache read fell below half the previous prompt: a new prefix or an expired cache. */
export function isDrop(cacheRead: number, previousPrompt: number | undefined): boolean {
	return previousPrompt !== undefined && cacheRead < previousPrompt / 2;
}

/** The tokens a call on `info`'s cache records, and the cache state after it (mutated). */
export function applyCall(cached: Record<string, RungCache>, call: SimCall, info: RungInfo): Tokens {
	if (call.cut) for (const c of Object.values(cached)) c.prompt = Math.min(c.prompt, call.cacheable);
	const hit = cacheHit(cached[info.key], info.ttlMs, call.at, call.cacheable);
	const tokens = callTokens(info.prices, call.prompt, hit, call.output);
	if (!call.error) cached[info.key] = { prompt: call.prompt, at: call.at };
	return tokens;
}

/**
 * Replays the trace on one ladder. Deterministic: no clock, no randomness, no I/O.
 * `overrides` is a further config layer (e.g. other bump rules), merged by the real config code.
 * Traces that start without a plan (`user` first) are implementation work with a user in the loop.
 */
export function runTrace(
	trace: Trace,
	ladder: LadderCase,
	overrides?: Record<string, unknown>,
	cacheKeyKind: CacheKey = "rung",
	registry: RegistryLike = piAiRegistry(),
	stepping: Stepping = "per-call",
	safety: SafetyOptions = {},
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
	const thinkingOf = rungs.map((r) => callThinking(r, r.model, session));
	const refOf = rungs.map((r) => `${r.model.provider}/${r.model.id}`);
	const infos: RungInfo[] = rungs.map((r, i) => ({
		key: cacheKeyKind === "rung" ? cacheKey(refOf[i] as string, thinkingOf[i] as string) : (refOf[i] as string),
		prices: r.model.cost,
		ttlMs: cacheTtlMs(r.model, { openaiRetention: config.openaiPromptCache.retention }),
	}));

	const messages: AgentMessageLike[] = [];
	/** The session as this ladder records it. */
	const branch: BranchEntry[] = [];
	/** The same session if every model could read every other model's prompt cache. */
	const sharedBranch: BranchEntry[] = [];
	const calls: TraceCall[] = [];
	const sim: SimCall[] = [];
	/** Per cache key: what its prompt cache holds. */
	const cached: Record<string, RungCache> = {};
	/** The flat run's cache: rung 0 all along, through the same cache model. */
	const flatCache: Record<string, RungCache> = {};
	let previousPrompt: number | undefined;
	let clock = -CALL_GAP_MS;
	/** What came since the last call: a user message (a pause may follow), the kickoff (a new prefix). */
	let since: "call" | "user" | "kickoff" = "call";
	let mode: Mode = "off";
	let callId = 0;
	let unrecorded = 0;
	/** The calls of the approved plan's run in progress (for the review estimate); undefined outside one. */
	let planRun: TraceCall[] | undefined;
	const review = { calls: 0, cost: 0 };
	/**
	 * The review the extension adds when an approved plan's run ends with an answer from a cheaper rung, estimated:
	 * one call on rung 0 whose prompt is the run's last prompt and answer plus the review message, whose output is
	 * the run's median output, through the same cache model. The review's own fixes are not modelled.
	 */
	const endPlanRun = () => {
		const last = planRun?.at(-1);
		if (safety.review && planRun && last && last.rung !== 0 && !last.error) {
			const outputs = planRun.map((c) => c.tokens.output).sort((a, b) => a - b);
			const lastPrompt = last.tokens.input + last.tokens.cacheRead;
			const call: SimCall = {
				prompt: lastPrompt + last.tokens.output + REVIEW_PROMPT_TOKENS,
				cacheable: lastPrompt + last.tokens.output,
				output: outputs[Math.floor(outputs.length / 2)] ?? 0,
				error: false,
				at: clock + CALL_GAP_MS,
				ladderRung: 0,
				implementing: true,
				cut: false,
			};
			review.calls++;
			review.cost += tokensCost(applyCall(cached, call, infos[0] as RungInfo), rung0.cost);
		}
		planRun = undefined;
	};

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
			endPlanRun();
			if (event.type === "plan") setMode("planning");
			else if (mode === "off") setMode("implementing"); // no plan: implementation with a user in the loop
			const message = { role: "user", content: event.text };
			messages.push(message);
			push({ type: "message", message });
			if (since !== "kickoff") since = event.type === "plan" ? "kickoff" : "user";
			continue;
		}
		if (event.type === "kickoff") {
			endPlanRun();
			planRun = [];
			setMode("implementing");
			const message = { role: "custom", customType: KICKOFF_TYPE, content: "The plan above is approved." };
			messages.push(message);
			push({ type: "custom_message", customType: KICKOFF_TYPE });
			since = "kickoff";
			continue;
		}

		const escalation = safety.escalation ? config.escalation : undefined;
		const decision = decideCall(mode, config.ladder.length, toCallMessages(messages), config.reasoningBump, escalation);
		if (!decision) throw new Error("a call while the mode is off");
		const prompt = event.tokens.input + event.tokens.cacheRead;
		const failedCall = event.error === true || event.aborted === true;
		const drop = !failedCall && isDrop(event.tokens.cacheRead, previousPrompt);
		const pause = drop && since === "user" && prompt >= (previousPrompt ?? 0) / 2;
		clock += CALL_GAP_MS + (pause ? PAUSE_MS : 0);
		const at = clock;
		const simCall: SimCall = {
			prompt,
			cacheable: pause ? Math.min(prompt, previousPrompt ?? 0) : event.tokens.cacheRead,
			output: event.tokens.output,
			error: failedCall,
			at,
			ladderRung: decision.rung,
			implementing: decision.phase === "implementing",
			cut: drop && !pause,
		};
		if (!failedCall) since = "call";
		let used = decision.rung;
		let why: string | undefined;
		if (stepping === "cache-aware") {
			const state = rungCacheFromBranch(branch, session);
			const choice = chooseRung({
				ladderRung: decision.rung,
				rungs: infos,
				caches: state.caches,
				now: at,
				prompt,
				cacheable: Math.min(prompt, state.lastPrompt ?? 0),
				output: state.output,
				growth: state.growth,
			});
			used = choice.rung;
			why = choice.why;
		}
		const rung = rungs.find((r) => r.index === used);
		if (!rung) throw new Error(`rung ${used} not resolved`);
		const model = rung.model;
		const info = infos[used] as RungInfo;
		const entry: CallEntry = {
			v: 1,
			rung: used,
			phase: decision.phase,
			reason: decision.reason,
			...(decision.trigger ? { trigger: decision.trigger } : {}),
			model: refOf[used] as string,
			thinking: thinkingOf[used] as string,
		};
		// The ladder's own rung is recorded next to the rung used (the live call entry gains the same field).
		push({ type: "custom", customType: CALL_TYPE, data: { ...entry, ladderRung: decision.rung } });

		const recorded = applyCall(cached, simCall, info);
		if (!failedCall) previousPrompt = prompt;
		sim.push(simCall);

		const tool = failedCall ? null : (event.tool ?? null);
		const toolCalls = !tool
			? []
			: safety.piView
				? piToolCalls(event, () => `#${unrecorded++}`)
				: [{ tool, args: event.args, failed: event.failed === true }, ...(event.extraTools ?? [])];
		const ids = toolCalls.map(() => `call_${callId++}`);
		const content = toolCalls.map((t, i) => ({ type: "toolCall", id: ids[i], name: t.tool, arguments: t.args ?? {} }));
		const stopReason: AssistantMessage["stopReason"] = event.aborted
			? "aborted"
			: event.error
				? "error"
				: tool
					? "toolUse"
					: "stop";
		const usage = usageFor(model, recorded);
		const message = { role: "assistant", content, stopReason, usage, timestamp: at };
		messages.push(message);
		branch.push({ type: "message", message });
		const sharedTokens = callTokens(model.cost, prompt, simCall.cacheable, event.tokens.output);
		sharedBranch.push({ type: "message", message: { ...message, usage: usageFor(model, sharedTokens) } });

		calls.push({
			index: calls.length,
			rung: used,
			ladderRung: decision.rung,
			...(why && why !== "ladder" ? { why } : {}),
			reason: decision.reason,
			...(decision.trigger
				? { trigger: `${decision.trigger.kind}: ${decision.trigger.detail || decision.trigger.tool}` }
				: {}),
			model: entry.model,
			thinking: entry.thinking,
			tool,
			failed: event.failed === true,
			error: failedCall,
			tokens: event.tokens,
			recorded,
			cost: usage.cost.total,
			flatCost: tokensCost(applyCall(flatCache, simCall, infos[0] as RungInfo), rung0.cost),
		});
		planRun?.push(calls[calls.length - 1] as TraceCall);

		toolCalls.forEach((t, i) => {
			const result = { role: "toolResult", toolCallId: ids[i], toolName: t.tool, isError: t.failed === true };
			messages.push(result);
			push({ type: "message", message: result });
		});
	}

	endPlanRun();
	const { table, ...summary } = accountingSummary(branch, config, registry);
	const shared = accountingSummary(sharedBranch, config, registry);
	const direct = calls.reduce((sum, c) => sum + c.flatCost, 0);
	const accounting = summary.flatCost ?? Number.NaN;
	return {
		ladder: ladder.name,
		label: ladder.label,
		stepping,
		rungs: rungs.map((r, i) => ({
			rung: r.index,
			model: refOf[i] as string,
			thinking: thinkingOf[i] as string,
			prices: r.model.cost,
		})),
		calls,
		summary,
		table,
		implementing: figures(summary.perPhase.implementing),
		session: figures(summary),
		flatCheck: { accounting, direct, diffPct: ((accounting - direct) / direct) * 100 },
		sharedCache: { implementing: figures(shared.perPhase.implementing), session: figures(shared) },
		sim: { calls: sim, rungs: infos },
		review,
	};
}
