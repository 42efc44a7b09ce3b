import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
	closest,
	DEFAULTS_SOURCE,
	defaultConfig,
	editDistance,
	formatIssue,
	type LayerInput,
	parseLayer,
	readLayers,
	resolveConfig,
} from "../../src/config.ts";
import { PREDECESSOR_CONFIG } from "../helpers/predecessor.ts";

const layer = (source: string, value: unknown): LayerInput => ({ source, text: JSON.stringify(value) });
const messages = (layers: LayerInput[]) => resolveConfig(layers).issues.map(formatIssue);

describe("defaults", () => {
	test("built-in defaults", () => {
		const c = defaultConfig();
		assert.deepEqual(c.ladder, []);
		assert.deepEqual(c.tools.plan, ["read", "bash", "grep", "find", "ls"]);
		assert.deepEqual(c.tools.implementation, ["read", "bash", "edit", "write", "grep", "find", "ls"]);
		assert.equal(c.reasoningBump.bumpOnFailedBash, true);
		assert.deepEqual(c.reasoningBump.packageManagerCommands, ["npm", "pnpm", "yarn", "bun"]);
		assert.equal(c.openaiPromptCache.retention, "24h");
		assert.equal(c.openaiWebSearch.enabled, true);
		assert.equal(c.openaiWebSearch.locationEnabled, false, "location is off by default (privacy)");
		assert.equal(c.accounting.summary, true);
	});

	test("no files: defaults, every value from the defaults", () => {
		const r = resolveConfig([
			{ source: "g", text: undefined },
			{ source: "p", text: undefined },
		]);
		assert.deepEqual(r.config, defaultConfig());
		assert.deepEqual(r.issues, []);
		assert.deepEqual(r.sources, [DEFAULTS_SOURCE]);
		assert.ok(Object.values(r.origins).every((s) => s === DEFAULTS_SOURCE));
	});
});

describe("merge: objects merge, arrays replace", () => {
	test("later layers win key by key", () => {
		const r = resolveConfig([
			layer("global", {
				provider: "openai",
				ladder: [{ modelId: "a" }, { modelId: "b" }],
				openaiWebSearch: { enabled: false },
			}),
			layer("project", { ladder: [{ modelId: "c" }], openaiWebSearch: { locationEnabled: true } }),
			layer("cli", { tools: { plan: ["read"] } }),
		]);
		assert.deepEqual(r.issues, []);
		assert.deepEqual(r.config.ladder, [{ modelId: "c" }], "arrays replace");
		assert.equal(r.config.provider, "openai");
		assert.deepEqual(r.config.openaiWebSearch, { enabled: false, locationEnabled: true }, "objects merge");
		assert.deepEqual(r.config.tools.plan, ["read"]);
		assert.deepEqual(r.config.tools.implementation, defaultConfig().tools.implementation);
		assert.deepEqual(r.sources, [DEFAULTS_SOURCE, "global", "project", "cli"]);
		assert.equal(r.origins["/ladder"], "project");
		assert.equal(r.origins["/provider"], "global");
		assert.equal(r.origins["/openaiWebSearch/enabled"], "global");
		assert.equal(r.origins["/openaiWebSearch/locationEnabled"], "project");
		assert.equal(r.origins["/tools/plan"], "cli");
		assert.equal(r.origins["/tools/implementation"], DEFAULTS_SOURCE);
	});

	test("an array replacing a longer array forgets its items' origins", () => {
		const r = resolveConfig([
			layer("a", { reasoningBump: { packageManagerCommands: ["npm", "x"] } }),
			layer("b", { reasoningBump: { packageManagerCommands: [] } }),
		]);
		assert.deepEqual(r.config.reasoningBump.packageManagerCommands, []);
		assert.equal(r.origins["/reasoningBump/packageManagerCommands"], "b");
	});

	test("null retention overrides the default", () => {
		const r = resolveConfig([layer("p", { openaiPromptCache: { retention: null } })]);
		assert.equal(r.config.openaiPromptCache.retention, null);
		assert.equal(r.config.openaiPromptCache.keyPrefix, "pi-plan-stepdown:");
	});

	test("$schema is accepted and ignored", () => {
		const r = resolveConfig([layer("p", { $schema: "./plan-stepdown.schema.json", ladder: [{ model: "a/b" }] })]);
		assert.deepEqual(r.issues, []);
		assert.equal("$schema" in r.config, false);
	});

	test("pi-model-staging's config works unchanged", () => {
		const r = resolveConfig([layer(".pi/plan-stepdown.json", PREDECESSOR_CONFIG)]);
		assert.deepEqual(r.issues, []);
		assert.equal(r.config.ladder.length, 5);
		assert.equal(r.config.openaiPromptCache.keyPrefix, "pi-model-staging:");
	});

	test("both rung forms in one ladder", () => {
		const r = resolveConfig([
			layer("p", {
				provider: "openai",
				ladder: [
					{ model: "anthropic/claude-opus-4-6", thinking: "high" },
					{ modelId: "gpt-5.4" },
					{ provider: "google", modelId: "gemini-2.5-flash", thinking: "off" },
				],
			}),
		]);
		assert.deepEqual(r.issues, []);
	});

	test("a bad layer is skipped, the others still apply", () => {
		const r = resolveConfig([layer("g", { openaiWebSearch: { enabled: false } }), { source: "p", text: "{" }]);
		assert.equal(r.config.openaiWebSearch.enabled, false);
		assert.equal(r.issues.length, 1);
		assert.deepEqual(r.sources, [DEFAULTS_SOURCE, "g"]);
	});
});

