/**
 * pi-plan-stepdown: wiring only. pi's events become events of the pure plan-mode reducer (plan-mode.ts), whose
 * effects are carried out here; which rung a call uses is ladder.ts; how a call reaches its rung on this pi line is
 * a host adapter (host-pi0.ts for pi 0.73.1, host-pi1.ts for pi 1.x); the payload rewrite is rewrite.ts.
 */
import { join } from "node:path";
import type { AssistantMessage, ModelThinkingLevel } from "@mariozechner/pi-ai";
import type { ExtensionAPI, ExtensionCommandContext, ExtensionContext } from "@mariozechner/pi-coding-agent";
import { getAgentDir } from "@mariozechner/pi-coding-agent";
import { accountingSummary, summaryLine } from "./accounting.ts";
import { adviceData, adviceLine, ladderAdvice } from "./advice.ts";
import { outputMode, swallowedValue, within, writeRealStdout } from "./cli.ts";
import {
	CONFIG_FILE_NAME,
	formatIssue,
	type ResolvedConfig,
	readLayers,
	resolveConfig,
	SCHEMA_FILE,
} from "./config.ts";
import { type Host, type HostDeps, hasVirtualModels } from "./host.ts";
import { createPi0Host } from "./host-pi0.ts";
import { createPi1Host } from "./host-pi1.ts";
import {
	type Decision,
	KICKOFF_TEXT,
	KICKOFF_TYPE,
	REVIEW_MARKER,
	REVIEW_TYPE,
	RUNAWAY_TYPE,
	runawayOf,
	runawayText,
} from "./ladder.ts";
import { rewriteForRoute } from "./payload-hook.ts";
import {
	planBashBlockReason,
	planBashDecision,
	planBashResultNote,
	planProtection,
	protectionNote,
} from "./plan-bash.ts";
import {
	AUTO_FLAG,
	type CallStart,
	type Effect,
	INITIAL_STATE,
	type PlanModeEvent,
	type PlanModeState,
	planToolRefusal,
	reduce,
	refusesInput,
} from "./plan-mode.ts";
import { probeSandbox } from "./plan-sandbox.ts";
import { lastAnswer, PROGRESS_TOOL } from "./plan-steps.ts";
import { createProgress } from "./progress-tool.ts";
import { registryPrices } from "./replay.ts";
import { rungViews, statusFor, stepdownReport } from "./report.ts";
import { dropReports, REPORT_TYPE, reportDelivery, reportMessage } from "./report-delivery.ts";
import { callThinking, type LadderResolution, resolveLadder, routeCall } from "./resolve.ts";
import type { SessionFileEntry } from "./session-reader.ts";
import { CALL_TYPE, restoreState, STATE_TYPE, SUMMARY_TYPE } from "./state.ts";
import { parseStepdownArgs, replayCommand, replayConfigPath, type StepdownCommand } from "./stepdown-command.ts";
import { type StepEntry, stepLive } from "./stepping.ts";

const STATUS_KEY = "plan-stepdown";
const FLAG_CONFIG = "stepdown-config";
/** How long `/plan <task>` in print mode waits for its run to start (compaction of a long session comes first). */
const START_TIMEOUT_MS = 300_000;

