import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { resolveConfig } from "../../src/config.ts";
import { replayBranch, replayLines } from "../../src/replay.ts";
import { piAiPrices } from "../../src/replay-cli.ts";
import { currentBranch, parseSession } from "../../src/session-reader.ts";
import { parseStepdownArgs, replayCommand, replayConfigPath, splitArgs } from "../../src/stepdown-command.ts";

describe("/stepdown arguments", () => {
	const cases: [string, ReturnType<typeof parseStepdownArgs>][] = [
		["", { kind: "report" }],
		["   ", { kind: "report" }],
		["replay", { kind: "replay", file: undefined, stepping: undefined }],
		["replay other.json", { kind: "replay", file: "other.json", stepping: undefined }],
		["replay  other.json --stepping per-call", { kind: "replay", file: "other.json", stepping: "per-call" }],
		["replay --stepping cache-aware", { kind: "replay", file: undefined, stepping: "cache-aware" }],
		['replay "my dir/a b.json"', { kind: "replay", file: "my dir/a b.json", stepping: undefined }],
	];
	for (const [args, expected] of cases) {
		test(`"${args}"`, () => assert.deepEqual(parseStepdownArgs(args), expected));
	}
	const invalid: [string, RegExp][] = [
		["nonsense", /unknown argument "nonsense"\nusage: \/stepdown/],
		["replay --stepping", /--stepping: expected per-call or cache-aware, found nothing/],
		["replay --stepping fast", /found fast/],
		["replay --json", /unknown option --json/],
		["replay a.json b.json", /one config file, found "a.json" and "b.json"/],
	];
	for (const [args, message] of invalid) {
		test(`refuses "${args}"`, () => {
			const r = parseStepdownArgs(args);
			assert.equal(r.kind, "invalid");
			assert.match((r as { message: string }).message, message);
		});
	}
	test("quotes keep spaces; the config path is relative to the session's directory", () => {
		assert.deepEqual(splitArgs(`replay 'a b' "c d" e`), ["replay", "a b", "c d", "e"]);
		assert.equal(replayConfigPath("x/other.json", "/proj"), "/proj/x/other.json");
		assert.equal(replayConfigPath("/abs/other.json", "/proj"), "/abs/other.json");
	});
});

describe("/stepdown replay", () => {
	const branch = currentBranch(
		parseSession(readFileSync(new URL("../fixtures/pi-sessions/pi-0.73-format.jsonl", import.meta.url), "utf8"))
			.entries,
	);
	const layer = (config: Record<string, unknown>) =>
		resolveConfig([{ source: "other.json", text: JSON.stringify(config) }]);
	const OPENAI = layer({
		provider: "openai",
		ladder: [
			{ modelId: "gpt-5.5", thinking: "xhigh" },
			{ modelId: "gpt-5.4-mini", thinking: "low" },
		],
	});
	const options = { stepping: undefined, sessionThinking: "medium", label: "other.json" };

	test("the CLI's lines on the same core, with the honesty note", () => {
		const r = replayCommand(branch, OPENAI, piAiPrices(), { ...options, stepping: "per-call" });
		assert.equal(r.ok, true);
		const expected = replayBranch(branch, OPENAI.config, piAiPrices(), {
			stepping: "per-call",
			sessionThinking: "medium",
		});
		assert.deepEqual(r.lines, replayLines(expected, "other.json"));
		assert.match(r.lines[0] ?? "", /^replay on other\.json \(per-call stepping\): 12 calls/);
		assert.match(r.lines.join("\n"), /identical tokens on every rung/);
	});

	test("refuses an invalid config, a ladder it cannot price, and a branch without calls", () => {
		const bad = replayCommand(branch, layer({ ladder: "nope" }), piAiPrices(), options);
		assert.equal(bad.ok, false);
		assert.match(bad.lines.join("\n"), /config errors:\n {2}✗ other\.json/);
		const unpriced = replayCommand(branch, layer({ ladder: [{ model: "nope/none" }] }), piAiPrices(), options);
		assert.equal(unpriced.ok, false);
		assert.match(unpriced.lines[0] ?? "", /^\/stepdown replay: ladder\[0\]: no prices for "nope\/none"/);
		const empty = replayCommand([], OPENAI, piAiPrices(), options);
		assert.deepEqual(empty, { ok: false, lines: ["/stepdown replay: no LLM calls on this branch yet"] });
	});
});