describe("every error names the file, the JSON path, what was expected and what was found", () => {
	const cases: [string, unknown, string[]][] = [
		[
			"bad thinking",
			{ ladder: [{ model: "a/b", thinking: "max" }] },
			['f.json /ladder/0/thinking: expected one of "off", "minimal", "low", "medium", "high", "xhigh", found "max"'],
		],
		[
			"bad web search size",
			{ ladder: [{ model: "a/b", webSearchContextSize: 3 }] },
			['f.json /ladder/0/webSearchContextSize: expected one of "low", "medium", "high", "off", found 3'],
		],
		["ladder not an array", { ladder: {} }, ["f.json /ladder: expected an array of object, found an object"]],
		[
			"tools not strings",
			{ tools: { plan: ["read", 1] } },
			["f.json /tools/plan/1: expected a non-empty string, found 1"],
		],
		[
			"empty tool name",
			{ tools: { implementation: [""] } },
			['f.json /tools/implementation/0: expected a non-empty string, found ""'],
		],
		[
			"boolean expected",
			{ reasoningBump: { bumpOnFailedBash: "yes" } },
			['f.json /reasoningBump/bumpOnFailedBash: expected true or false, found "yes"'],
		],
		[
			"retention",
			{ openaiPromptCache: { retention: "1h" } },
			['f.json /openaiPromptCache/retention: expected one of "24h", "in_memory", null, found "1h"'],
		],
		[
			"unknown top-level field with a suggestion",
			{ ladderr: [] },
			[
				'f.json /ladderr: unknown field "ladderr" (did you mean "ladder"?); expected one of $schema, provider, ladder, tools, planBash, reasoningBump, escalation, failover, review, openaiPromptCache, openaiWebSearch, stepping, accounting',
			],
		],
		[
			"unknown nested field",
			{ openaiWebSearch: { enabld: true } },
			[
				'f.json /openaiWebSearch/enabld: unknown field "enabld" (did you mean "enabled"?); expected one of enabled, locationEnabled',
			],
		],
		[
			"unknown rung field",
			{ ladder: [{ model: "a/b", modelID: "x" }] },
			[
				'f.json /ladder/0/modelID: unknown field "modelID" (did you mean "modelId"?); expected one of model, modelId, provider, thinking, webSearchContextSize, fallback',
			],
		],
		[
			"model without slash",
			{ ladder: [{ model: "gpt-5" }] },
			['f.json /ladder/0/model: expected "provider/id", found "gpt-5"'],
		],
		[
			"rung with no model",
			{ ladder: [{ thinking: "low" }] },
			['f.json /ladder/0: expected "model": "provider/id" or "modelId", found neither'],
		],
		[
			"modelId without any provider",
			{ ladder: [{ modelId: "gpt-5.4" }] },
			[
				'f.json /ladder/0/modelId: modelId "gpt-5.4" needs a provider: set "provider" (top level or on the rung), or use "model": "provider/id"',
			],
		],
		["not an object", [1, 2], ["f.json: expected a JSON object, found an array"]],
		["a string", "ladder", ['f.json: expected a JSON object, found "ladder"']],
		[
			"several at once",
			{ provider: 3, ladder: [{ model: "a/b", thinking: 1 }], tools: 5 },
			[
				"f.json /provider: expected a non-empty string, found 3",
				'f.json /ladder/0/thinking: expected one of "off", "minimal", "low", "medium", "high", "xhigh", found 1',
				"f.json /tools: expected an object, found 5",
			],
		],
	];
	for (const [name, value, expected] of cases) {
		test(name, () => assert.deepEqual(messages([layer("f.json", value)]), expected));
	}

	test("invalid JSON", () => {
		const [message] = messages([{ source: "f.json", text: '{ "ladder": [ }' }]);
		assert.match(message, /^f\.json: invalid JSON: /);
	});

	test("--stepdown-config that does not exist", () => {
		assert.deepEqual(messages([{ source: "ops.json", text: undefined, required: true }]), ["ops.json: file not found"]);
	});

	test("the provider may come from another layer", () => {
		assert.deepEqual(
			messages([layer("g", { provider: "openai" }), layer("p", { ladder: [{ modelId: "gpt-5.4" }] })]),
			[],
		);
	});

	test("parseLayer returns the layer's own values only", () => {
		assert.deepEqual(parseLayer(layer("f", { provider: "x" })).value, { provider: "x" });
	});
});

