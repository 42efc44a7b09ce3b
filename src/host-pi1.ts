/**
 * pi 1.x: the ladder is a virtual model, `stepdown/ladder`. pi asks its `route()` before every request which physical
 * model and thinking level to use; the same pure ladder decides from the request's messages. `/plan` selects it with
 * pi 1.x's session-scoped `setModel` (settings.json is not written) and leaving the mode selects the user's model
 * again. An auto-approved plan continues into the implementation from `agent_before_settle`, and the planning
 * instructions are a system prompt section added per request while planning (`context_with_system`).
 */

import type {
	ModelRoute,
	ModelRouteRequest,
	ExtensionAPI as Pi1Api,
	ExtensionContext as Pi1Context,
} from "@earendil-works/pi-coding-agent";
import type { Api, AssistantMessage, Model, ModelThinkingLevel } from "@mariozechner/pi-ai";
import type { ExtensionContext } from "@mariozechner/pi-coding-agent";
import { coolingDown, failoverFor, noteFailover } from "./failover.ts";
import { callStartOf, type Host, type HostDeps, refOf } from "./host.ts";
import { auxiliaryDecision, currentSegment, decideCall, KICKOFF_TEXT, KICKOFF_TYPE, toCallMessages } from "./ladder.ts";
import { PLANNING_INSTRUCTIONS, PLANNING_SECTION } from "./prompts.ts";
import { withoutReports } from "./report-delivery.ts";
import type { CallRoute } from "./resolve.ts";
import type { ModelRef } from "./state.ts";

export const LADDER_PROVIDER = "stepdown";
export const LADDER_ID = "ladder";
const LEVELS: ModelThinkingLevel[] = ["off", "minimal", "low", "medium", "high", "xhigh"];

export const isLadder = (model: { provider: string; id: string } | undefined) =>
	model?.provider === LADDER_PROVIDER && model.id === LADDER_ID;

