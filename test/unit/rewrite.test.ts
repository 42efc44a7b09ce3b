import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ThinkingLevel } from "@mariozechner/pi-ai";
import { detectFamily, type PayloadFamily, rewritePayload, type WirePlan, wireEffort } from "../../src/rewrite.ts";
import { buildPayload, FAMILY_MODELS, familyModel, sampleContext } from "../helpers/payloads.ts";

const EXPECTED_FAMILY: Record<string, PayloadFamily> = {
	"openai-responses": "openai-responses",
	"azure-openai-responses": "openai-responses",
	"openai-codex-responses": "openai-responses",
	"openai-completions": "openai-completions",
	"anthropic-messages": "anthropic-messages",
	"google-generative-ai": "google",
	"google-vertex": "google",
	"mistral-conversations": "mistral",
	"bedrock-converse-stream": "bedrock",
};

const plan = (over: Partial<WirePlan> = {}): WirePlan => ({
	modelId: "rung-model",
	effort: undefined,
	webSearch: { enabled: false },
	promptCache: { key: "pfx:abc", retention: "24h" },
	...over,
});

function deepFreeze<T>(value: T): T {
	if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
		Object.freeze(value);
		for (const v of Object.values(value)) deepFreeze(v);
	}
	return value;
}

const snapshot = (v: unknown) => JSON.parse(JSON.stringify(v));

describe("detectFamily on pi-ai's real payloads", () => {
	for (const { api, id, provider } of FAMILY_MODELS) {
		test(`${api} ${id}`, async () => {
			const payload = await buildPayload(familyModel(api, id, provider), sampleContext(), "high");
			assert.equal(detectFamily(payload), EXPECTED_FAMILY[api]);
		});
	}
	test("completions with max_tokens compat is still completions (system role)", () => {
		assert.equal(
			detectFamily({ model: "m", messages: [{ role: "system", content: "x" }], max_tokens: 10 }),
			"openai-completions",
		);
	});
	test("unknown shapes", () => {
		for (const p of [null, 1, "x", [], {}, { model: 1 }, { model: "m" }, { messages: [] }]) {
			assert.equal(detectFamily(p), "unknown");
		}
	});
});