describe("closest / editDistance", () => {
	test("edit distance", () => {
		assert.equal(editDistance("kitten", "sitting"), 3);
		assert.equal(editDistance("", "abc"), 3);
		assert.equal(editDistance("same", "same"), 0);
	});
	test("suggests near names, best first, none when far", () => {
		assert.deepEqual(closest("gpt-5.44", ["gpt-5.4", "gpt-5.4-mini", "o3", "claude-opus-4-6"]), ["gpt-5.4"]);
		assert.deepEqual(closest("opnai", ["openai", "anthropic"]), ["openai"]);
		assert.deepEqual(closest("zzz", ["openai", "anthropic"]), []);
	});
});

describe("readLayers: the files and their order", () => {
	test("global < project < cli, missing files are absent", (t) => {
		const dir = mkdtempSync(join(tmpdir(), "psd-config-"));
		t.after(() => rmSync(dir, { recursive: true, force: true }));
		const agent = join(dir, "agent");
		const cwd = join(dir, "project");
		mkdirSync(agent);
		mkdirSync(join(cwd, ".pi"), { recursive: true });
		writeFileSync(join(agent, "plan-stepdown.json"), JSON.stringify({ provider: "g" }));
		writeFileSync(join(cwd, ".pi", "plan-stepdown.json"), JSON.stringify({ provider: "p" }));
		const cli = join(dir, "ops.json");
		writeFileSync(cli, JSON.stringify({ provider: "c" }));
		const layers = readLayers(agent, cwd, cli);
		assert.deepEqual(
			layers.map((l) => l.source),
			[join(agent, "plan-stepdown.json"), join(cwd, ".pi", "plan-stepdown.json"), cli],
		);
		assert.equal(resolveConfig(layers).config.provider, "c");
		assert.equal(resolveConfig(readLayers(agent, cwd, undefined)).config.provider, "p");
		const none = readLayers(join(dir, "nope"), join(dir, "nope"), undefined);
		assert.deepEqual(
			none.map((l) => l.text),
			[undefined, undefined],
		);
		assert.deepEqual(resolveConfig(readLayers(agent, cwd, join(dir, "missing.json"))).issues.map(formatIssue), [
			`${join(dir, "missing.json")}: file not found`,
		]);
	});
});
