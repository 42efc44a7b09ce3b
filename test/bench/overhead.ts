/**
 * Per-request and per-call overhead of the extension, against what pi does anyway on every request:
 * - `rewritePayload` (and the whole `before_provider_request` hook path) vs `JSON.stringify` of the same payload,
 *   on payloads pi-ai's real builders make from histories of N messages;
 * - the ladder decision (`decideCall(toCallMessages(currentSegment(messages)))`) vs `structuredClone(messages)`, which pi does for
 *   the `context` event on every call.
 */
import { userInfo } from "node:os";
import type { Api, Context } from "@mariozechner/pi-ai";
import { defaultConfig, resolveConfig } from "../../src/config.ts";
import type { AgentMessageLike, BumpRules } from "../../src/ladder.ts";
import type { WirePlan } from "../../src/rewrite.ts";
import type { Config } from "../../src/schema.ts";
import { buildPayload, familyModel } from "../helpers/payloads.ts";
import { sessionContext, sessionMessages } from "./history.ts";
import { freshHotPath, type HotPath, loadHotPath } from "./pi-loader.ts";
import { compare, measure, median, type TimingOptions } from "./timing.ts";

export interface FamilyCase {
	api: Api;
	id: string;
	provider: string;
	/** The rung model the rewrite retargets the payload to. */
	rungId: string;
}

/** One builder per API family pi-ai 0.73.1 ships (Vertex shares Google's payload shape). */
export const FAMILIES: FamilyCase[] = [
	{ api: "openai-responses", id: "gpt-5.5", provider: "openai", rungId: "gpt-5.4-mini" },
	{ api: "azure-openai-responses", id: "gpt-5.4", provider: "azure-openai-responses", rungId: "gpt-5.4-mini" },
	{ api: "openai-codex-responses", id: "gpt-5.4", provider: "openai-codex", rungId: "gpt-5.4-mini" },
	{ api: "openai-completions", id: "gpt-5.4", provider: "openai", rungId: "gpt-5.4-mini" },
	{ api: "anthropic-messages", id: "claude-opus-4-6", provider: "anthropic", rungId: "claude-sonnet-4-6" },
	{ api: "google-generative-ai", id: "gemini-2.5-pro", provider: "google", rungId: "gemini-2.5-flash" },
	{
		api: "mistral-conversations",
		id: "magistral-medium-latest",
		provider: "mistral",
		rungId: "magistral-small-latest",
	},
	{
		api: "bedrock-converse-stream",
		id: "anthropic.claude-sonnet-4-5-20250929-v1:0",
		provider: "amazon-bedrock",
		rungId: "anthropic.claude-haiku-4-5-20251001-v1:0",
	},
];

export const HISTORY_KEYS = ["input", "messages", "contents"] as const;

/** Web search and the 24h prompt cache on (explicitly, through the real config code). */
export function benchConfig(): Config {
	const layer = { openaiWebSearch: { enabled: true }, openaiPromptCache: { retention: "24h" } };
	const resolved = resolveConfig([{ source: "bench", text: JSON.stringify(layer) }]);
	if (resolved.issues.length > 0) throw new Error(resolved.issues.map((i) => i.message).join("; "));
	return resolved.config;
}

const BENCH_ENV = { PI_OPENAI_WEB_SEARCH: undefined } as const;

/** Where the hook gets its environment, timezone and cache key from (the bench's fixed ones by default). */
interface PlanSources {
	env: Readonly<Record<string, string | undefined>>;
	timezone: string | undefined;
	cacheKey: string;
}

export function planFor(
	hp: HotPath,
	payload: unknown,
	config: Config,
	rungId: string,
	sources: PlanSources = {
		env: BENCH_ENV,
		timezone: "Europe/Stockholm",
		cacheKey: hp.promptCacheKey(config.openaiPromptCache.keyPrefix, "bench", "/work/app", "bench-salt"),
	},
): WirePlan {
	return hp.wirePlan({
		config,
		family: hp.detectFamily(payload),
		modelId: rungId,
		thinking: "medium",
		thinkingLevelMap: undefined,
		webSearchContextSize: "medium",
		env: sources.env,
		localTimezone: sources.timezone,
		cacheKey: sources.cacheKey,
	});
}

/** What the handler can compute once per process (timezone) or per project (cache key) instead of per request. */
export interface MachineFacts {
	timezone: string | undefined;
	cacheKey: string;
}

export function machineFacts(hp: HotPath, config: Config): MachineFacts {
	return {
		timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
		cacheKey: hp.promptCacheKey(config.openaiPromptCache.keyPrefix, userInfo().username, process.cwd(), "bench-salt"),
	};
}

/**
 * index.ts's `before_provider_request` handler, step for step: detect the family, build the wire plan and rewrite.
 * Without `facts`, the local timezone (Intl), the user name (os.userInfo) and the hashed cache key are computed per
 * request, as index.ts did at the start of this work; with `facts`, they are computed once (memoised).
 */
