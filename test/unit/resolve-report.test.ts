import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Api, Model } from "@mariozechner/pi-ai";
import { attach, detach } from "../../src/attach.ts";
import { type ResolvedConfig, resolveConfig } from "../../src/config.ts";
import { rungViews, statusText, stepdownReport } from "../../src/report.ts";
import { callThinking, type RegistryLike, resolveLadder, routeCall, rungRef } from "../../src/resolve.ts";
import type { Config } from "../../src/schema.ts";
import { familyModel } from "../helpers/payloads.ts";

const model = (provider: string, id: string, extra: Partial<Model<Api>> = {}) =>
	familyModel((extra.api ?? "openai-responses") as Api, id, provider, extra);

function registry(models: Model<Api>[], withoutKey: string[] = []): RegistryLike {
	return {
		find: (p, id) => models.find((m) => m.provider === p && m.id === id),
		getAll: () => models,
		hasConfiguredAuth: (m) => !withoutKey.includes(m.provider),
	};
}

const MODELS = [
	model("openai", "gpt-5.5", { thinkingLevelMap: { xhigh: "xhigh" } }),
	model("openai", "gpt-5.4"),
	model("openai", "gpt-5.4-mini"),
	model("anthropic", "claude-sonnet-4-5", { api: "anthropic-messages" }),
	model("local", "plain", { reasoning: false }),
];

const config = (value: unknown): Config => {
	const r = resolveConfig([{ source: "t", text: JSON.stringify(value) }]);
	assert.deepEqual(r.issues, []);
	return r.config;
};

describe("rungRef", () => {
	test("model wins, modelId takes the rung's or the top-level provider", () => {
		assert.deepEqual(rungRef({ model: "a/b/c" }, {}), { provider: "a", id: "b/c" });
		assert.deepEqual(rungRef({ model: "a/b", modelId: "x", provider: "y" }, { provider: "z" }), {
			provider: "a",
			id: "b",
		});
		assert.deepEqual(rungRef({ modelId: "x", provider: "y" }, { provider: "z" }), { provider: "y", id: "x" });
		assert.deepEqual(rungRef({ modelId: "x" }, { provider: "z" }), { provider: "z", id: "x" });
		assert.equal(rungRef({ modelId: "x" }, {}), undefined);
	});
});

describe("resolveLadder", () => {
	test("resolves both forms and clamps thinking to the model", () => {
		const r = resolveLadder(
			config({
				provider: "openai",
				ladder: [
					{ modelId: "gpt-5.5", thinking: "xhigh", webSearchContextSize: "high" },
					{ modelId: "gpt-5.4", thinking: "xhigh" },
					{ model: "anthropic/claude-sonnet-4-5", thinking: "minimal" },
					{ model: "local/plain", thinking: "high" },
					{ model: "openai/gpt-5.4-mini" },
				],
			}),
			registry(MODELS),
		);
		assert.deepEqual(r.problems, []);
		assert.deepEqual(
			r.rungs.map((x) => [x.index, `${x.model.provider}/${x.model.id}`, x.thinking, x.webSearchContextSize]),
			[
				[0, "openai/gpt-5.5", "xhigh", "high"],
				[1, "openai/gpt-5.4", "high", undefined], // no xhigh mapping: clamped down
				[2, "anthropic/claude-sonnet-4-5", "minimal", undefined],
				[3, "local/plain", "off", undefined], // not a reasoning model
				[4, "openai/gpt-5.4-mini", undefined, undefined], // the session's level
			],
		);
	});

	test("unknown model: closest ids suggested", () => {
		const r = resolveLadder(config({ ladder: [{ model: "openai/gpt-5.44" }] }), registry(MODELS));
		assert.deepEqual(r.problems, [
			'ladder[0]: unknown model "openai/gpt-5.44" (closest: openai/gpt-5.4, openai/gpt-5.5); see `pi --list-models openai`',
		]);
	});

	test("unknown provider: closest providers suggested", () => {
		const r = resolveLadder(config({ ladder: [{ model: "opnai/gpt-5.4" }] }), registry(MODELS));
		assert.deepEqual(r.problems, [
			'ladder[0]: unknown provider "opnai" (did you mean "openai"?); see `pi --list-models`',
		]);
	});

	test("missing key", () => {
		const r = resolveLadder(
			config({ ladder: [{ model: "anthropic/claude-sonnet-4-5" }] }),
			registry(MODELS, ["anthropic"]),
		);
		assert.deepEqual(r.problems, [
			'ladder[0]: no API key for provider "anthropic" (set ANTHROPIC_API_KEY, add an apiKey for "anthropic" to models.json, or /login)',
		]);
		assert.deepEqual(r.rungs, []);
	});

	test("callThinking: the rung's level, else the session's clamped", () => {
		assert.equal(callThinking({ thinking: "low" }, MODELS[0], "high"), "low");
		assert.equal(callThinking({ thinking: undefined }, MODELS[1], "xhigh"), "high");
		assert.equal(callThinking({ thinking: undefined }, MODELS[4], "high"), "off");
		assert.equal(callThinking({ thinking: undefined }, MODELS[1], undefined), "off");
	});
});

