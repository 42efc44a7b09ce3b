/**
 * What the payload of one call should say beyond the model: effort, hosted web search, prompt cache.
 * Pure: environment and identity come in as arguments.
 */
import { createHmac } from "node:crypto";
import type { PayloadFamily, SearchContextSize, WirePlan } from "./rewrite.ts";
import { wireEffort } from "./rewrite.ts";
import type { Config, WebSearchSize } from "./schema.ts";

export type Env = Readonly<Record<string, string | undefined>>;

const OFF = new Set(["0", "false", "off", "no"]);
const ON = new Set(["1", "true", "on", "yes"]);

/** A few common timezones → ISO country, for the approximate location hosted search accepts. */
const TIMEZONE_COUNTRY: Record<string, string> = {
	"Europe/Stockholm": "SE",
	"Europe/Oslo": "NO",
	"Europe/Copenhagen": "DK",
	"Europe/Helsinki": "FI",
	"Europe/Berlin": "DE",
	"Europe/Paris": "FR",
	"Europe/London": "GB",
	"Europe/Dublin": "IE",
	"Europe/Madrid": "ES",
	"Europe/Rome": "IT",
	"Europe/Amsterdam": "NL",
	"Europe/Brussels": "BE",
	"Europe/Zurich": "CH",
	"Europe/Vienna": "AT",
	"Europe/Warsaw": "PL",
	"Europe/Prague": "CZ",
	"Europe/Lisbon": "PT",
	"America/New_York": "US",
	"America/Chicago": "US",
	"America/Denver": "US",
	"America/Los_Angeles": "US",
	"America/Toronto": "CA",
	"America/Vancouver": "CA",
	"America/Sao_Paulo": "BR",
	"America/Mexico_City": "MX",
	"Asia/Tokyo": "JP",
	"Asia/Seoul": "KR",
	"Asia/Shanghai": "CN",
	"Asia/Singapore": "SG",
	"Asia/Kolkata": "IN",
	"Australia/Sydney": "AU",
	"Australia/Melbourne": "AU",
	"Pacific/Auckland": "NZ",
};

export function countryForTimezone(timezone: string | undefined): string | undefined {
	return timezone ? TIMEZONE_COUNTRY[timezone] : undefined;
}

/** Hosted web search for a rung: config, then the rung, then env (env wins for one-off runs). */
export function webSearchFor(
	config: Config,
	rungSize: WebSearchSize | undefined,
	env: Env,
	localTimezone: string | undefined,
): WirePlan["webSearch"] {
	const envSwitch = env.PI_OPENAI_WEB_SEARCH?.toLowerCase();
	const enabled = envSwitch && OFF.has(envSwitch) ? false : config.openaiWebSearch.enabled && rungSize !== "off";
	if (!enabled) return { enabled: false };
	const contextSize = rungSize && rungSize !== "off" ? (rungSize as SearchContextSize) : undefined;
	const envLocation = env.PI_OPENAI_WEB_SEARCH_LOCATION?.toLowerCase();
	const locationOn = envLocation ? ON.has(envLocation) : config.openaiWebSearch.locationEnabled;
	if (!locationOn) return { enabled: true, contextSize };
	const timezone = env.PI_OPENAI_WEB_SEARCH_TIMEZONE || localTimezone;
	const country = env.PI_OPENAI_WEB_SEARCH_COUNTRY || countryForTimezone(timezone);
	return { enabled: true, contextSize, location: { country, timezone } };
}

/**
 * A stable cache key per user and project that reveals neither: an HMAC keyed with the per-install salt
 * (install-salt.ts), so a dictionary of user names and paths cannot be tried against it.
 */
export function promptCacheKey(prefix: string, username: string, cwd: string, salt: string): string {
	const digest = createHmac("sha256", salt).update(`${username}\0${cwd}`).digest("hex").slice(0, 24);
	return `${prefix}${digest}`;
}

export interface WirePlanInput {
	config: Config;
	family: PayloadFamily;
	modelId: string;
	thinking: string;
	thinkingLevelMap?: Partial<Record<string, string | null>>;
	webSearchContextSize: WebSearchSize | undefined;
	env: Env;
	localTimezone: string | undefined;
	cacheKey: string;
	/** The call's stream option (pi's cacheRetention); "none" means caching is off and nothing is added. */
	cacheRetention?: string;
}

export function wirePlan(input: WirePlanInput): WirePlan {
	return {
		modelId: input.modelId,
		effort: wireEffort(input.family, input.thinking, input.thinkingLevelMap),
		webSearch: webSearchFor(input.config, input.webSearchContextSize, input.env, input.localTimezone),
		promptCache: {
			key: input.cacheKey,
			retention: input.config.openaiPromptCache.retention,
			off: input.cacheRetention === "none",
		},
	};
}