export function hookPath(hp: HotPath, payload: unknown, config: Config, rungId: string, facts?: MachineFacts): unknown {
	const { timezone, cacheKey } = facts ?? machineFacts(hp, config);
	return hp.rewritePayload(payload, planFor(hp, payload, config, rungId, { env: process.env, timezone, cacheKey }));
}

/** How many history elements the rewrite reads (a counting Proxy in place of the history array). */
export function historyReads(hp: HotPath, payload: Record<string, unknown>, plan: WirePlan): number {
	const key = HISTORY_KEYS.find((k) => Array.isArray(payload[k]));
	if (!key) return 0;
	let reads = 0;
	const proxy = new Proxy(payload[key] as unknown[], {
		get(target, prop, receiver) {
			if (typeof prop === "string" && /^\d+$/.test(prop)) reads++;
			return Reflect.get(target, prop, receiver);
		},
		has(target, prop) {
			if (typeof prop === "string" && /^\d+$/.test(prop)) reads++;
			return Reflect.has(target, prop);
		},
	});
	hp.rewritePayload({ ...payload, [key]: proxy }, plan);
	return reads;
}

/** Top-level fields the rewrite changed, and whether the history array is the very same object. */
export function rewriteEffect(payload: Record<string, unknown>, out: unknown): { changed: string[]; shared: boolean } {
	const o = out as Record<string, unknown>;
	const keys = new Set([...Object.keys(payload), ...Object.keys(o)]);
	const changed = [...keys].filter((k) => payload[k] !== o[k]).sort();
	const shared = HISTORY_KEYS.every((k) => !(k in payload) || o[k] === payload[k]);
	return { changed, shared };
}

export interface RewriteRow {
	api: Api;
	model: string;
	messages: number;
	payloadBytes: number;
	rewriteNs: number;
	stringifyNs: number;
	/** rewrite / stringify, %. */
	ratioPct: number;
	/** The same on the wall clock (disturbed by other load on the machine). */
	wallRatioPct: number;
	/** The whole before_provider_request path (family, wire plan, rewrite), timezone/user/cache key per request. */
	hookNs: number;
	hookRatioPct: number;
	/** The same with timezone, user name and cache key computed once. */
	hookMemoNs: number;
	hookMemoRatioPct: number;
	/** Top-level payload fields the rewrite replaced. */
	changed: string[];
	/** The history array of the output is the input's (not copied). */
	historyShared: boolean;
	/** History elements read by one rewrite. */
	historyReads: number;
	samples: number;
}

export interface RewriteOptions {
	sizes: number[];
	timing: TimingOptions;
	families?: FamilyCase[];
	hotPath?: HotPath;
	onRow?: (row: RewriteRow) => void;
}

export async function runRewriteBench(opts: RewriteOptions): Promise<RewriteRow[]> {
	process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
	const config = benchConfig();
	const contexts = new Map<number, Context>(opts.sizes.map((size) => [size, sessionContext(size)]));
	const rows: RewriteRow[] = [];
	for (const fam of opts.families ?? FAMILIES) {
		// Each family on its own copy of the modules: a first family would otherwise enjoy monomorphic inline caches
		// the later ones do not, and rows would differ by JIT state rather than by payload.
		const hp = opts.hotPath ?? (await freshHotPath());
		const facts = machineFacts(hp, config);
		const model = familyModel(fam.api, fam.id, fam.provider, { thinkingLevelMap: { xhigh: "xhigh" } });
		for (const size of opts.sizes) {
			const payload = await buildPayload(model, contexts.get(size) as Context, "high");
			const plan = planFor(hp, payload, config, fam.rungId);
			const out = hp.rewritePayload(payload, plan);
			const effect = rewriteEffect(payload, out);
			const [rw, js] = compare(
				() => hp.rewritePayload(payload, plan),
				() => JSON.stringify(payload),
				opts.timing,
			);
			const half = { ...opts.timing, budgetMs: opts.timing.budgetMs / 2 };
			const [hook, js2] = compare(
				() => hookPath(hp, payload, config, fam.rungId),
				() => JSON.stringify(payload),
				half,
			);
			const [memo, js3] = compare(
				() => hookPath(hp, payload, config, fam.rungId, facts),
				() => JSON.stringify(payload),
				half,
			);
			const stringifyNs = median([js.nsPerOp, js2.nsPerOp, js3.nsPerOp]);
			const row: RewriteRow = {
				api: fam.api,
				model: fam.id,
				messages: size,
				payloadBytes: Buffer.byteLength(JSON.stringify(payload)),
				rewriteNs: rw.nsPerOp,
				stringifyNs,
				ratioPct: (rw.nsPerOp / stringifyNs) * 100,
				wallRatioPct: (rw.wallNsPerOp / median([js.wallNsPerOp, js2.wallNsPerOp, js3.wallNsPerOp])) * 100,
				hookNs: hook.nsPerOp,
				hookRatioPct: (hook.nsPerOp / stringifyNs) * 100,
				hookMemoNs: memo.nsPerOp,
				hookMemoRatioPct: (memo.nsPerOp / stringifyNs) * 100,
				changed: effect.changed,
				historyShared: effect.shared,
				historyReads: historyReads(hp, payload, plan),
				samples: rw.samples,
			};
			rows.push(row);
			opts.onRow?.(row);
		}
	}
	return rows;
}

