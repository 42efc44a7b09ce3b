/**
 * Resolve ladder rungs to models of pi's registry, with the problems a user must fix named plainly.
 * The registry is passed in (an interface), so this stays pure and testable without pi.
 */
import type { Api, Model, ModelThinkingLevel } from "@mariozechner/pi-ai";
import { clampThinkingLevel } from "@mariozechner/pi-ai";
import { realModel } from "./attach.ts";
import { closest } from "./config.ts";
import { keyHint } from "./key-env.ts";
import type { Decision } from "./ladder.ts";
import type { Config, Rung, WebSearchSize } from "./schema.ts";

/** Where one call goes: the ladder's decision, resolved to a real model, effort and web search. */
export interface CallRoute {
	decision: Decision;
	/** The real model (never the router, never the ladder model). */
	model: Model<Api>;
	thinking: ModelThinkingLevel;
	/** Whether this call belongs to the agent loop (recorded, stepped) or is auxiliary (compaction, summaries). */
	loop: boolean;
	/** The rung's hosted web search setting (undefined: the provider's default size). */
	webSearchContextSize?: WebSearchSize;
	/** pi's cacheRetention stream option for the call ("none": caching is off, nothing is added to the payload). */
	cacheRetention?: string;
	/** Cache-aware stepping chose a stronger rung than `ladderRung` (the decision's rung is the one used). */
	ladderRung?: number;
	why?: string;
}

export interface RegistryLike {
	find(provider: string, modelId: string): Model<Api> | undefined;
	getAll(): Model<Api>[];
	hasConfiguredAuth(model: Model<Api>): boolean;
}

export interface ResolvedRung {
	index: number;
	model: Model<Api>;
	/** Requested level clamped to the model; undefined: the session's level (clamped per call). */
	thinking: ModelThinkingLevel | undefined;
	webSearchContextSize: WebSearchSize | undefined;
}

export interface LadderResolution {
	rungs: ResolvedRung[];
	problems: string[];
}

/** provider/id a rung names: `model` wins, else `modelId` with the rung's or the top-level provider. */
export function rungRef(rung: Rung, config: Pick<Config, "provider">): { provider: string; id: string } | undefined {
	if (rung.model) {
		const slash = rung.model.indexOf("/");
		return { provider: rung.model.slice(0, slash), id: rung.model.slice(slash + 1) };
	}
	const provider = rung.provider ?? config.provider;
	return rung.modelId && provider ? { provider, id: rung.modelId } : undefined;
}

export function resolveLadder(config: Config, registry: RegistryLike): LadderResolution {
	const rungs: ResolvedRung[] = [];
	const problems: string[] = [];
	config.ladder.forEach((rung, index) => {
		const found = resolveRung(rung, index, config, registry);
		if (typeof found === "string") problems.push(found);
		else rungs.push(found);
	});
	return { rungs, problems };
}

function resolveRung(rung: Rung, index: number, config: Config, registry: RegistryLike): ResolvedRung | string {
	const where = `ladder[${index}]`;
	const ref = rungRef(rung, config);
	if (!ref) return `${where}: names no model`;
	const model = registry.find(ref.provider, ref.id);
	if (!model) {
		const all = registry.getAll();
		const providers = [...new Set(all.map((m) => m.provider))];
		if (!providers.includes(ref.provider)) {
			const near = closest(ref.provider, providers);
			return `${where}: unknown provider "${ref.provider}"${near.length ? ` (did you mean ${near.map((p) => `"${p}"`).join(", ")}?)` : ""}; see \`pi --list-models\``;
		}
		const ids = all.filter((m) => m.provider === ref.provider).map((m) => m.id);
		const near = closest(ref.id, ids);
		return `${where}: unknown model "${ref.provider}/${ref.id}"${near.length ? ` (closest: ${near.map((id) => `${ref.provider}/${id}`).join(", ")})` : ""}; see \`pi --list-models ${ref.provider}\``;
	}
	if (!registry.hasConfiguredAuth(model)) {
		return `${where}: no API key for provider "${model.provider}" (${keyHint(model.provider)})`;
	}
	return {
		index,
		model,
		thinking: rung.thinking ? clampThinkingLevel(model, rung.thinking) : undefined,
		webSearchContextSize: rung.webSearchContextSize,
	};
}

/** The thinking level a call on this rung uses: the rung's, else the session's, clamped to the model. */
export function callThinking(
	rung: Pick<ResolvedRung, "thinking">,
	model: Model<Api>,
	sessionLevel: ModelThinkingLevel | undefined,
): ModelThinkingLevel {
	return rung.thinking ?? clampThinkingLevel(model, sessionLevel ?? "off");
}

/**
 * Everything about one call but its messages: the real model, its effort and web search, for the decided rung.
 * `ladder` undefined: the user's own model (`own`, already stripped of routing) serves the call.
 * A string is the reason the call cannot be made.
 */
export function routeCall(
	decision: Decision,
	loop: boolean,
	own: Model<Api> | undefined,
	sessionLevel: ModelThinkingLevel | undefined,
	ladder: LadderResolution | undefined,
): CallRoute | string {
	if (!ladder) {
		if (!own) return "plan-stepdown: the ladder is empty and no model of yours is selected";
		return { decision, model: own, thinking: callThinking({ thinking: undefined }, own, sessionLevel), loop };
	}
	const rung = ladder.rungs.find((r) => r.index === decision.rung);
	if (!rung) {
		const why = ladder.problems.length > 0 ? ladder.problems.join("; ") : `the ladder has ${ladder.rungs.length} rungs`;
		return `plan-stepdown: rung ${decision.rung} unavailable: ${why}`;
	}
	// The rung may be the very model object the router is attached to: call it as its own provider knows it.
	const model = realModel(rung.model);
	return {
		decision,
		model,
		thinking: callThinking(rung, model, sessionLevel),
		loop,
		webSearchContextSize: rung.webSearchContextSize,
	};
}