describe("rewritePayload: model and effort", () => {
	for (const { api, id, provider } of FAMILY_MODELS) {
		test(`${api} ${id}: model is set, nothing else is copied`, async () => {
			const payload = deepFreeze(await buildPayload(familyModel(api, id, provider), sampleContext(3), "high"));
			const before = snapshot(payload);
			const out = rewritePayload(payload, plan({ modelId: "other-model" })) as Record<string, unknown>;
			assert.deepEqual(snapshot(payload), before, "input not mutated");
			assert.equal(out[api === "bedrock-converse-stream" ? "modelId" : "model"], "other-model");
			for (const history of ["input", "messages", "contents"]) {
				if (history in payload) assert.equal(out[history], payload[history], `${history} shared, not copied`);
			}
		});

		for (const level of ["minimal", "low", "medium", "high", "xhigh"] as ThinkingLevel[]) {
			test(`${api} ${id} @${level}: idempotent on the payload pi-ai built for the rung`, async () => {
				const model = familyModel(api, id, provider, { thinkingLevelMap: { xhigh: "xhigh" } });
				const payload = await buildPayload(model, sampleContext(), level);
				const family = detectFamily(payload);
				const out = rewritePayload(
					payload,
					plan({ modelId: id, effort: wireEffort(family, level, model.thinkingLevelMap) }),
				);
				// web search and the prompt cache are separate concerns: compare only what model/effort could touch
				const strip = (p: unknown) => {
					const {
						tools: _t,
						tool_choice: _c,
						prompt_cache_key: _k,
						prompt_cache_retention: _r,
						...rest
					} = p as Record<string, unknown>;
					return snapshot(rest);
				};
				assert.deepEqual(strip(out), strip(payload));
			});
		}
	}

	test("effort replaced where the builder set one", async () => {
		const responses = await buildPayload(familyModel("openai-responses", "gpt-5.4", "openai"), sampleContext(), "high");
		assert.deepEqual((rewritePayload(responses, plan({ effort: "low" })) as { reasoning: unknown }).reasoning, {
			effort: "low",
			summary: "auto",
		});
		const completions = await buildPayload(
			familyModel("openai-completions", "gpt-5.4", "openai"),
			sampleContext(),
			"high",
		);
		assert.equal(
			(rewritePayload(completions, plan({ effort: "minimal" })) as { reasoning_effort: unknown }).reasoning_effort,
			"minimal",
		);
		const adaptive = await buildPayload(
			familyModel("anthropic-messages", "claude-sonnet-4-6", "anthropic"),
			sampleContext(),
			"high",
		);
		assert.deepEqual((rewritePayload(adaptive, plan({ effort: "low" })) as { output_config: unknown }).output_config, {
			effort: "low",
		});
	});

	test("effort is never added where the builder chose none (budgets, off)", async () => {
		const budget = await buildPayload(
			familyModel("anthropic-messages", "claude-sonnet-4-5", "anthropic"),
			sampleContext(),
			"high",
		);
		const out = rewritePayload(budget, plan({ modelId: "claude-sonnet-4-5", effort: "low" }));
		assert.equal(out, budget);
		const off = await buildPayload(familyModel("openai-completions", "gpt-5.4", "openai"), sampleContext(), undefined);
		assert.equal(
			(rewritePayload(off, plan({ modelId: "gpt-5.4", effort: "high" })) as Record<string, unknown>).reasoning_effort,
			off.reasoning_effort,
		);
		const google = await buildPayload(
			familyModel("google-generative-ai", "gemini-2.5-pro", "google"),
			sampleContext(),
			"high",
		);
		assert.equal(rewritePayload(google, plan({ modelId: "gemini-2.5-pro", effort: "low" })), google);
	});

	test("OpenRouter-style reasoning.effort on completions", () => {
		const p = {
			model: "m",
			messages: [{ role: "user", content: "x" }],
			stream_options: {},
			reasoning: { effort: "high" },
		};
		assert.deepEqual((rewritePayload(p, plan({ modelId: "m", effort: "low" })) as typeof p).reasoning, {
			effort: "low",
		});
	});

	test("nothing to change: the same object comes back", async () => {
		const p = await buildPayload(
			familyModel("anthropic-messages", "claude-sonnet-4-5", "anthropic"),
			sampleContext(),
			"low",
		);
		assert.equal(rewritePayload(p, plan({ modelId: "claude-sonnet-4-5" })), p);
	});
});

describe("wireEffort", () => {
	test("OpenAI families send the level", () => {
		assert.equal(wireEffort("openai-responses", "xhigh"), "xhigh");
		assert.equal(wireEffort("openai-completions", "minimal"), "minimal");
	});
	test("Anthropic adaptive mapping", () => {
		assert.deepEqual(
			["minimal", "low", "medium", "high", "xhigh"].map((l) => wireEffort("anthropic-messages", l)),
			["low", "low", "medium", "high", "high"],
		);
	});
	test("the model's thinkingLevelMap wins; null means unsupported", () => {
		assert.equal(wireEffort("anthropic-messages", "xhigh", { xhigh: "max" }), "max");
		assert.equal(wireEffort("openai-responses", "high", { high: "default" }), "default");
		assert.equal(wireEffort("openai-responses", "minimal", { minimal: null }), undefined);
	});
	test("off and nothing", () => {
		assert.equal(wireEffort("openai-responses", "off"), undefined);
		assert.equal(wireEffort("openai-responses", undefined), undefined);
	});
});

