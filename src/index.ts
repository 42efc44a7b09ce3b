/**
 * pi-plan-stepdown: wiring only. Decisions live in pure modules:
 * ladder.ts (which rung), rewrite.ts (the payload), config.ts (the config), resolve.ts (rungs → models),
 * router.ts (delegating a call to the rung's provider), state.ts (what the session remembers).
 */
import { userInfo } from "node:os";
import type { Api, AssistantMessage, Model } from "@mariozechner/pi-ai";
import type { ExtensionAPI, ExtensionContext } from "@mariozechner/pi-coding-agent";
import { getAgentDir } from "@mariozechner/pi-coding-agent";
import { accountingSummary, summaryLine } from "./accounting.ts";
import { attach, detach, isAttached, realModel } from "./attach.ts";
import { invalidPatterns } from "./bash-guard.ts";
import { flagOrderMessage, outputMode, swallowedValue, writeRealStdout } from "./cli.ts";
import { formatIssue, type ResolvedConfig, readLayers, resolveConfig } from "./config.ts";
import { installSalt } from "./install-salt.ts";
import {
	auxiliaryDecision,
	currentSegment,
	type Decision,
	decideCall,
	KICKOFF_TYPE,
	type Mode,
	toCallMessages,
} from "./ladder.ts";
import { planBashBlockReason, planBashDecision, planBashResultNote, planProtection } from "./plan-bash.ts";
import { probeSandbox } from "./plan-sandbox.ts";
import { KICKOFF_TEXT, refineText, toolsForMode, WRITE_TOOLS } from "./prompts.ts";
import { type RungView, statusText, stepdownReport } from "./report.ts";
import { type LadderResolution, planCall, type RegistryLike, resolveLadder } from "./resolve.ts";
import { detectFamily, rewritePayload } from "./rewrite.ts";
import { type CallPlan, createRouter, ROUTER_API, ROUTER_PROVIDER } from "./router.ts";
import {
	CALL_TYPE,
	type CallEntry,
	OFF_STATE,
	restoreState,
	STATE_TYPE,
	type StateEntry,
	SUMMARY_TYPE,
} from "./state.ts";
import { promptCacheKey, wirePlan } from "./wire-plan.ts";

const STATUS_KEY = "plan-stepdown";
const FLAG_AUTO = "plan-auto-approve";
const FLAG_CONFIG = "stepdown-config";
/** How long `/plan <task>` in print mode waits for its run to start (compaction of a long session comes first). */
const START_TIMEOUT_MS = 300_000;