export default function planStepdown(pi: ExtensionAPI): void {
	let ctxRef: ExtensionContext | undefined;
	let resolved: ResolvedConfig = resolveConfig([]);
	let state: PlanModeState = INITIAL_STATE;
	let agentStartWaiters: (() => void)[] = [];

	pi.registerFlag(AUTO_FLAG, {
		description: 'Plan, approve the plan automatically and implement it (use: pi -p "task" --plan-auto-approve)',
		type: "boolean",
		default: false,
	});
	pi.registerFlag(FLAG_CONFIG, {
		description: "One-off plan-stepdown config file (highest precedence)",
		type: "string",
	});

	const autoFlag = () => pi.getFlag(AUTO_FLAG) === true;
	const protection = () => planProtection(resolved.config.planBash, probeSandbox());
	const report = (error: unknown) =>
		say(ctxRef, `plan-stepdown: ${error instanceof Error ? error.message : String(error)}`, "error");
	const say = (ctx: ExtensionContext | undefined, text: string, level: "info" | "warning" | "error") => {
		if (ctx?.hasUI) ctx.ui.notify(text, level);
		else if (level !== "info") process.stderr.write(`${text}\n`);
	};

	const loadConfig = (ctx: ExtensionContext) => {
		const cliFile = pi.getFlag(FLAG_CONFIG);
		resolved = resolveConfig(readLayers(getAgentDir(), ctx.cwd, typeof cliFile === "string" ? cliFile : undefined));
	};
	const ladder = (): LadderResolution =>
		ctxRef
			? resolveLadder(resolved.config, ctxRef.modelRegistry)
			: { rungs: [], problems: ["model registry not ready"] };
	const ladderLength = () => Math.max(1, resolved.config.ladder.length);
	/** `stepping: "cache-aware"`: a stronger rung whose warm cache makes the next calls cheaper, if there is one. */
	const cacheAware = (decision: Decision, rungs: LadderResolution, level: ModelThinkingLevel | undefined) => {
		if (resolved.config.stepping !== "cache-aware" || decision.phase !== "implementing" || !ctxRef) return undefined;
		const choice = stepLive({
			ladderRung: decision.rung,
			rungs: rungs.rungs.map((r) => ({ index: r.index, model: r.model, thinking: callThinking(r, r.model, level) })),
			branch: ctxRef.sessionManager.getBranch() as StepEntry[],
			sessionThinking: level ?? "off",
			openaiRetention: resolved.config.openaiPromptCache.retention,
			anthropicLong: process.env.PI_CACHE_RETENTION === "long",
			now: Date.now(),
		});
		return choice && choice.rung !== decision.rung ? choice : undefined;
	};
	/** Why the mode cannot be used now, or undefined. */
	const blocker = (): string | undefined => {
		const all = [...resolved.issues.map(formatIssue), ...ladder().problems];
		return all.length > 0 ? all.join("\n") : undefined;
	};

	const deps: HostDeps = {
		pi,
		state: () => state,
		config: () => resolved.config,
		ctx: () => ctxRef,
		dispatch: (event) => void dispatch(event).catch(report),
		route: (decision, loop, own, level) => {
			const rungs = resolved.config.ladder.length === 0 ? undefined : ladder();
			const stepped = loop && rungs ? cacheAware(decision, rungs, level) : undefined;
			const route = routeCall(stepped ? { ...decision, rung: stepped.rung } : decision, loop, own, level, rungs);
			if (typeof route === "string" || !stepped) return route;
			return { ...route, ladderRung: decision.rung, why: stepped.why };
		},
		final: (route, message: Pick<AssistantMessage, "stopReason" | "content" | "usage">, sent) =>
			dispatch({
				type: "final",
				phase: route.decision.phase,
				loop: route.loop,
				stopReason: message.stopReason,
				hasText: message.content.some((c) => c.type === "text" && c.text.trim().length > 0),
				text: message.content.map((c) => (c.type === "text" ? c.text : "")).join(""),
				rung: route.decision.rung,
				reviewEnabled: resolved.config.review.enabled,
				headless: ctxRef?.hasUI !== true,
				runaway: runawayOf(resolved.config.escalation.runawayOutput, message, sent),
			}).catch(report),
		report,
	};
	const host: Host = hasVirtualModels(pi) ? createPi1Host(deps) : createPi0Host(deps);
	const progress = createProgress(pi, {
		current: () => ({ rung: state.cursor, model: state.lastCall?.model ?? "?" }),
	});

	/** Run an event through the reducer and carry out its effects, in order. */
	async function dispatch(event: PlanModeEvent, command?: ExtensionCommandContext): Promise<void> {
		const step = reduce(state, event, resolved.config.tools, host.caps);
		state = step.state;
		// Effects run in order; the synchronous ones run before dispatch returns (a kickoff must be queued in time).
		for (const effect of step.effects) {
			const pending = apply(effect, command);
			if (pending instanceof Promise) await pending;
		}
	}

	function apply(effect: Effect, command: ExtensionCommandContext | undefined): Promise<void> | void {
		const ctx = ctxRef;
		switch (effect.type) {
			case "persist":
				return pi.appendEntry(STATE_TYPE, effect.entry);
			case "route":
				return effect.on ? (ctx ? host.routeOn(ctx) : undefined) : host.routeOff(ctx, effect.restore);
			case "tools": {
				const known = new Set(pi.getAllTools().map((t) => t.name));
				return pi.setActiveTools(effect.names.filter((n) => known.has(n)));
			}
			case "record-call":
				return pi.appendEntry(CALL_TYPE, effect.entry);
			case "status":
				return showStatus(ctx, effect.call);
			case "say":
				return say(ctx, effect.text, effect.level);
			case "exit-code":
				process.exitCode = effect.code;
				return undefined;
			case "editor":
				return ctx?.hasUI ? ctx.ui.setEditorText(effect.text) : undefined;
			case "kickoff":
				progress.approve(effect.planText);
				if (effect.inRun) return host.kickoffInRun();
				return pi.sendMessage(
					{ customType: KICKOFF_TYPE, content: KICKOFF_TEXT, display: true },
					{ triggerTurn: true },
				);
			case "review":
				return host.turnInRun(
					REVIEW_TYPE,
					`${REVIEW_MARKER} ${resolved.config.review.prompt}${progress.openStepsNote()}`,
				);
			case "runaway":
				return host.turnInRun(RUNAWAY_TYPE, runawayText(effect.trigger.detail));
			case "offer-approval":
				if (ctx) void offerApproval(ctx).catch(report);
				return undefined;
			case "prompt":
				if (effect.followUp) return pi.sendUserMessage(effect.text, { deliverAs: "followUp" });
				return command ? sendTask(command, effect.text) : pi.sendUserMessage(effect.text);
			case "summary":
				return ctx ? writeSummary(ctx) : undefined;
		}
	}

	const showStatus = (ctx: ExtensionContext | undefined, call?: CallStart) => {
		if (!ctx?.hasUI) return;
		const line = { mode: state.mode, cursor: state.cursor, ladderLength: ladderLength(), userModel: state.userModel };
		ctx.ui.setStatus(STATUS_KEY, statusFor(line, ladder().rungs, pi.getThinkingLevel(), call));
	};

	/** `/plan <task>`: in print mode pi exits when the command returns, so stay until the run (or runs) end. */
	const sendTask = async (ctx: ExtensionCommandContext, task: string) => {
		if (ctx.hasUI) return pi.sendUserMessage(task);
		const started = new Promise<void>((resolve) => agentStartWaiters.push(resolve));
		pi.sendUserMessage(task);
		if (await within(started, START_TIMEOUT_MS)) return ctx.waitForIdle();
		say(ctx, "plan-stepdown: the planning prompt did not start (another extension may have handled it).", "error");
		process.exitCode = 2;
	};

	/** Which rungs did not pay on this branch, replayed on the configured ladder (advice.ts). */
	const adviceFor = (ctx: ExtensionContext, branch: Branch) =>
		ladderAdvice(branch as SessionFileEntry[], resolved.config, registryPrices(ctx.modelRegistry), {
			sessionThinking: pi.getThinkingLevel(),
		});

	const writeSummary = (ctx: ExtensionContext) => {
		const branch = ctx.sessionManager.getBranch();
		const summary = accountingSummary(branch, resolved.config, ctx.modelRegistry);
		if (summary.calls === 0) return;
		const steps = progress.data(branch);
		const advice = adviceFor(ctx, branch);
		// The summary stays the last line (what scripts read); the advice, when there is any, comes just before it.
		const line = adviceLine(advice);
		if (line) process.stderr.write(`${line}\n`);
		process.stderr.write(`${summaryLine(summary, steps)}\n`);
		const { table: _text, ...data } = summary;
		pi.appendEntry(SUMMARY_TYPE, { v: 1, ...data, steps, advice: adviceData(advice) });
	};

	/** The plan-ready dialog: Start implementation / Refine / Cancel. */
	const offerApproval = async (ctx: ExtensionContext) => {
		const choice = await ctx.ui.select("Plan ready — what next?", [
			"Start implementation",
			"Refine — stay in plan mode",
			"Cancel — leave plan mode",
		]);
		if (choice?.startsWith("Refine")) {
			if (state.mode !== "planning") return;
			const feedback = await ctx.ui.input("What should change in the plan?", "");
			return dispatch({ type: "approval", choice: "refine", feedback });
		}
		const picked = choice === "Start implementation" ? "start" : choice?.startsWith("Cancel") ? "cancel" : "dismissed";
		return dispatch({ type: "approval", choice: picked, planText: lastAnswer(ctx.sessionManager.getBranch()) });
	};

	const answer = (ctx: ExtensionContext, text: string) => {
		const to = reportDelivery(ctx.hasUI, outputMode(process.argv), ctx.isIdle());
		if (to === "message") pi.sendMessage({ customType: REPORT_TYPE, content: reportMessage(text), display: true });
		else if (to === "notify") ctx.ui.notify(text, "info");
		// JSON mode: stdout is pi's event stream, the report goes to stderr. Print mode: the report is the answer.
		else if (to === "stderr") process.stderr.write(`${text}\n`);
		else writeRealStdout(`${text}\n`);
	};

	/** `/stepdown replay [FILE]`: the branch priced on another config; reads the session, never writes to it. */
	const stepdownReplay = (ctx: ExtensionContext, command: Exclude<StepdownCommand, { kind: "report" }>) => {
		const out =
			command.kind === "invalid"
				? { ok: false, lines: [`/stepdown: ${command.message}`] }
				: replayCommand(
						ctx.sessionManager.getBranch() as SessionFileEntry[],
						command.file
							? resolveConfig(readLayers(getAgentDir(), ctx.cwd, replayConfigPath(command.file, ctx.cwd)))
							: resolved,
						registryPrices(ctx.modelRegistry),
						{
							stepping: command.stepping,
							sessionThinking: pi.getThinkingLevel(),
							label: command.file ?? "this config",
						},
					);
		if (out.ok) return answer(ctx, out.lines.join("\n"));
		say(ctx, out.lines.join("\n"), "error");
		if (!ctx.hasUI) process.exitCode = 2;
	};

	const restored = (ctx: ExtensionContext) => restoreState(ctx.sessionManager.getBranch());

	// ---------------------------------------------------------------- lifecycle

	pi.on("session_start", async (event, ctx) => {
		ctxRef = ctx;
		loadConfig(ctx);
		await dispatch({
			type: "start",
			reason: event.reason,
			restored: restored(ctx),
			autoFlag: autoFlag(),
			headless: !ctx.hasUI,
			blocker: blocker(),
			configIssues: resolved.issues.map(formatIssue),
			swallowedTask: event.reason === "startup" ? swallowedValue(process.argv, AUTO_FLAG) : undefined,
			activeTools: pi.getActiveTools(),
			userModel: host.selected(ctx),
		});
		progress.restore(ctx);
		// The progress tool belongs to the mode; pi activates registered tools, so take it away while the mode is off.
		const active = pi.getActiveTools();
		if (state.mode === "off" && active.includes(PROGRESS_TOOL)) {
			pi.setActiveTools(active.filter((t) => t !== PROGRESS_TOOL));
		}
	});
	// /tree moves to another branch without a new session: the mode and cursor of that branch apply.
	pi.on("session_tree", async (_event, ctx) => {
		ctxRef = ctx;
		await dispatch({ type: "tree", restored: restored(ctx), autoFlag: autoFlag(), blocker: blocker() });
		progress.restore(ctx);
	});
	pi.on("session_shutdown", async (_event, ctx) => {
		ctxRef = ctx;
		await dispatch({ type: "shutdown", headless: !ctx.hasUI, summary: resolved.config.accounting.summary });
	});
	// pi's compaction summarises with a model call of its own: the /stepdown reports are not for that model either.
	pi.on("session_before_compact", (event) => {
		dropReports(event.preparation.messagesToSummarize);
		dropReports(event.preparation.turnPrefixMessages);
	});
	pi.on("input", async (event) => {
		if (event.source !== "extension") await dispatch({ type: "prompt" });
		return { action: refusesInput(state, event.source) ? ("handled" as const) : ("continue" as const) };
	});
	pi.on("before_agent_start", async (_event, ctx) => {
		ctxRef = ctx;
	});
	pi.on("agent_start", async () => {
		const waiters = agentStartWaiters;
		agentStartWaiters = [];
		for (const resolve of waiters) resolve();
		await dispatch({ type: "run-start" });
	});

	pi.on("before_provider_request", (event) => {
		const route = host.payloadRoute();
		if (!route) return undefined;
		return rewriteForRoute(route, event.payload, resolved.config, ctxRef?.cwd ?? process.cwd(), getAgentDir());
	});

	pi.on("tool_call", async (event) => {
		const refusal = planToolRefusal(state, event.toolName, resolved.config.tools.plan);
		if (refusal) return { block: true, reason: refusal };
		if (state.mode !== "planning" || event.toolName !== "bash") return undefined;
		const input = event.input as { command?: unknown };
		const command = String(input.command ?? "");
		const decision = planBashDecision(command, resolved.config.planBash, protection());
		if (decision.action === "block") return { block: true, reason: planBashBlockReason(decision.reason, command) };
		// pi runs the (mutated) input: inside the sandbox when there is one, unchanged after the parser said yes.
		input.command = decision.command;
		return undefined;
	});
	pi.on("tool_result", async (event) => {
		if (state.mode !== "planning" || event.toolName !== "bash") return undefined;
		const note = planBashResultNote(event.content.map((c) => (c.type === "text" ? c.text : "")).join("\n"));
		return note ? { content: [...event.content, { type: "text" as const, text: note }] } : undefined;
	});

	// ---------------------------------------------------------------- commands

	pi.registerCommand("plan", {
		description: "Enter plan mode (read-only, strongest rung); /plan <task> starts planning right away",
		handler: async (args, ctx) => {
			ctxRef = ctx;
			loadConfig(ctx);
			const top = ladder().rungs[0];
			let why = blocker();
			// pi refuses a prompt for a model without a key before the run starts; say so instead of waiting forever.
			if (!why && args.trim() && !ctx.hasUI && (!ctx.model || !ctx.modelRegistry.hasConfiguredAuth(ctx.model))) {
				why = "pi has no model with a key selected, so it will not start the planning prompt.";
			}
			await dispatch(
				{
					type: "plan",
					task: args.trim(),
					autoFlag: autoFlag(),
					headless: !ctx.hasUI,
					blocker: why,
					activeTools: pi.getActiveTools(),
					userModel: host.selected(ctx),
					planningModel: top
						? `[0] ${top.model.provider}/${top.model.id}:${top.thinking ?? pi.getThinkingLevel()}`
						: "your current model",
					ladderEmpty:
						resolved.config.ladder.length === 0
							? { userConfig: join(getAgentDir(), CONFIG_FILE_NAME), schema: SCHEMA_FILE }
							: undefined,
					protection: protectionNote(protection()),
				},
				ctx,
			);
		},
	});

	pi.registerCommand("stepdown", {
		description:
			"Show plan-stepdown's config, ladder, cursor and cost so far; /stepdown replay [FILE]: price this branch on another config",
		handler: async (args, ctx) => {
			ctxRef = ctx;
			loadConfig(ctx);
			const command = parseStepdownArgs(args);
			if (command.kind !== "report") return stepdownReplay(ctx, command);
			const { rungs, problems } = ladder();
			const branch = ctx.sessionManager.getBranch();
			const summary = accountingSummary(branch, resolved.config, ctx.modelRegistry);
			const text = stepdownReport({
				mode: state.mode,
				autoApprove: state.autoApprove,
				cursor: state.cursor,
				resolved,
				rungs: rungViews(rungs, resolved.config, process.env),
				problems,
				lastCall: state.lastCall,
				failure: summary.lastFailure,
				piLine: host.line,
				protection: protectionNote(protection()),
				steps: progress.lines(branch),
				costs: summary.calls > 0 ? summary.table : [],
				advice: summary.calls > 0 && resolved.config.ladder.length > 1 ? adviceFor(ctx, branch).lines : undefined,
			});
			answer(ctx, text);
		},
	});

	pi.registerCommand("stepdown-off", {
		description: "Leave plan/implementation mode and restore your tools and model routing",
		handler: async (_args, ctx) => {
			ctxRef = ctx;
			await dispatch({ type: "off" });
		},
	});
}

/** The session branch as pi hands it to handlers. */
type Branch = ReturnType<ExtensionContext["sessionManager"]["getBranch"]>;