describe("rewritePayload: hosted web search (OpenAI Responses family only)", () => {
	const responses = () => buildPayload(familyModel("openai-responses", "gpt-5.4", "openai"), sampleContext(), "high");

	test("adds web_search with the rung's context size and tool_choice auto", async () => {
		const p = deepFreeze(await responses());
		const out = rewritePayload(p, plan({ modelId: "gpt-5.4", webSearch: { enabled: true, contextSize: "low" } })) as {
			tools: unknown[];
			tool_choice: unknown;
		};
		assert.deepEqual(out.tools.at(-1), { type: "web_search", search_context_size: "low" });
		assert.equal(out.tools.length, (p.tools as unknown[]).length + 1);
		assert.equal(out.tool_choice, "auto");
	});

	test("keeps an existing tool_choice", async () => {
		const p = { ...(await responses()), tool_choice: "required" };
		assert.equal((rewritePayload(p, plan({ webSearch: { enabled: true } })) as typeof p).tool_choice, "required");
	});

	test("no size: the provider default", async () => {
		const out = rewritePayload(await responses(), plan({ webSearch: { enabled: true } })) as { tools: unknown[] };
		assert.deepEqual(out.tools.at(-1), { type: "web_search" });
	});

	test("no duplicates (web_search or web_search_preview already there)", async () => {
		for (const type of ["web_search", "web_search_preview"]) {
			const p = { ...(await responses()), tools: [{ type, search_context_size: "high" }] };
			const out = rewritePayload(p, plan({ modelId: "gpt-5.4", webSearch: { enabled: true, contextSize: "low" } }));
			assert.deepEqual((out as typeof p).tools, [{ type, search_context_size: "high" }]);
		}
	});

	test("location only when given", async () => {
		const out = rewritePayload(
			await responses(),
			plan({
				webSearch: { enabled: true, contextSize: "high", location: { country: "SE", timezone: "Europe/Stockholm" } },
			}),
		) as { tools: unknown[] };
		assert.deepEqual(out.tools.at(-1), {
			type: "web_search",
			search_context_size: "high",
			user_location: { type: "approximate", country: "SE", timezone: "Europe/Stockholm" },
		});
		const empty = rewritePayload(await responses(), plan({ webSearch: { enabled: true, location: {} } })) as {
			tools: unknown[];
		};
		assert.deepEqual(empty.tools.at(-1), { type: "web_search" });
	});

	test("disabled: no tool", async () => {
		const p = await responses();
		const out = rewritePayload(p, plan({ modelId: "gpt-5.4" })) as typeof p;
		assert.equal(out.tools, p.tools);
	});

	test("payload without tools gets a tools array", () => {
		const p = { model: "m", input: [] };
		assert.deepEqual(
			(rewritePayload(p, plan({ modelId: "m", webSearch: { enabled: true } })) as { tools: unknown }).tools,
			[{ type: "web_search" }],
		);
	});

	for (const { api, id, provider } of FAMILY_MODELS.filter((f) => EXPECTED_FAMILY[f.api] !== "openai-responses")) {
		test(`${api}: never gets web_search`, async () => {
			const p = await buildPayload(familyModel(api, id, provider), sampleContext(), "high");
			const out = rewritePayload(p, plan({ modelId: id, webSearch: { enabled: true, contextSize: "high" } })) as Record<
				string,
				unknown
			>;
			assert.equal(JSON.stringify(out).includes('"web_search"'), false);
		});
	}
});