export const DEFAULT_RULES: BumpRules = defaultConfig().reasoningBump;

export interface DecideRow {
	messages: number;
	/** Messages since the last user message: what decideCall walks. */
	segment: number;
	/** decideCall(toCallMessages(currentSegment(messages))): what the `context` handler does per call. */
	decideNs: number;
	/** toCallMessages(currentSegment(messages)) alone: the distillation of the current segment. */
	distilNs: number;
	/** decideCall alone on already distilled messages (walks the segment). */
	decideOnlyNs: number;
	cloneNs: number;
	/** decide / clone, %. */
	ratioPct: number;
	/** The same on the wall clock. */
	wallRatioPct: number;
	distilRatioPct: number;
	decideOnlyRatioPct: number;
	rung: number;
	samples: number;
}

export interface DecideOptions {
	sizes: number[];
	timing: TimingOptions;
	hotPath?: HotPath;
	onRow?: (row: DecideRow) => void;
}

export async function runDecideBench(opts: DecideOptions): Promise<DecideRow[]> {
	const { decideCall, toCallMessages, currentSegment } = opts.hotPath ?? (await loadHotPath());
	const rows: DecideRow[] = [];
	for (const size of opts.sizes) {
		const messages = sessionMessages(size) as AgentMessageLike[];
		const distilled = toCallMessages(currentSegment(messages));
		let lastUser = -1;
		for (let i = messages.length - 1; i >= 0 && lastUser < 0; i--) if (messages[i]?.role === "user") lastUser = i;
		const decide = () => decideCall("implementing", 5, toCallMessages(currentSegment(messages)), DEFAULT_RULES);
		const [d, c] = compare(decide, () => structuredClone(messages), opts.timing);
		const half = { ...opts.timing, budgetMs: opts.timing.budgetMs / 3 };
		const [distil, c2] = compare(
			() => toCallMessages(currentSegment(messages)),
			() => structuredClone(messages),
			half,
		);
		const only = measure(() => decideCall("implementing", 5, distilled, DEFAULT_RULES), half);
		const cloneNs = (c.nsPerOp + c2.nsPerOp) / 2;
		const row: DecideRow = {
			messages: size,
			segment: messages.length - 1 - lastUser,
			decideNs: d.nsPerOp,
			distilNs: distil.nsPerOp,
			decideOnlyNs: only.nsPerOp,
			cloneNs,
			ratioPct: (d.nsPerOp / cloneNs) * 100,
			wallRatioPct: (d.wallNsPerOp / c.wallNsPerOp) * 100,
			distilRatioPct: (distil.nsPerOp / cloneNs) * 100,
			decideOnlyRatioPct: (only.nsPerOp / cloneNs) * 100,
			rung: decide()?.rung ?? -1,
			samples: d.samples,
		};
		rows.push(row);
		opts.onRow?.(row);
	}
	return rows;
}

/** The per-request pieces of the `before_provider_request` path outside the rewrite, each on its own. */
export interface HookBreakdown {
	/** `Intl.DateTimeFormat().resolvedOptions().timeZone` (the local timezone for web search locations). */
	intlTimezoneNs: number;
	/** `os.userInfo().username` (for the prompt cache key). */
	userInfoNs: number;
	/** `promptCacheKey(...)` (HMAC-SHA256 of user and cwd, keyed with the install salt). */
	promptCacheKeyNs: number;
	/** `wirePlan(...)` with both values precomputed. */
	wirePlanNs: number;
}

export async function runHookBreakdown(timing: TimingOptions, hotPath?: HotPath): Promise<HookBreakdown> {
	const { promptCacheKey, wirePlan } = hotPath ?? (await loadHotPath());
	const config = benchConfig();
	const cacheKey = promptCacheKey(config.openaiPromptCache.keyPrefix, "bench", "/work/app", "bench-salt");
	const input = {
		config,
		family: "openai-responses" as const,
		modelId: "gpt-5.4-mini",
		thinking: "medium",
		thinkingLevelMap: undefined,
		webSearchContextSize: "medium" as const,
		env: process.env,
		localTimezone: "Europe/Stockholm",
		cacheKey,
	};
	return {
		intlTimezoneNs: measure(() => Intl.DateTimeFormat().resolvedOptions().timeZone, timing).nsPerOp,
		userInfoNs: measure(() => userInfo().username, timing).nsPerOp,
		promptCacheKeyNs: measure(() => promptCacheKey("p:", "user", "/work/app", "bench-salt"), timing).nsPerOp,
		wirePlanNs: measure(() => wirePlan(input), timing).nsPerOp,
	};
}