export function createPi1Host(deps: HostDeps): Host {
	const pi = deps.pi as unknown as Pi1Api;
	/** The route of the request pi is about to send: `before_provider_request` rewrites that payload once. */
	let pending: CallRoute | undefined;
	/** The route of the latest request: the run's final answer is read against it. */
	let latest: CallRoute | undefined;
	/** A kickoff the core asked for at the end of a run: returned from `agent_before_settle`. */
	let kickoff = false;
	/** A turn on rung 0 the core asked for at the end of a run (review, runaway): returned from `agent_before_settle`. */
	let turn: { customType: string; content: string } | undefined;
	/** model_select events caused by our own setModel calls are not the user picking a model. */
	let selecting = false;
	/** Rungs that failed over, and when their cool-down ends (ms). */
	const cooling = new Map<number, number>();

	const ladderLength = () => Math.max(1, deps.config().ladder.length);

	pi.registerVirtualModel({
		provider: LADDER_PROVIDER,
		id: LADDER_ID,
		name: "plan-stepdown ladder",
		thinkingLevels: LEVELS,
		route(request: ModelRouteRequest, ctx: Pi1Context): ModelRoute {
			const state = deps.state();
			// The ladder picked in /model without /plan: the agent works down it, the user's turns on rung 0.
			const mode = state.mode === "off" ? "implementing" : state.mode;
			const rules = deps.config().reasoningBump;
			const loop = request.reason !== "direct";
			const decided = loop
				? (decideCall(
						mode,
						ladderLength(),
						toCallMessages(currentSegment(request.messages)),
						rules,
						deps.config().escalation,
					) ?? auxiliaryDecision(mode, ladderLength(), rules))
				: auxiliaryDecision(mode, ladderLength(), rules);
			// A retry of a rate-limited or overloaded call may go to another rung; the failed attempts are on the branch.
			const config = deps.config();
			const now = Date.now();
			const retried =
				request.reason === "retry"
					? failoverFor(decided, config, (ctx as unknown as ExtensionContext).sessionManager.getBranch())
					: decided;
			const decision = loop ? coolingDown(retried, cooling, now, config) : retried;
			noteFailover(cooling, decision, now, config.failover.coolDownSeconds);
			const own = deps.config().ladder.length === 0 ? ownModel(ctx, state.userModel) : undefined;
			const route = deps.route(
				decision,
				loop,
				own as unknown as Model<Api> | undefined,
				sessionLevel(request.thinkingLevel),
			);
			if (typeof route === "string") throw new Error(route);
			pending = route;
			latest = route;
			deps.dispatch({ type: "call", call: callStartOf(route) });
			return { model: route.model as unknown as ModelRoute["model"], thinkingLevel: route.thinking };
		},
	});

	// The model never reads a /stepdown report. Here, not in `context`: a changed `context` list makes pi fold every
	// mid-conversation prompt or tool patch into one leading system message, a new prompt prefix (a cache miss).
	pi.on("context_with_system", (event) => {
		const messages = withoutReports(event.messages);
		return messages ? { messages } : undefined;
	});
	// While planning, every request carries the planning instructions as a section right after pi's own prompt.
	pi.on("context_with_system", async (event) => {
		if (deps.state().mode !== "planning") return undefined;
		const messages = event.messages;
		const head = messages.findIndex((m) => m.role === "system");
		const section = {
			role: "system" as const,
			content: "",
			sections: { [PLANNING_SECTION]: PLANNING_INSTRUCTIONS },
			timestamp: 0,
		};
		return { messages: [...messages.slice(0, head + 1), section, ...messages.slice(head + 1)] };
	});

	pi.on("agent_before_settle", async (event, ctx) => {
		const messages = event.context.contextMessages;
		// The run's last answer as pi recorded it: pi 1.x drops an answer cut at the token limit from the context.
		const entry = [...ctx.sessionManager.getBranch()]
			.reverse()
			.find((e) => e.type === "message" && e.message.role === "assistant");
		const last = entry?.type === "message" ? entry.message : undefined;
		if (last && last.role === "assistant" && latest) {
			const at = messages.findIndex((m) => m.role === "assistant" && m.timestamp === last.timestamp);
			const sent = at < 0 ? messages : messages.slice(0, at);
			await deps.final(
				latest,
				{
					stopReason: last.stopReason as AssistantMessage["stopReason"],
					content: last.content as never,
					usage: last.usage as AssistantMessage["usage"],
				},
				sent,
			);
		}
		const next = kickoff ? { customType: KICKOFF_TYPE, content: KICKOFF_TEXT } : turn;
		kickoff = false;
		turn = undefined;
		if (!next) return undefined;
		return {
			entries: [...event.entries, { type: "custom_message" as const, ...next, display: true }],
			continue: true,
		};
	});

	pi.on("agent_settled", async (_event, ctx) => {
		const last = [...ctx.sessionManager.getBranch()]
			.reverse()
			.find((e) => e.type === "message" && e.message.role === "assistant");
		const stop = last?.type === "message" && last.message.role === "assistant" ? last.message.stopReason : undefined;
		deps.dispatch({ type: "run-end", lastStopReason: stop, hasUI: ctx.hasUI });
	});

	pi.on("model_select", async (event) => {
		if (selecting || event.source === "restore") return;
		deps.dispatch({
			type: "model-picked",
			ladder: isLadder(event.model),
			activeTools: pi.getActiveTools(),
			userModel: isLadder(event.previousModel) ? undefined : refOf(event.previousModel, pi.getThinkingLevel()),
		});
	});

	const select = async (model: Parameters<Pi1Api["setModel"]>[0]) => {
		selecting = true;
		try {
			return await pi.setModel(model);
		} finally {
			selecting = false;
		}
	};

	return {
		line: "1.x",
		caps: { toolsSwitchInRun: true },
		async routeOn(ctx) {
			if (isLadder(ctx.model)) return;
			const ladder = (ctx as unknown as Pi1Context).modelRegistry.find(LADDER_PROVIDER, LADDER_ID);
			if (!ladder || !(await select(ladder))) deps.report(new Error("could not select the ladder model"));
		},
		async routeOff(ctx, restore) {
			pending = undefined;
			latest = undefined;
			if (!ctx || !restore || !isLadder(ctx.model)) return;
			const model = (ctx as unknown as Pi1Context).modelRegistry.find(restore.provider, restore.id);
			if (!model) {
				deps.report(new Error(`your model ${restore.provider}/${restore.id} is gone; pick one with /model`));
				return;
			}
			if (await select(model)) pi.setThinkingLevel(restore.thinking as ModelThinkingLevel);
		},
		kickoffInRun() {
			kickoff = true;
		},
		turnInRun(customType, text) {
			turn = { customType, content: text };
		},
		payloadRoute() {
			const route = pending;
			pending = undefined;
			return route;
		},
		selected: (ctx) => (isLadder(ctx.model) ? undefined : refOf(ctx.model, pi.getThinkingLevel())),
	};
}

/** pi 1.x knows a "max" level above xhigh; rungs without their own level get the nearest one pi-ai 0.73 names. */
const sessionLevel = (level: string): ModelThinkingLevel => (level === "max" ? "xhigh" : (level as ModelThinkingLevel));

/** The user's own model, for an empty ladder: the one selected before /plan. */
function ownModel(ctx: Pi1Context, user: ModelRef | undefined) {
	const model = user ? ctx.modelRegistry.find(user.provider, user.id) : undefined;
	if (!model)
		throw new Error("plan-stepdown: the ladder is empty and no model of yours is known; pick one with /model");
	return model;
}
