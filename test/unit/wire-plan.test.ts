import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { defaultConfig } from "../../src/config.ts";
import type { Config } from "../../src/schema.ts";
import { countryForTimezone, promptCacheKey, webSearchFor, wirePlan } from "../../src/wire-plan.ts";

const config = (over: Partial<Config["openaiWebSearch"]> = {}): Config => {
	const c = defaultConfig();
	c.openaiWebSearch = { ...c.openaiWebSearch, ...over };
	return c;
};

describe("webSearchFor", () => {
	test("enabled by default with the rung's size, no location", () => {
		assert.deepEqual(webSearchFor(config(), "high", {}, "Europe/Stockholm"), { enabled: true, contextSize: "high" });
		assert.deepEqual(webSearchFor(config(), undefined, {}, undefined), { enabled: true, contextSize: undefined });
	});
	test("off per rung, per config, per env", () => {
		assert.deepEqual(webSearchFor(config(), "off", {}, undefined), { enabled: false });
		assert.deepEqual(webSearchFor(config({ enabled: false }), "high", {}, undefined), { enabled: false });
		for (const v of ["0", "false", "off", "no", "FALSE"]) {
			assert.deepEqual(webSearchFor(config(), "high", { PI_OPENAI_WEB_SEARCH: v }, undefined), { enabled: false });
		}
		assert.equal(webSearchFor(config(), "low", { PI_OPENAI_WEB_SEARCH: "1" }, undefined).enabled, true);
	});
	test("location only when enabled (config or env), env overrides country and timezone", () => {
		assert.deepEqual(webSearchFor(config({ locationEnabled: true }), "low", {}, "Europe/Stockholm"), {
			enabled: true,
			contextSize: "low",
			location: { country: "SE", timezone: "Europe/Stockholm" },
		});
		assert.deepEqual(
			webSearchFor(config(), "low", { PI_OPENAI_WEB_SEARCH_LOCATION: "1" }, "America/Chicago").location,
			{
				country: "US",
				timezone: "America/Chicago",
			},
		);
		assert.equal(
			webSearchFor(config({ locationEnabled: true }), "low", { PI_OPENAI_WEB_SEARCH_LOCATION: "0" }, "Europe/Oslo")
				.location,
			undefined,
		);
		assert.deepEqual(
			webSearchFor(
				config({ locationEnabled: true }),
				"low",
				{ PI_OPENAI_WEB_SEARCH_COUNTRY: "DE", PI_OPENAI_WEB_SEARCH_TIMEZONE: "Europe/Berlin" },
				"Asia/Tokyo",
			).location,
			{ country: "DE", timezone: "Europe/Berlin" },
		);
		assert.deepEqual(webSearchFor(config({ locationEnabled: true }), "low", {}, "Etc/UTC").location, {
			country: undefined,
			timezone: "Etc/UTC",
		});
	});
	test("countryForTimezone", () => {
		assert.equal(countryForTimezone("Europe/Stockholm"), "SE");
		assert.equal(countryForTimezone("Mars/Olympus"), undefined);
		assert.equal(countryForTimezone(undefined), undefined);
	});
});

describe("promptCacheKey", () => {
	const salt = "a".repeat(64);
	test("stable, prefixed, and reveals neither the user nor the path", () => {
		const a = promptCacheKey("pfx:", "alice", "/home/alice/secret-project", salt);
		assert.equal(a, promptCacheKey("pfx:", "alice", "/home/alice/secret-project", salt));
		assert.match(a, /^pfx:[0-9a-f]{24}$/);
		assert.equal(a.includes("alice"), false);
		assert.equal(a.includes("secret"), false);
		assert.notEqual(a, promptCacheKey("pfx:", "bob", "/home/alice/secret-project", salt));
		assert.notEqual(a, promptCacheKey("pfx:", "alice", "/home/alice/other", salt));
		// no ambiguity between the two fields
		assert.notEqual(promptCacheKey("", "ab", "c", salt), promptCacheKey("", "a", "bc", salt));
	});
	test("keyed with the install salt: another install gets another key, a plain hash does not match", () => {
		const a = promptCacheKey("", "alice", "/home/alice/code/acme-api", salt);
		assert.notEqual(a, promptCacheKey("", "alice", "/home/alice/code/acme-api", "b".repeat(64)));
		const unsalted = createHash("sha256").update("alice\0/home/alice/code/acme-api").digest("hex").slice(0, 24);
		assert.notEqual(a, unsalted, "a dictionary of sha256(user, path) no longer finds it");
	});
});

describe("wirePlan", () => {
	test("puts the pieces together", () => {
		const c = defaultConfig();
		c.openaiPromptCache.retention = null;
		assert.deepEqual(
			wirePlan({
				config: c,
				family: "anthropic-messages",
				modelId: "claude-opus-4-6",
				thinking: "xhigh",
				thinkingLevelMap: { xhigh: "max" },
				webSearchContextSize: "medium",
				env: {},
				localTimezone: undefined,
				cacheKey: "k",
			}),
			{
				modelId: "claude-opus-4-6",
				effort: "max",
				webSearch: { enabled: true, contextSize: "medium" },
				promptCache: { key: "k", retention: null, off: false },
			},
		);
	});
	test('cacheRetention "none" turns the prompt-cache fields off', () => {
		const plan = wirePlan({
			config: defaultConfig(),
			family: "openai-responses",
			modelId: "m",
			thinking: "high",
			webSearchContextSize: undefined,
			env: {},
			localTimezone: undefined,
			cacheKey: "k",
			cacheRetention: "none",
		});
		assert.deepEqual(plan.promptCache, { key: "k", retention: "24h", off: true });
	});
});
