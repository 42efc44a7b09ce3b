/**
 * What differs between the pi lines, behind one interface. `index.ts` wires pi's events to the pure core and
 * carries out its effects; a host adapter owns how a call reaches its rung on that pi line:
 * - pi 0.73.1 (`host-pi0.ts`): a routing provider the session's model object points at while the mode is on.
 * - pi 1.x (`host-pi1.ts`): a virtual model (`stepdown/ladder`) selected for the session while the mode is on.
 * The line is chosen by what pi offers at load (`registerVirtualModel`), never by version strings.
 */
import type { Api, AssistantMessage, Model, ModelThinkingLevel } from "@mariozechner/pi-ai";
import type { ExtensionAPI, ExtensionContext } from "@mariozechner/pi-coding-agent";
import type { AgentMessageLike, Decision } from "./ladder.ts";
import type { CallStart, HostCaps, PlanModeEvent, PlanModeState } from "./plan-mode.ts";
import type { CallRoute } from "./resolve.ts";
import type { Config } from "./schema.ts";
import type { ModelRef } from "./state.ts";

export type PiLine = "0.73" | "1.x";

/** What the shell gives a host. */
export interface HostDeps {
	pi: ExtensionAPI;
	state(): PlanModeState;
	config(): Config;
	ctx(): ExtensionContext | undefined;
	dispatch(event: PlanModeEvent): void;
	/** Where a decided call goes: the rung's real model, or `own` (the user's model) with no ladder. */
	route(
		decision: Decision,
		loop: boolean,
		own: Model<Api> | undefined,
		sessionLevel: ModelThinkingLevel | undefined,
	): CallRoute | string;
	/** A call's final message and the messages sent with it, for the core (auto-approve, review, runaway output). */
	final(
		route: CallRoute,
		message: Pick<AssistantMessage, "stopReason" | "content" | "usage">,
		history: readonly AgentMessageLike[],
	): Promise<void>;
	report(error: unknown): void;
}

export interface Host {
	line: PiLine;
	caps: HostCaps;
	/** Route this session's calls through the ladder. */
	routeOn(ctx: ExtensionContext): Promise<void>;
	/** Stop routing; pi 1.x also selects `restore` (the user's model before /plan) again. */
	routeOff(ctx: ExtensionContext | undefined, restore: ModelRef | undefined): Promise<void>;
	/** The approved plan's kickoff inside the running run. */
	kickoffInRun(): void;
	/** A turn on rung 0 inside the running run (the review, or a continue after a runaway output). */
	turnInRun(customType: string, text: string): void;
	/** The route of the call whose payload `before_provider_request` is seeing, if it is ours. */
	payloadRoute(): CallRoute | undefined;
	/** The model and thinking level the user has selected (to give back when the mode ends). */
	selected(ctx: ExtensionContext): ModelRef | undefined;
}

/** pi 1.x registers virtual models; pi 0.73.1 has no such method. */
export const hasVirtualModels = (pi: ExtensionAPI): boolean =>
	typeof (pi as { registerVirtualModel?: unknown }).registerVirtualModel === "function";

/** What the core hears about a routed call as it starts. */
export const callStartOf = (route: CallRoute): CallStart => ({
	rung: route.decision.rung,
	phase: route.decision.phase,
	reason: route.decision.reason,
	trigger: route.decision.trigger,
	...(route.decision.failover ? { failover: route.decision.failover } : {}),
	model: `${route.model.provider}/${route.model.id}`,
	thinking: route.thinking,
	loop: route.loop,
	...(route.ladderRung !== undefined ? { ladderRung: route.ladderRung, why: route.why } : {}),
});

export const refOf = (model: { provider: string; id: string } | undefined, thinking: string): ModelRef | undefined =>
	model ? { provider: model.provider, id: model.id, thinking } : undefined;
