/**
 * Pure rewriting of provider payloads for the rung in flight. No pi imports, no I/O, no mutation of the input,
 * never throws: anything it does not recognise passes through unchanged (the same object is returned).
 *
 * It copies only the objects on the paths it changes: the message history is shared, never walked or copied.
 */

export type PayloadFamily =
	| "openai-responses"
	| "openai-completions"
	| "anthropic-messages"
	| "google"
	| "mistral"
	| "bedrock"
	| "unknown";

export type SearchContextSize = "low" | "medium" | "high";

export interface WirePlan {
	/** The rung model's id as the provider expects it. */
	modelId: string;
	/** Provider-level effort value (see `wireEffort`); undefined leaves effort fields alone. */
	effort?: string;
	webSearch: {
		enabled: boolean;
		contextSize?: SearchContextSize;
		location?: { country?: string; timezone?: string };
	};
	promptCache: {
		/** Used only when pi set a retention but no key. */
		key: string;
		/** Requested when pi set no retention; null requests none. */
		retention: "24h" | "in_memory" | null;
	};
}

type Payload = Record<string, unknown>;

const isRecord = (v: unknown): v is Payload => typeof v === "object" && v !== null && !Array.isArray(v);

/** Tell the wire format from the payload's shape (pi-ai 0.73.1's builders). */
export function detectFamily(payload: unknown): PayloadFamily {
	if (!isRecord(payload)) return "unknown";
	if (Array.isArray(payload.contents) && isRecord(payload.config) && typeof payload.model === "string") return "google";
	if (typeof payload.modelId === "string" && Array.isArray(payload.messages)) return "bedrock";
	if (typeof payload.model !== "string") return "unknown";
	if (Array.isArray(payload.input)) return "openai-responses";
	if (!Array.isArray(payload.messages)) return "unknown";
	if ("promptMode" in payload || "maxTokens" in payload) return "mistral";
	if ("stream_options" in payload || "max_completion_tokens" in payload || "reasoning_effort" in payload) {
		return "openai-completions";
	}
	const roles = (payload.messages as unknown[]).map((m) => (isRecord(m) ? m.role : undefined));
	if (roles.some((r) => r === "system" || r === "developer" || r === "tool")) return "openai-completions";
	if ("max_tokens" in payload) return "anthropic-messages";
	return "openai-completions";
}

/**
 * The effort string a provider expects for a pi thinking level, as pi-ai 0.73.1 maps it:
 * OpenAI families send the level (or the model's thinkingLevelMap entry), Anthropic adaptive thinking maps
 * minimal/low → "low" and anything above high → "high" unless the model maps it.
 */
export function wireEffort(
	family: PayloadFamily,
	level: string | undefined,
	thinkingLevelMap?: Partial<Record<string, string | null>>,
): string | undefined {
	if (!level || level === "off") return undefined;
	const mapped = thinkingLevelMap?.[level];
	if (typeof mapped === "string") return mapped;
	if (mapped === null) return undefined;
	if (family === "anthropic-messages") {
		if (level === "minimal" || level === "low") return "low";
		if (level === "medium") return "medium";
		return "high";
	}
	return level;
}

/** Rewrite one payload for the rung in flight. Returns the input itself when nothing changes. */
export function rewritePayload(payload: unknown, plan: WirePlan): unknown {
	try {
		const family = detectFamily(payload);
		if (family === "unknown" || !isRecord(payload)) return payload;
		let out = setModel(payload, family, plan.modelId);
		out = setEffort(out, family, plan.effort);
		if (family === "openai-responses") out = addWebSearch(out, plan.webSearch);
		if (family === "openai-responses" || family === "openai-completions") out = fillPromptCache(out, plan.promptCache);
		return out;
	} catch {
		return payload;
	}
}

function setModel(payload: Payload, family: PayloadFamily, modelId: string): Payload {
	const field = family === "bedrock" ? "modelId" : "model";
	if (!modelId || payload[field] === modelId) return payload;
	return { ...payload, [field]: modelId };
}

/** Only replaces an effort the builder already set: where pi-ai chose none (off, budgets), the rung's builder knew best. */
function setEffort(payload: Payload, family: PayloadFamily, effort: string | undefined): Payload {
	if (effort === undefined) return payload;
	if (family === "openai-responses") return setNested(payload, "reasoning", "effort", effort);
	if (family === "anthropic-messages") return setNested(payload, "output_config", "effort", effort);
	if (family === "openai-completions") {
		if (typeof payload.reasoning_effort === "string") {
			return payload.reasoning_effort === effort ? payload : { ...payload, reasoning_effort: effort };
		}
		return setNested(payload, "reasoning", "effort", effort); // OpenRouter-style
	}
	return payload;
}

function setNested(payload: Payload, key: string, field: string, value: string): Payload {
	const inner = payload[key];
	if (!isRecord(inner) || typeof inner[field] !== "string" || inner[field] === value) return payload;
	return { ...payload, [key]: { ...inner, [field]: value } };
}

function addWebSearch(payload: Payload, search: WirePlan["webSearch"]): Payload {
	if (!search.enabled) return payload;
	if (payload.tools !== undefined && !Array.isArray(payload.tools)) return payload; // malformed: not ours to fix
	const tools = (payload.tools ?? []) as unknown[];
	if (tools.some((t) => isRecord(t) && (t.type === "web_search" || t.type === "web_search_preview"))) return payload;
	const tool: Payload = { type: "web_search" };
	if (search.contextSize) tool.search_context_size = search.contextSize;
	const location = search.location;
	if (location && (location.country || location.timezone)) {
		tool.user_location = {
			type: "approximate",
			...(location.country ? { country: location.country } : {}),
			...(location.timezone ? { timezone: location.timezone } : {}),
		};
	}
	const out: Payload = { ...payload, tools: [...tools, tool] };
	if (out.tool_choice === undefined) out.tool_choice = "auto";
	return out;
}

/** pi sends neither field when the user turned caching off (cacheRetention "none"): then nothing is added. */
function fillPromptCache(payload: Payload, cache: WirePlan["promptCache"]): Payload {
	const key = payload.prompt_cache_key;
	const retention = payload.prompt_cache_retention;
	if (key === undefined && retention === undefined) return payload;
	let out = payload;
	if (key === undefined) out = { ...out, prompt_cache_key: cache.key };
	if (retention === undefined && cache.retention !== null) out = { ...out, prompt_cache_retention: cache.retention };
	return out;
}