describe("statusText", () => {
	test("in flight and idle", () => {
		assert.equal(
			statusText("implementing", "implementing", 2, 5, "anthropic/claude-sonnet-4-5", "high", true),
			"▶ impl [2/5] anthropic/claude-sonnet-4-5:high",
		);
		assert.equal(
			statusText("planning", undefined, 0, 5, "openai/gpt-5.5", "xhigh", false),
			"⏸ plan [0/5] openai/gpt-5.5:xhigh",
		);
		assert.equal(statusText("planning", "implementing", 1, 3, "a/b", "low", true), "▶ impl [1/3] a/b:low");
		assert.equal(statusText("off", undefined, 0, 5, "a/b", "low", false), undefined);
	});
});

describe("stepdownReport", () => {
	/** The report with the mode off, no ladder and no calls: what the config alone gives. */
	const offReport = (resolved: ResolvedConfig) =>
		stepdownReport({
			mode: "off",
			autoApprove: false,
			cursor: 0,
			resolved,
			rungs: [],
			problems: [],
			lastCall: undefined,
		});

	test("mode, cursor, ladder with the live rung, config with the file that set each value, errors", () => {
		const resolved = resolveConfig([
			{ source: "/home/u/.pi/agent/plan-stepdown.json", text: JSON.stringify({ provider: "openai" }) },
			{
				source: "/p/.pi/plan-stepdown.json",
				text: JSON.stringify({ ladder: [{ modelId: "gpt-5.5" }], tools: { plan: 1 } }),
			},
		]);
		const text = stepdownReport({
			mode: "implementing",
			autoApprove: false,
			cursor: 1,
			resolved,
			rungs: [
				{ index: 0, label: "openai/gpt-5.5", thinking: "xhigh", webSearch: "high" },
				{ index: 1, label: "openai/gpt-5.4", thinking: "high", webSearch: "default" },
				{ index: 2, label: "anthropic/claude-sonnet-4-5", thinking: "high" },
			],
			problems: ["ladder[2]: unknown model"],
			lastCall: { v: 1, rung: 1, phase: "implementing", reason: "kickoff", model: "openai/gpt-5.4", thinking: "high" },
			costs: ["cost table"],
			advice: ["ladder advice …"],
		});
		assert.match(text, /^plan-stepdown: mode implementing, cursor 1$/m);
		assert.match(text, /^last call: rung 1 openai\/gpt-5\.4:high \(kickoff\)$/m);
		assert.match(text, /^ {2}\[0\] openai\/gpt-5\.5:xhigh {2}web_search high$/m);
		assert.match(text, /^▶ \[1\] openai\/gpt-5\.4:high {2}web_search default$/m);
		assert.match(text, /✗ ladder\[2\]: unknown model/);
		assert.match(text, /^ {2}\[2\] anthropic\/claude-sonnet-4-5:high$/m, "no web_search on a rung whose API has none");
		assert.match(text, /\/provider = "openai" {2}← \/home\/u\/\.pi\/agent\/plan-stepdown\.json/);
		assert.match(text, /\/openaiWebSearch\/enabled = true {2}← built-in defaults/);
		assert.match(
			text,
			/✗ \/p\/\.pi\/plan-stepdown\.json \/tools\/plan: expected an array of non-empty strings, found 1/,
		);
		assert.match(text, /^cost table\n\nladder advice …$/m, "the advice after the cost table");
	});

	test("errors lead, then mode and cursor, ladder, steps and costs, then the config", () => {
		const resolved = resolveConfig([
			{ source: "/p/.pi/plan-stepdown.json", text: JSON.stringify({ tools: { plan: 1 } }) },
		]);
		const text = stepdownReport({
			mode: "implementing",
			autoApprove: false,
			cursor: 2,
			resolved,
			rungs: [{ index: 0, label: "openai/gpt-5.5", thinking: "high" }],
			problems: ["ladder[1]: unknown model"],
			lastCall: undefined,
			failure: { rung: 2, model: "p/m2", error: "500 boom" },
			steps: ["plan: 0/1 steps done"],
			costs: ["cost by rung (this branch):"],
			protection: "plan-mode bash: parsed",
		});
		const at = (line: string | RegExp) => {
			const i = text.split("\n").findIndex((l) => (typeof line === "string" ? l === line : line.test(l)));
			assert.ok(i >= 0, `no ${line} in:\n${text}`);
			return i;
		};
		const order = [
			at("plan-stepdown errors:"),
			at(/^ {2}✗ \/p\/\.pi\/plan-stepdown\.json \/tools\/plan: expected/),
			at("  ✗ ladder[1]: unknown model"),
			at("  ✗ the last call failed: rung 2 p/m2: 500 boom"),
			at("plan-stepdown: mode implementing, cursor 2"),
			at("ladder:"),
			at("plan: 0/1 steps done"),
			at("cost by rung (this branch):"),
			at("plan-mode bash: parsed"),
			at("config (value ← file that set it):"),
		];
		assert.deepEqual(
			order,
			[...order].sort((a, b) => a - b),
		);
		assert.equal(order[0], 0, "the errors come first");
		const refused = offReport(resolved);
		assert.match(refused, /\(none: a config file with errors is not used; fix the errors above\)/);
		assert.doesNotMatch(refused, /every call uses the model you had/);
	});

	test("no errors: the report starts with the mode", () => {
		const text = offReport(resolveConfig([]));
		assert.match(text, /^plan-stepdown: mode off, cursor 0\n/);
		assert.doesNotMatch(text, /errors/);
	});

	test("empty ladder is explained", () => {
		const text = offReport(resolveConfig([]));
		assert.match(text, /empty: every call uses the model you had when you entered \/plan/);
	});
});

