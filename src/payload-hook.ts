/**
 * The `before_provider_request` hook's work: the rewrite of one routed call's payload (effort, hosted web search,
 * prompt cache) for the route it belongs to. Machine facts are read once: Intl and userInfo are far slower than the
 * rewrite itself.
 */
import { userInfo } from "node:os";
import { installSalt } from "./install-salt.ts";
import type { CallRoute } from "./resolve.ts";
import { detectFamily, rewritePayload } from "./rewrite.ts";
import type { Config } from "./schema.ts";
import { promptCacheKey, wirePlan } from "./wire-plan.ts";

/** The payload to send for `route`, or undefined to leave pi's payload as it is. */
export function rewriteForRoute(
	route: CallRoute,
	payload: unknown,
	config: Config,
	cwd: string,
	agentDir: string,
): unknown {
	const wire = wirePlan({
		config,
		family: detectFamily(payload),
		modelId: route.model.id,
		thinking: route.thinking,
		thinkingLevelMap: route.model.thinkingLevelMap,
		webSearchContextSize: route.webSearchContextSize,
		env: process.env,
		localTimezone: machine().timezone,
		cacheKey: cacheKey(config.openaiPromptCache.keyPrefix, cwd, agentDir),
		cacheRetention: route.cacheRetention,
	});
	const next = rewritePayload(payload, wire);
	return next === payload ? undefined : next;
}

let machineFacts: { timezone: string | undefined; username: string } | undefined;
function machine() {
	machineFacts ??= { timezone: Intl.DateTimeFormat().resolvedOptions().timeZone, username: safeUsername() };
	return machineFacts;
}

let lastKey: { prefix: string; cwd: string; key: string } | undefined;
let salt: string | undefined;
/** Keyed with the per-install salt, so a dictionary of user names and paths cannot recover them from the key. */
function cacheKey(prefix: string, cwd: string, agentDir: string): string {
	if (lastKey?.prefix !== prefix || lastKey.cwd !== cwd) {
		salt ??= installSalt(agentDir);
		lastKey = { prefix, cwd, key: promptCacheKey(prefix, machine().username, cwd, salt) };
	}
	return lastKey.key;
}

function safeUsername(): string {
	try {
		return userInfo().username;
	} catch {
		return process.env.USER ?? "";
	}
}