export default function planStepdown(pi: ExtensionAPI): void {
	let ctxRef: ExtensionContext | undefined;
	let resolved: ResolvedConfig = resolveConfig([]);
	let state: StateEntry = OFF_STATE;
	let cursor = 0;
	let lastCall: CallEntry | undefined;
	let attached: Model<Api> | undefined;
	/** The decision for the loop call about to be made, set by the awaited `context` event. */
	let pendingDecision: Decision | undefined;
	/** The call whose payload `before_provider_request` is seeing. */
	let payloadScope: CallPlan | undefined;
	let agentStartWaiters: (() => void)[] = [];
	/** Headless --plan-auto-approve with a config that cannot work: prompts are refused, not run unplanned. */
	let refuseHeadless: string | undefined;

	pi.registerFlag(FLAG_AUTO, {
		description: 'Plan, approve the plan automatically and implement it (use: pi -p "task" --plan-auto-approve)',
		type: "boolean",
		default: false,
	});
	pi.registerFlag(FLAG_CONFIG, {
		description: "One-off plan-stepdown config file (highest precedence)",
		type: "string",
	});

	// ---------------------------------------------------------------- helpers

	const registry = (): RegistryLike | undefined => ctxRef?.modelRegistry;
	const say = (ctx: ExtensionContext | undefined, text: string, level: "info" | "warning" | "error" = "info") => {
		if (ctx?.hasUI) ctx.ui.notify(text, level);
		else if (level !== "info") process.stderr.write(`${text}\n`);
	};

	const loadConfig = (ctx: ExtensionContext) => {
		const cliFile = pi.getFlag(FLAG_CONFIG);
		resolved = resolveConfig(readLayers(getAgentDir(), ctx.cwd, typeof cliFile === "string" ? cliFile : undefined));
		const bad = [
			...invalidPatterns(resolved.config.planBash.allow).map((p) => `planBash.allow: invalid regular expression ${p}`),
			...invalidPatterns(resolved.config.planBash.deny).map((p) => `planBash.deny: invalid regular expression ${p}`),
		];
		for (const message of bad) resolved.issues.push({ source: "config", path: "", message });
	};

	const ladder = (): LadderResolution => {
		const reg = registry();
		return reg ? resolveLadder(resolved.config, reg) : { rungs: [], problems: ["model registry not ready"] };
	};
	const ladderLength = () => Math.max(1, resolved.config.ladder.length);

	/** Why the mode cannot be used now, or undefined. */
	const blocker = (): string | undefined => {
		const issues = resolved.issues.map(formatIssue);
		const problems = ladder().problems;
		const all = [...issues, ...problems];
		return all.length > 0 ? all.join("\n") : undefined;
	};

	const persist = (next: StateEntry) => {
		state = next;
		pi.appendEntry(STATE_TYPE, next);
	};

	const setTools = (names: readonly string[]) => {
		const known = new Set(pi.getAllTools().map((t) => t.name));
		pi.setActiveTools(names.filter((n) => known.has(n)));
	};

	const ensureAttached = (ctx: ExtensionContext) => {
		const model = ctx.model;
		if (!model || state.mode === "off") return;
		if (attached && attached !== model) detach(attached);
		attach(model);
		attached = model;
	};

	const release = () => {
		detach(attached);
		attached = undefined;
	};

	const rungView = (): RungView[] =>
		ladder().rungs.map((r) => ({
			index: r.index,
			label: `${r.model.provider}/${r.model.id}`,
			thinking: r.thinking ?? "(session)",
			webSearch: r.webSearchContextSize ?? (resolved.config.openaiWebSearch.enabled ? "default" : "off"),
		}));

	const showIdleStatus = (ctx: ExtensionContext | undefined) => {
		if (!ctx?.hasUI) return;
		if (state.mode === "off") {
			ctx.ui.setStatus(STATUS_KEY, undefined);
			return;
		}
		const top = ladder().rungs.find((r) => r.index === cursor);
		const model = top
			? `${top.model.provider}/${top.model.id}`
			: ctx.model
				? `${ctx.model.provider}/${ctx.model.id}`
				: "?";
		const thinking = top?.thinking ?? pi.getThinkingLevel();
		ctx.ui.setStatus(STATUS_KEY, statusText(state.mode, undefined, cursor, ladderLength(), model, thinking, false));
	};

	/** Mode, cursor and last call as the current branch of the session file has them. */
	const readBranch = (ctx: ExtensionContext) => {
		const restored = restoreState(ctx.sessionManager.getBranch());
		// Approval without a human is granted per process by the flag, never inherited from a resumed session.
		state = { ...restored.state, autoApprove: restored.state.autoApprove && pi.getFlag(FLAG_AUTO) === true };
		cursor = restored.cursor;
		lastCall = restored.lastCall;
	};

	/** Route and set tools for the mode in `state`; an unusable config leaves the mode inactive (not persisted). */
	const applyMode = (ctx: ExtensionContext) => {
		if (state.mode === "off") {
			release();
		} else {
			const why = blocker();
			if (why) {
				say(ctx, `plan-stepdown: the session was in ${state.mode} mode, which cannot resume:\n${why}`, "warning");
				release();
				state = { ...state, mode: "off" };
			} else {
				activate(ctx);
			}
		}
		showIdleStatus(ctx);
	};

	/** Route through the ladder and set the tools of the mode in `state`. */
	const activate = (ctx: ExtensionContext) => {
		ensureAttached(ctx);
		const tools = toolsForMode(state.mode, state.autoApprove, resolved.config.tools);
		if (tools) setTools(tools);
	};

	const enterMode = (ctx: ExtensionContext, mode: Mode, autoApprove: boolean) => {
		const userTools = state.mode === "off" ? pi.getActiveTools() : state.userTools;
		persist({ v: 1, mode, autoApprove, userTools });
		cursor = 0;
		activate(ctx);
		showIdleStatus(ctx);
	};

	const leaveMode = (ctx: ExtensionContext) => {
		const userTools = state.userTools;
		release();
		if (state.mode !== "off") persist(OFF_STATE);
		cursor = 0;
		if (userTools) setTools(userTools);
		showIdleStatus(ctx);
	};

	/** Plan approved: implementation starts on rung 1 in a new run (TUI, RPC). */
	const startImplementation = (ctx: ExtensionContext) => {
		enterMode(ctx, "implementing", state.autoApprove);
		pi.sendMessage({ customType: KICKOFF_TYPE, content: KICKOFF_TEXT, display: true }, { triggerTurn: true });
	};

	/** Auto-approve: queue the kickoff into the running run, before pi looks for follow-ups. */
	const approveInRun = () => {
		persist({ ...state, mode: "implementing" });
		pi.sendMessage({ customType: KICKOFF_TYPE, content: KICKOFF_TEXT, display: true }, { deliverAs: "followUp" });
		// Later runs (user follow-ups) get the implementation tools.
		setTools(resolved.config.tools.implementation);
	};

	const nextAgentStart = () => new Promise<void>((resolve) => agentStartWaiters.push(resolve));

	// ---------------------------------------------------------------- the router

	const router = createRouter({
		plan(model, sessionLevel) {
			const pending = pendingDecision;
			pendingDecision = undefined;
			const decision = pending ?? auxiliaryDecision(state.mode, ladderLength(), resolved.config.reasoningBump);
			const own = resolved.config.ladder.length === 0 || state.mode === "off";
			return planCall(decision, pending !== undefined, realModel(model), sessionLevel, own ? undefined : ladder());
		},
		async auth(model) {
			const reg = ctxRef?.modelRegistry;
			if (!reg) return { ok: false, error: "model registry not ready" };
			const result = await reg.getApiKeyAndHeaders(model);
			return result.ok ? { ok: true, apiKey: result.apiKey, headers: result.headers } : result;
		},
		planTools: () => resolved.config.tools.plan,
		onStart(plan) {
			cursor = plan.decision.rung;
			const model = `${plan.model.provider}/${plan.model.id}`;
			if (plan.loop) {
				lastCall = {
					v: 1,
					rung: plan.decision.rung,
					phase: plan.decision.phase,
					reason: plan.decision.reason,
					trigger: plan.decision.trigger,
					model,
					thinking: plan.thinking,
				};
				pi.appendEntry(CALL_TYPE, lastCall);
			}
			if (ctxRef?.hasUI) {
				ctxRef.ui.setStatus(
					STATUS_KEY,
					statusText(state.mode, plan.decision.phase, cursor, ladderLength(), model, plan.thinking, true),
				);
			}
		},
		onFinal(plan, message: AssistantMessage) {
			if (!plan.loop || plan.decision.phase !== "planning" || !state.autoApprove) return;
			if (message.stopReason !== "stop") return;
			if (!message.content.some((c) => c.type === "text" && c.text.trim())) return;
			approveInRun();
		},
		withPayloadScope(plan, fn) {
			payloadScope = plan;
			let result: ReturnType<typeof fn>;
			try {
				result = fn();
			} catch (error) {
				payloadScope = undefined;
				throw error;
			}
			if (result instanceof Promise) {
				return result.finally(() => {
					if (payloadScope === plan) payloadScope = undefined;
				}) as ReturnType<typeof fn>;
			}
			payloadScope = undefined;
			return result;
		},
	});

	pi.registerProvider(ROUTER_PROVIDER, { name: "plan-stepdown router", api: ROUTER_API, streamSimple: router });

	// ---------------------------------------------------------------- lifecycle

	pi.on("session_start", async (event, ctx) => {
		ctxRef = ctx;
		loadConfig(ctx);
		readBranch(ctx);
		const auto = pi.getFlag(FLAG_AUTO) === true;
		const swallowed = event.reason === "startup" ? swallowedValue(process.argv, FLAG_AUTO) : undefined;
		if (swallowed !== undefined) {
			const message = flagOrderMessage(FLAG_AUTO, swallowed);
			if (ctx.hasUI) {
				ctx.ui.notify(message, "error");
				ctx.ui.setEditorText(swallowed);
			} else {
				// pi will run nothing; make sure it does not report success either.
				process.stderr.write(`${message}\n`);
				process.exitCode = 2;
			}
		}

		// Headless, a config problem is reported where the mode is asked for (/plan, the flag): one message, not two.
		if (resolved.issues.length > 0 && ctx.hasUI && !auto) {
			say(ctx, `plan-stepdown config:\n${resolved.issues.map(formatIssue).join("\n")}`, "warning");
		}

		if (auto && event.reason === "startup") {
			const why = blocker();
			if (why) {
				say(ctx, `plan-stepdown: --${FLAG_AUTO} cannot plan:\n${why}`, "error");
				// Headless, the prompt would otherwise run unplanned with full tools: refuse it (see the input handler).
				if (!ctx.hasUI) {
					refuseHeadless = why;
					process.exitCode = 2;
				}
				return;
			}
			enterMode(ctx, "planning", true);
			return;
		}
		applyMode(ctx);
	});

	// /tree moves to another branch without a new session: the mode and cursor of that branch apply.
	pi.on("session_tree", async (_event, ctx) => {
		ctxRef = ctx;
		const before = state;
		readBranch(ctx);
		if (before.mode !== "off" && state.mode === "off" && before.userTools) setTools(before.userTools);
		applyMode(ctx);
	});

	pi.on("session_shutdown", async (_event, ctx) => {
		// Undo the routing on the model object: the next runtime (reload, new session) starts clean.
		release();
		if (!ctx.hasUI && resolved.config.accounting.summary && state.mode !== "off") {
			const summary = accountingSummary(ctx.sessionManager.getBranch(), resolved.config, registry());
			if (summary.calls > 0) {
				process.stderr.write(`${summaryLine(summary)}\n`);
				const { table: _text, ...data } = summary;
				pi.appendEntry(SUMMARY_TYPE, { v: 1, ...data });
			}
		}
	});

	pi.on("input", async (event) => {
		if (refuseHeadless && event.source !== "extension") return { action: "handled" as const };
		return { action: "continue" as const };
	});

	pi.on("before_agent_start", async (_event, ctx) => {
		ctxRef = ctx;
		pendingDecision = undefined;
		ensureAttached(ctx);
	});

	pi.on("agent_start", async () => {
		const waiters = agentStartWaiters;
		agentStartWaiters = [];
		for (const resolve of waiters) resolve();
	});

	pi.on("context", async (event) => {
		if (state.mode === "off") return;
		pendingDecision = decideCall(
			state.mode,
			ladderLength(),
			toCallMessages(currentSegment(event.messages)),
			resolved.config.reasoningBump,
		);
	});

	pi.on("before_provider_request", (event) => {
		const plan = payloadScope;
		if (!plan) return undefined;
		const family = detectFamily(event.payload);
		const wire = wirePlan({
			config: resolved.config,
			family,
			modelId: plan.model.id,
			thinking: plan.thinking,
			thinkingLevelMap: plan.model.thinkingLevelMap,
			webSearchContextSize: plan.webSearchContextSize,
			env: process.env,
			localTimezone: machine().timezone,
			cacheKey: cacheKey(resolved.config.openaiPromptCache.keyPrefix, ctxRef?.cwd ?? process.cwd(), getAgentDir()),
		});
		const next = rewritePayload(event.payload, wire);
		return next === event.payload ? undefined : next;
	});

	pi.on("tool_call", async (event) => {
		if (state.mode !== "planning") return undefined;
		const name = event.toolName;
		if (WRITE_TOOLS.has(name) || !resolved.config.tools.plan.includes(name)) {
			return {
				block: true,
				reason: `plan-stepdown: ${name} is not available while planning. Finish the plan; it runs after approval.`,
			};
		}
		if (name === "bash") {
			const input = event.input as { command?: unknown };
			const command = String(input.command ?? "");
			const protection = planProtection(resolved.config.planBash, probeSandbox());
			const decision = planBashDecision(command, resolved.config.planBash, protection);
			if (decision.action === "block") return { block: true, reason: planBashBlockReason(decision.reason, command) };
			// pi runs the (mutated) input: inside the sandbox when there is one, unchanged after the parser said yes.
			input.command = decision.command;
		}
		return undefined;
	});

	pi.on("tool_result", async (event) => {
		if (state.mode !== "planning" || event.toolName !== "bash") return undefined;
		const text = event.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
		const note = planBashResultNote(text);
		return note ? { content: [...event.content, { type: "text" as const, text: note }] } : undefined;
	});

	pi.on("agent_end", async (event, ctx) => {
		ctxRef = ctx;
		const last = [...event.messages].reverse().find((m): m is AssistantMessage => m.role === "assistant");
		const failed = last?.stopReason === "error" || last?.stopReason === "aborted";
		if (state.mode === "implementing") {
			// Control is back with the user: the top of the ladder, unless the last call failed (kept for resume).
			if (!failed) cursor = 0;
			showIdleStatus(ctx);
			return;
		}
		if (state.mode !== "planning") return;
		cursor = 0;
		showIdleStatus(ctx);
		if (state.autoApprove || !ctx.hasUI || failed || !last) return;
		// Not awaited: pi finishes the run (idle, agent_end to RPC clients) while the dialog waits for the user.
		void offerApproval(ctx);
	});

	/** The plan-ready dialog: Start implementation / Refine / Cancel. */
	const offerApproval = async (ctx: ExtensionContext) => {
		const choice = await ctx.ui.select("Plan ready — what next?", [
			"Start implementation",
			"Refine — stay in plan mode",
			"Cancel — leave plan mode",
		]);
		if (state.mode !== "planning") return; // left or restarted meanwhile (/stepdown-off, /plan)
		if (choice === "Start implementation") {
			startImplementation(ctx);
		} else if (choice?.startsWith("Refine")) {
			const feedback = await ctx.ui.input("What should change in the plan?", "");
			if (feedback?.trim()) pi.sendUserMessage(refineText(feedback.trim()), { deliverAs: "followUp" });
		} else if (choice?.startsWith("Cancel")) {
			leaveMode(ctx);
			ctx.ui.notify("plan-stepdown: left plan mode; your tools and model are back.", "info");
		} else if (choice === undefined) {
			ctx.ui.notify("plan-stepdown: still planning. Reply to refine the plan, /stepdown-off to leave.", "info");
		}
	};

	// ---------------------------------------------------------------- commands

	pi.registerCommand("plan", {
		description: "Enter plan mode (read-only, strongest rung); /plan <task> starts planning right away",
		handler: async (args, ctx) => {
			ctxRef = ctx;
			loadConfig(ctx);
			const why = blocker();
			if (why) {
				say(ctx, `plan-stepdown: /plan refused:\n${why}`, "error");
				return;
			}
			const auto = pi.getFlag(FLAG_AUTO) === true;
			enterMode(ctx, "planning", auto);
			const top = ladder().rungs[0];
			const where = top
				? `[0] ${top.model.provider}/${top.model.id}:${top.thinking ?? pi.getThinkingLevel()}`
				: "your current model";
			if (ctx.hasUI) ctx.ui.notify(`plan-stepdown: plan mode on. Every planning call uses ${where}.`, "info");
			const task = args.trim();
			if (!task) return;
			if (ctx.hasUI) {
				pi.sendUserMessage(task);
				return;
			}
			// Print mode exits when this handler returns: stay until the run (plan, and implementation if auto) ends.
			// pi refuses a prompt for a model without a key before the run starts; say so instead of waiting forever.
			if (!ctx.model || !ctx.modelRegistry.hasConfiguredAuth(ctx.model)) {
				say(
					ctx,
					"plan-stepdown: pi has no model with a key selected, so it will not start the planning prompt.",
					"error",
				);
				process.exitCode = 2;
				return;
			}
			const started = nextAgentStart();
			pi.sendUserMessage(task);
			if (await within(started, START_TIMEOUT_MS)) {
				await ctx.waitForIdle();
			} else {
				say(ctx, "plan-stepdown: the planning prompt did not start (another extension may have handled it).", "error");
				process.exitCode = 2;
			}
		},
	});

	pi.registerCommand("stepdown", {
		description: "Show plan-stepdown's config, ladder, cursor and cost so far",
		handler: async (_args, ctx) => {
			ctxRef = ctx;
			loadConfig(ctx);
			const { problems } = ladder();
			const summary = accountingSummary(ctx.sessionManager.getBranch(), resolved.config, registry());
			const report = stepdownReport({
				mode: state.mode,
				autoApprove: state.autoApprove,
				cursor,
				resolved,
				rungs: rungView(),
				problems,
				lastCall,
				extra: summary.calls > 0 ? summary.table : undefined,
			});
			if (ctx.hasUI) ctx.ui.notify(report, "info");
			// JSON mode: stdout is pi's event stream, the report goes to stderr. Print mode: the report is the answer.
			else if (outputMode(process.argv) === "json") process.stderr.write(`${report}\n`);
			else writeRealStdout(`${report}\n`);
		},
	});

	pi.registerCommand("stepdown-off", {
		description: "Leave plan/implementation mode and restore your tools and model routing",
		handler: async (_args, ctx) => {
			ctxRef = ctx;
			const was = state.mode;
			leaveMode(ctx);
			say(
				ctx,
				was === "off" ? "plan-stepdown: already off." : "plan-stepdown: off. Your own model and tools are back.",
			);
		},
	});

	// Keep the router honest if something swapped the model object while the mode is on.
	pi.on("model_select", async (_event, ctx) => {
		ctxRef = ctx;
		if (state.mode !== "off" && !isAttached(ctx.model)) ensureAttached(ctx);
	});
}

/** Facts about the machine, read once: Intl and userInfo are far slower than the rewrite itself. */
let machineFacts: { timezone: string | undefined; username: string } | undefined;
function machine() {
	machineFacts ??= { timezone: Intl.DateTimeFormat().resolvedOptions().timeZone, username: safeUsername() };
	return machineFacts;
}

let lastKey: { prefix: string; cwd: string; key: string } | undefined;
let salt: string | undefined;
function cacheKey(prefix: string, cwd: string, agentDir: string): string {
	if (lastKey?.prefix !== prefix || lastKey.cwd !== cwd) {
		salt ??= installSalt(agentDir);
		lastKey = { prefix, cwd, key: promptCacheKey(prefix, machine().username, cwd, salt) };
	}
	return lastKey.key;
}

/** Whether `promise` settles within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<false>((resolve) => {
		timer = setTimeout(() => resolve(false), ms);
	});
	try {
		return await Promise.race([promise.then(() => true), timeout]);
	} finally {
		clearTimeout(timer);
	}
}

function safeUsername(): string {
	try {
		return userInfo().username;
	} catch {
		return process.env.USER ?? "";
	}
}
