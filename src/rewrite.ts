/**
 * Pure rewriting of provider payloads for the rung in flight. No pi imports, no I/O, no mutation of the input,
 * never throws: anything it does not recognise passes through unchanged (the same object is returned).
 *
 * It copies only the objects on the paths it changes, once: the message history is shared, never copied, and walked
 * only to classify a shape no pi-ai builder makes.
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
		/**
		 * The user turned caching off (cacheRetention "none"). pi-ai still sends prompt_cache_key for
		 * azure-openai-responses and openai-codex-responses then; nothing is added to it.
		 */
		off?: boolean;
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
	const messages = payload.messages;
	if (!Array.isArray(messages)) return "unknown";
	if ("promptMode" in payload || "maxTokens" in payload) return "mistral";
	if ("stream_options" in payload || "max_completion_tokens" in payload || "reasoning_effort" in payload) {
		return "openai-completions";
	}
	// O(1) first: Chat Completions carries the system prompt as the first message, Anthropic Messages at the top
	// level (with its effort). The history is walked only for shapes neither pi-ai builder makes.
	if (isCompletionsRole(messages[0])) return "openai-completions";
	if ("max_tokens" in payload && ("system" in payload || "output_config" in payload)) return "anthropic-messages";
	for (const m of messages) if (isCompletionsRole(m)) return "openai-completions";
	if ("max_tokens" in payload) return "anthropic-messages";
	return "openai-completions";
}

const isCompletionsRole = (m: unknown) =>
	isRecord(m) && (m.role === "system" || m.role === "developer" || m.role === "tool");

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
		// Each step reads the input and puts what it changes in one patch; the payload is copied once, at the end.
		const patch: Payload = {};
		setModel(payload, family, plan.modelId, patch);
		setEffort(payload, family, plan.effort, patch);
		if (family === "openai-responses") addWebSearch(payload, plan.webSearch, patch);
		if (family === "openai-responses" || family === "openai-completions") {
			fillPromptCache(payload, plan.promptCache, patch);
		}
		return applyPatch(payload, patch);
	} catch {
		return payload;
	}
}

/**
 * One shallow copy with the patch on top (same key order as a spread). Object.assign onto a fresh object follows
 * V8's cached map transitions; adding keys to a spread copy builds a new hidden class on every request (~0.5 µs).
 */
function applyPatch(payload: Payload, patch: Payload): Payload {
	for (const _ in patch) {
		return Object.hasOwn(payload, "__proto__") ? { ...payload, ...patch } : Object.assign({}, payload, patch);
	}
	return payload;
}

function setModel(payload: Payload, family: PayloadFamily, modelId: string, patch: Payload): void {
	const field = family === "bedrock" ? "modelId" : "model";
	if (modelId && payload[field] !== modelId) patch[field] = modelId;
}

/** Only replaces an effort the builder already set: where pi-ai chose none (off, budgets), the rung's builder knew best. */
function setEffort(payload: Payload, family: PayloadFamily, effort: string | undefined, patch: Payload): void {
	if (effort === undefined) return;
	if (family === "openai-responses") setNested(payload, "reasoning", "effort", effort, patch);
	else if (family === "anthropic-messages") setNested(payload, "output_config", "effort", effort, patch);
	else if (family === "openai-completions") {
		if (typeof payload.reasoning_effort === "string") {
			if (payload.reasoning_effort !== effort) patch.reasoning_effort = effort;
		} else {
			setNested(payload, "reasoning", "effort", effort, patch); // OpenRouter-style
		}
	}
}

function setNested(payload: Payload, key: string, field: string, value: string, patch: Payload): void {
	const inner = payload[key];
	if (!isRecord(inner) || typeof inner[field] !== "string" || inner[field] === value) return;
	patch[key] = { ...inner, [field]: value };
}

function addWebSearch(payload: Payload, search: WirePlan["webSearch"], patch: Payload): void {
	if (!search.enabled) return;
	if (payload.tools !== undefined && !Array.isArray(payload.tools)) return; // malformed: not ours to fix
	const tools = (payload.tools ?? []) as unknown[];
	if (tools.some((t) => isRecord(t) && (t.type === "web_search" || t.type === "web_search_preview"))) return;
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
	patch.tools = [...tools, tool];
	if (payload.tool_choice === undefined) patch.tool_choice = "auto";
}

/**
 * Nothing is added when caching is off: the plan says so (cacheRetention "none"), or pi sent neither field
 * (openai-responses and Chat Completions omit both then).
 */
function fillPromptCache(payload: Payload, cache: WirePlan["promptCache"], patch: Payload): void {
	if (cache.off) return;
	const key = payload.prompt_cache_key;
	const retention = payload.prompt_cache_retention;
	if (key === undefined && retention === undefined) return;
	if (key === undefined) patch.prompt_cache_key = cache.key;
	if (retention === undefined && cache.retention !== null) patch.prompt_cache_retention = cache.retention;
}
