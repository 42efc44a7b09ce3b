/**
 * pi 0.73.1: pi fixes a run's model when the run starts, and `pi.setModel()` both misses the running run and writes
 * the user's settings.json. So the session's model object points its `api` at a routing provider while the mode is
 * on (attach.ts), and the router sends each of this session's calls to its rung. The rung of a loop call is decided
 * in the awaited `context` event, from the messages pi is about to send.
 */
import type { Api, Model } from "@mariozechner/pi-ai";
import type { ExtensionContext } from "@mariozechner/pi-coding-agent";
import { attach, detach, isAttached, realModel } from "./attach.ts";
import { coolingDown, failoverFor, noteFailover } from "./failover.ts";
import type { Host, HostDeps } from "./host.ts";
import { callStartOf, refOf } from "./host.ts";
import {
	auxiliaryDecision,
	currentSegment,
	type Decision,
	decideCall,
	KICKOFF_TEXT,
	KICKOFF_TYPE,
	toCallMessages,
} from "./ladder.ts";
import { withoutReports } from "./report-delivery.ts";
import { createPayloadScope, createRouter, ROUTER_API, ROUTER_PROVIDER } from "./router.ts";

export function createPi0Host(deps: HostDeps): Host {
	const { pi } = deps;
	let attached: Model<Api> | undefined;
	/** The decision for the loop call about to be made, set by the awaited `context` event. */
	let pendingDecision: Decision | undefined;
	/** The call whose payload `before_provider_request` is seeing. */
	const payloadScope = createPayloadScope();
	/** pi compacts or summarizes a branch with the session's model: those calls go to rung 0, unrecorded. */
	let auxiliary = false;
	/** Rungs that failed over, and when their cool-down ends (ms). */
	const cooling = new Map<number, number>();

	const ladderLength = () => Math.max(1, deps.config().ladder.length);

	const ensureAttached = (ctx: ExtensionContext) => {
		const model = ctx.model;
		if (!model || deps.state().mode === "off") return;
		if (attached && attached !== model) detach(attached);
		attach(model);
		attached = model;
	};

	const router = createRouter({
		route(model, options) {
			const ctx = deps.ctx();
			const ours = ctx !== undefined && options?.sessionId === ctx.sessionManager.getSessionId();
			if (!ours && !auxiliary) return undefined;
			const state = deps.state();
			const pending = ours ? pendingDecision : undefined;
			pendingDecision = undefined;
			const decision = pending ?? auxiliaryDecision(state.mode, ladderLength(), deps.config().reasoningBump);
			const route = deps.route(decision, pending !== undefined, realModel(model), options?.reasoning);
			return typeof route === "string" ? route : { ...route, cacheRetention: options?.cacheRetention };
		},
		async auth(model) {
			const reg = deps.ctx()?.modelRegistry;
			if (!reg) return { ok: false, error: "model registry not ready" };
			const result = await reg.getApiKeyAndHeaders(model);
			return result.ok ? { ok: true, apiKey: result.apiKey, headers: result.headers } : result;
		},
		planTools: () => deps.config().tools.plan,
		onStart(route) {
			deps.dispatch({ type: "call", call: callStartOf(route) });
		},
		// The core's synchronous effects (the in-run kickoff) run before this returns.
		onFinal: (route, message, sent) => void deps.final(route, message, sent),
		withPayloadScope: payloadScope.run,
		onHookError: deps.report,
	});
	pi.registerProvider(ROUTER_PROVIDER, { name: "plan-stepdown router", api: ROUTER_API, streamSimple: router });

	pi.on("before_agent_start", async (_event, ctx) => {
		pendingDecision = undefined;
		auxiliary = false;
		ensureAttached(ctx);
	});
	// The model never reads a /stepdown report; stripped before the ladder reads the messages too.
	pi.on("context", (event) => {
		const messages = withoutReports(event.messages);
		return messages ? { messages } : undefined;
	});
	pi.on("context", async (event, ctx) => {
		const state = deps.state();
		if (state.mode === "off") return;
		const messages = toCallMessages(currentSegment(event.messages));
		const config = deps.config();
		const decision = decideCall(state.mode, ladderLength(), messages, config.reasoningBump, config.escalation);
		// pi's retry of a failed call runs the loop again: the failed attempts are still on the session branch.
		const now = Date.now();
		const routed =
			decision && coolingDown(failoverFor(decision, config, ctx.sessionManager.getBranch()), cooling, now, config);
		if (routed) noteFailover(cooling, routed, now, config.failover.coolDownSeconds);
		pendingDecision = routed;
	});
	pi.on("session_before_compact", async () => {
		auxiliary = true;
	});
	pi.on("session_compact", async () => {
		auxiliary = false;
	});
	pi.on("session_before_tree", async () => {
		auxiliary = true;
	});
	pi.on("session_tree", async () => {
		auxiliary = false;
	});
	pi.on("agent_end", async (event, ctx) => {
		const last = [...event.messages].reverse().find((m) => m.role === "assistant");
		const stop = last?.role === "assistant" ? last.stopReason : undefined;
		deps.dispatch({ type: "run-end", lastStopReason: stop, hasUI: ctx.hasUI });
	});
	// Keep the router honest if something swapped the model object while the mode is on.
	pi.on("model_select", async (_event, ctx) => {
		if (deps.state().mode !== "off" && !isAttached(ctx.model)) ensureAttached(ctx);
	});

	return {
		line: "0.73",
		caps: { toolsSwitchInRun: false },
		async routeOn(ctx) {
			ensureAttached(ctx);
		},
		async routeOff() {
			detach(attached);
			attached = undefined;
		},
		kickoffInRun() {
			pi.sendMessage({ customType: KICKOFF_TYPE, content: KICKOFF_TEXT, display: true }, { deliverAs: "followUp" });
		},
		turnInRun(customType, text) {
			pi.sendMessage({ customType, content: text, display: true }, { deliverAs: "followUp" });
		},
		payloadRoute: payloadScope.current,
		selected: (ctx) => refOf(ctx.model ? realModel(ctx.model) : undefined, pi.getThinkingLevel()),
	};
}