describe("rungViews", () => {
	const rungs = resolveLadder(
		config({
			ladder: [
				{ model: "openai/gpt-5.5", webSearchContextSize: "high" },
				{ model: "openai/gpt-5.4" },
				{ model: "anthropic/claude-sonnet-4-5" },
			],
		}),
		registry(MODELS),
	).rungs;
	const cfg = config({});
	test("web search as it will be sent: per rung, the environment's switch applied, none where the API has none", () => {
		assert.deepEqual(
			rungViews(rungs, cfg, {}).map((v) => v.webSearch),
			["high", "default", undefined],
		);
		assert.deepEqual(
			rungViews(rungs, cfg, { PI_OPENAI_WEB_SEARCH: "0" }).map((v) => v.webSearch),
			["off", "off", undefined],
		);
	});
});

describe("routeCall", () => {
	const decision = { rung: 1, phase: "implementing" as const, reason: "kickoff" as const, step: 0 };
	const ladder = resolveLadder(
		config({
			ladder: [
				{ model: "openai/gpt-5.5", thinking: "xhigh" },
				{ model: "openai/gpt-5.4", webSearchContextSize: "low" },
			],
		}),
		registry(MODELS),
	);
	test("the rung's model, effort and web search", () => {
		const plan = routeCall(decision, true, MODELS[4], "medium", ladder);
		assert.ok(typeof plan !== "string");
		assert.equal(plan.model, MODELS[1]);
		assert.equal(plan.thinking, "medium", "no rung thinking: the session's level, clamped");
		assert.equal(plan.webSearchContextSize, "low");
		assert.equal(plan.loop, true);
	});
	test("no ladder: the user's own model at the session's level", () => {
		const plan = routeCall({ ...decision, rung: 0 }, false, MODELS[4], "high", undefined);
		assert.ok(typeof plan !== "string");
		assert.equal(plan.model, MODELS[4]);
		assert.equal(plan.thinking, "off");
	});
	test("a rung that did not resolve: the reason", () => {
		assert.equal(
			routeCall({ ...decision, rung: 7 }, true, MODELS[0], "high", ladder),
			"plan-stepdown: rung 7 unavailable: the ladder has 2 rungs",
		);
	});
	test("a rung that is the attached model itself is called as its real provider knows it", () => {
		const own = model("openai", "gpt-5.5");
		const attachedLadder = resolveLadder(config({ ladder: [{ model: "openai/gpt-5.5" }] }), registry([own]));
		attach(own);
		try {
			const plan = routeCall({ ...decision, rung: 0 }, true, own, "high", attachedLadder);
			assert.ok(typeof plan !== "string");
			assert.equal(plan.model.api, "openai-responses");
			assert.notEqual(plan.model, own);
		} finally {
			detach(own);
		}
	});
});