describe("rewritePayload: OpenAI prompt cache", () => {
	test("pi's key is kept, the configured retention added", async () => {
		const p = await buildPayload(familyModel("openai-responses", "gpt-5.4", "openai"), sampleContext(), "high");
		assert.equal(p.prompt_cache_key, "session-1");
		const out = rewritePayload(p, plan({ modelId: "gpt-5.4" })) as Record<string, unknown>;
		assert.equal(out.prompt_cache_key, "session-1");
		assert.equal(out.prompt_cache_retention, "24h");
	});

	test("retention pi set is kept", async () => {
		const p = await buildPayload(familyModel("openai-responses", "gpt-5.4", "openai"), sampleContext(), "high", {
			cacheRetention: "long",
		});
		const out = rewritePayload(
			p,
			plan({ modelId: "gpt-5.4", promptCache: { key: "k", retention: "in_memory" } }),
		) as Record<string, unknown>;
		assert.equal(out.prompt_cache_retention, "24h");
	});

	test("opt-out (pi sent neither field) is respected", async () => {
		for (const api of ["openai-responses", "openai-completions"] as const) {
			const p = await buildPayload(familyModel(api, "gpt-5.4", "openai"), sampleContext(), "high", {
				cacheRetention: "none",
			});
			assert.equal(p.prompt_cache_key, undefined);
			const out = rewritePayload(p, plan({ modelId: "gpt-5.4" })) as Record<string, unknown>;
			assert.equal(out.prompt_cache_key, undefined);
			assert.equal(out.prompt_cache_retention, undefined);
			assert.equal("prompt_cache_retention" in out, "prompt_cache_retention" in p);
		}
	});

	test('cacheRetention "none": pi-ai still sends a key for Azure and Codex Responses; no retention is added', async () => {
		for (const [api, provider] of [
			["azure-openai-responses", "azure-openai-responses"],
			["openai-codex-responses", "openai-codex"],
		] as const) {
			const p = await buildPayload(familyModel(api, "gpt-5.4", provider), sampleContext(), "high", {
				cacheRetention: "none",
			});
			assert.equal(p.prompt_cache_key, "session-1", api);
			const out = rewritePayload(
				p,
				plan({ modelId: "gpt-5.4", promptCache: { key: "k", retention: "24h", off: true } }),
			);
			assert.equal((out as Record<string, unknown>).prompt_cache_retention, undefined, api);
			assert.equal((out as Record<string, unknown>).prompt_cache_key, "session-1", api);
		}
	});

	test("a retention without key gets the stable key", () => {
		const p = { model: "m", input: [], prompt_cache_retention: "24h" };
		assert.equal((rewritePayload(p, plan({ modelId: "m" })) as Record<string, unknown>).prompt_cache_key, "pfx:abc");
	});

	test("retention null: nothing added", () => {
		const p = { model: "m", input: [], prompt_cache_key: "s" };
		const out = rewritePayload(p, plan({ modelId: "m", promptCache: { key: "k", retention: null } }));
		assert.equal(out, p);
	});

	test("not for Anthropic or Google", async () => {
		const p = await buildPayload(
			familyModel("anthropic-messages", "claude-sonnet-4-5", "anthropic"),
			sampleContext(),
			"high",
		);
		assert.equal(
			JSON.stringify(rewritePayload(p, plan({ modelId: "claude-sonnet-4-5" }))).includes("prompt_cache"),
			false,
		);
	});
});

describe("rewritePayload: never throws, passes the unknown through", () => {
	test("garbage in, the same garbage out", () => {
		for (const p of [undefined, null, 0, "", [], {}, { model: "m" }, { input: "x" }, { messages: "x", model: "m" }]) {
			assert.equal(rewritePayload(p, plan({ webSearch: { enabled: true } })), p);
		}
	});

	test("a payload whose getters throw", () => {
		const evil = {
			model: "m",
			input: [],
			get tools(): unknown {
				throw new Error("boom");
			},
		};
		assert.equal(rewritePayload(evil, plan({ webSearch: { enabled: true } })), evil);
	});

	test("malformed nested fields are left alone", () => {
		const p = { model: "m", input: [], reasoning: "high", tools: "nope", prompt_cache_key: 5 };
		const out = rewritePayload(p, plan({ modelId: "m", effort: "low", webSearch: { enabled: true } })) as Record<
			string,
			unknown
		>;
		assert.equal(out.reasoning, "high");
		assert.equal(out.tools, "nope");
		assert.equal(out.prompt_cache_key, 5);
	});
});
