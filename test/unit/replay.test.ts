import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { adviceData, adviceLine, ladderAdvice } from "../../src/advice.ts";
import { resolveConfig } from "../../src/config.ts";
import { KICKOFF_TYPE } from "../../src/ladder.ts";
import { registryPrices, replayBranch, replayLines } from "../../src/replay.ts";
import { main, parseCliArgs, piAiPrices } from "../../src/replay-cli.ts";
import type { Config } from "../../src/schema.ts";
import { currentBranch, parseSession, type SessionFileEntry, sessionCalls } from "../../src/session-reader.ts";
import { rungCacheFromBranch } from "../../src/stepping.ts";

const fixture = (name: string) => new URL(`../fixtures/pi-sessions/${name}`, import.meta.url);
const LARGE = fixture("large-session.jsonl");
const CURRENT = fixture("pi-0.73-format.jsonl");
const E2E = fixture("pi-0.73.1-e2e.jsonl");

const configOf = (layer: Record<string, unknown>): Config => {
	const r = resolveConfig([{ source: "test", text: JSON.stringify(layer) }]);
	assert.deepEqual(r.issues, []);
	return r.config;
};
const OPENAI = configOf({
	provider: "openai",
	ladder: [
		{ modelId: "gpt-5.5", thinking: "xhigh" },
		{ modelId: "gpt-5.4", thinking: "high" },
		{ modelId: "gpt-5.4-mini", thinking: "low" },
	],
});
const ANTHROPIC = configOf({
	ladder: [
		{ model: "anthropic/claude-opus-4-6", thinking: "high" },
		{ model: "anthropic/claude-sonnet-4-6", thinking: "high" },
		{ model: "openai/gpt-5.4-mini", thinking: "low" },
	],
});
const prices = piAiPrices();

describe("session reader", () => {
	test("the early id-less format: every entry in order, usage and tool calls", () => {
		const session = parseSession(readFileSync(LARGE, "utf8"));
		assert.equal(session.badLines.length, 0);
		assert.equal(session.header?.modelId, "claude-sonnet-4-5");
		const branch = currentBranch(session.entries);
		assert.equal(branch.length, session.entries.length);
		const calls = sessionCalls(branch);
		assert.equal(calls.length, 453);
		assert.ok(calls.some((c) => c.toolCalls.some((t) => t.name === "bash" && t.command)));
		assert.equal(calls.filter((c) => c.usage.input + c.usage.cacheRead + c.usage.cacheWrite > 0).length, 439);
	});

	test("the current format: the branch the file ends on, up the parent links", () => {
		const session = parseSession(readFileSync(CURRENT, "utf8"));
		assert.equal(session.header?.version, 3);
		const branch = currentBranch(session.entries);
		assert.equal(branch[0]?.parentId, null);
		assert.ok(branch.some((e) => e.type === "compaction"));
		// A torn last line is reported, not fatal; a fork off the middle is not on the branch.
		const text = `${readFileSync(CURRENT, "utf8")}{"type":"message","id":"ffff0001","parentId":"00000003"}\n{"type":`;
		const torn = parseSession(text);
		assert.equal(torn.badLines.length, 1);
		assert.equal(currentBranch(torn.entries).length, 4);
	});
});

describe("replayBranch", () => {
	const large = currentBranch(parseSession(readFileSync(LARGE, "utf8")).entries);

	test("per-call: rung 0 on every user turn, then one step down per call; cache-aware never weaker", () => {
		const perCall = replayBranch(large, OPENAI, prices, { stepping: "per-call" });
		const aware = replayBranch(large, ANTHROPIC, prices, { stepping: "cache-aware" });
		assert.deepEqual(perCall.problems, []);
		assert.equal(perCall.calls, 453);
		assert.deepEqual(perCall.rungs, perCall.ladderRungs);
		assert.deepEqual(perCall.rungs.slice(0, 4), [0, 0, 1, 2]);
		assert.ok(aware.rungs.every((r, i) => r <= (aware.ladderRungs[i] ?? -1)));
		assert.ok(aware.stronger > 0);
		// Measured, not a target: on this interactive session the horizon avoids a cold sonnet that per-call keeps warm.
		const anthropicPerCall = replayBranch(large, ANTHROPIC, prices, { stepping: "per-call" });
		assert.equal(anthropicPerCall.cost.toFixed(4), "17.1345");
		assert.equal(aware.cost.toFixed(4), "18.2591");
		assert.ok(perCall.cost > 0 && perCall.flatCost > perCall.cost);
		assert.ok(Math.abs(perCall.recordedCost - 30.33) < 0.01, String(perCall.recordedCost));
		const lines = replayLines(perCall).join("\n");
		assert.match(lines, /identical tokens/);
		assert.match(lines, /flat rung 0/);
		assert.match(lines, /prompt cache lost to rung switches/);
	});

	test("the extension's own records: planning on rung 0, the kickoff on rung 1, a failed npm test bumps", () => {
		const branch = currentBranch(parseSession(readFileSync(CURRENT, "utf8")).entries);
		const r = replayBranch(branch, OPENAI, prices, { stepping: "per-call" });
		assert.equal(r.calls, 12);
		assert.deepEqual(r.ladderRungs, [0, 0, 1, 2, 2, 2, 1, 2, 1, 2, 0, 1]);
	});

	test("prices from pi's model registry, as the live extension has it", () => {
		const model = {
			provider: "openai",
			id: "gpt-5.4-mini",
			api: "openai-responses",
			cost: { input: 1, output: 2, cacheRead: 0.1, cacheWrite: 0 },
		};
		const lookup = registryPrices({
			find: (p, id) => (p === model.provider && id === model.id ? (model as never) : undefined),
		});
		assert.deepEqual(lookup("openai/gpt-5.4-mini"), { cost: model.cost, api: "openai-responses" });
		assert.equal(lookup("openai/none"), undefined);
		assert.equal(lookup("nope"), undefined);
	});

	test("a session the real pi 0.73.1 wrote in the e2e suite: the plan, the kickoff, the steps down", () => {
		const session = parseSession(readFileSync(E2E, "utf8"));
		assert.equal(session.header?.version, 3);
		const branch = currentBranch(session.entries);
		const r = replayBranch(branch, OPENAI, prices, { stepping: "per-call" });
		assert.deepEqual(r.problems, []);
		assert.deepEqual(r.ladderRungs, [0, 0, 1, 2, 2, 2, 2]);
		const state = rungCacheFromBranch(branch, "medium");
		assert.deepEqual(Object.keys(state.caches).sort(), [
			"oai/gpt-mid:high",
			"oai/gpt-mid:medium",
			"oai/gpt-small:low",
			"oai/gpt-small:medium",
		]);
		assert.deepEqual(state.recentLadder, [0, 0, 1, 2, 3, 4, 4]);
	});

	test("a mode change written while a call is in flight: that call keeps its cache, the next calls get a new prefix", () => {
		let at = 0;
		const state = (mode: string): SessionFileEntry => ({
			type: "custom",
			customType: "plan-stepdown:state",
			data: { v: 1, mode, autoApprove: true },
		});
		const call = (phase: "planning" | "implementing"): SessionFileEntry => ({
			type: "custom",
			customType: "plan-stepdown:call",
			data: { v: 1, rung: 0, phase, reason: phase === "planning" ? "planning" : "step", model: "m", thinking: "t" },
		});
		// The mock's usage: nothing read from cache, so only the replay's own cache model decides the hits.
		const answer = (prompt: number, tool: boolean): SessionFileEntry => {
			at += 10_000;
			return {
				type: "message",
				message: {
					role: "assistant",
					stopReason: tool ? "toolUse" : "stop",
					timestamp: at,
					content: tool ? [{ type: "toolCall", id: `c${at}`, name: "bash", arguments: { command: `ls ${at}` } }] : [],
					usage: { input: prompt, output: 100, cacheRead: 0, cacheWrite: 0 },
				},
			};
		};
		const result = (): SessionFileEntry => ({ type: "message", message: { role: "toolResult", toolCallId: `c${at}` } });
		const branch = (inFlight: boolean): SessionFileEntry[] => {
			at = 0;
			return [
				state("planning"),
				{ type: "message", message: { role: "user", content: "task" } },
				call("planning"),
				answer(10_000, true),
				result(),
				call("planning"),
				...(inFlight ? [state("implementing"), answer(12_000, false)] : [answer(12_000, false), state("implementing")]),
				{ type: "custom_message", customType: KICKOFF_TYPE },
				call("implementing"),
				answer(13_000, true),
				result(),
				call("implementing"),
				answer(14_000, false),
			];
		};
		for (const stepping of ["per-call", "cache-aware"] as const) {
			const inFlight = replayBranch(branch(true), OPENAI, prices, { stepping });
			const after = replayBranch(branch(false), OPENAI, prices, { stepping });
			assert.deepEqual(inFlight.rungs, [0, 0, 1, 2]);
			assert.equal(inFlight.perRung[0]?.cacheRead, 10_000, "the last planning answer reads the planning prefix");
			assert.equal(inFlight.perRung[1]?.cacheRead, 0, "the kickoff starts a new prefix");
			assert.deepEqual(inFlight, after);
		}
	});

	test("a ladder it cannot price says so", () => {
		const r = replayBranch(large, configOf({ ladder: [{ model: "nope/none" }] }), prices);
		assert.match(r.problems.join(), /no prices for "nope\/none"/);
	});
});

describe("ladder advice", () => {
	test("drops the rungs whose lost cache outweighs their prices, with the replayed cost", () => {
		const branch = currentBranch(parseSession(readFileSync(LARGE, "utf8")).entries);
		const advice = ladderAdvice(branch, ANTHROPIC, prices, { stepping: "per-call" });
		assert.equal(advice.verdicts.length, 2);
		assert.ok(advice.suggestedCost <= advice.cost);
		for (const v of advice.verdicts.filter((x) => x.deltaWithout < 0)) {
			assert.ok(advice.lines.some((l) => l.includes(`rung ${v.rung} costs more`)));
		}
		assert.ok(advice.lines.at(-1)?.includes("identical tokens"));
	});

	test("the summary's line and data: the rungs dropped and the replayed cost of the simpler ladder", () => {
		const branch = currentBranch(parseSession(readFileSync(LARGE, "utf8")).entries);
		const advice = ladderAdvice(branch, OPENAI, prices, { stepping: "per-call" });
		assert.deepEqual(advice.suggested, [0, 2], "gpt-5.4 between the two loses more cache than it saves");
		assert.ok(advice.suggestedCost < advice.cost);
		assert.equal(
			adviceLine(advice),
			`plan-stepdown advice: rung 1 costs more in lost cache than it saved; replayed on the same tokens, rungs 0, 2 alone: $${advice.suggestedCost.toFixed(4)} vs $${advice.cost.toFixed(4)} on this ladder (${(((advice.suggestedCost - advice.cost) / advice.cost) * 100).toFixed(1)}%)`,
		);
		assert.match(
			advice.lines.join("\n"),
			/suggested ladder: rungs 0, 2 of the current one \(openai\/gpt-5\.5:xhigh → openai\/gpt-5\.4-mini:low\)/,
		);
		const data = adviceData(advice);
		assert.equal("lines" in data, false);
		assert.deepEqual(data.suggested, [0, 2]);
		// Nothing to say: a one-rung ladder, or a ladder it cannot price (then the data says why).
		const one = ladderAdvice(branch, configOf({ provider: "openai", ladder: [{ modelId: "gpt-5.5" }] }), prices);
		assert.equal(adviceLine(one), undefined);
		const unpriced = ladderAdvice(
			branch,
			configOf({ ladder: [{ model: "nope/none" }, { model: "nope/two" }] }),
			prices,
		);
		assert.equal(adviceLine(unpriced), undefined);
		assert.match(adviceData(unpriced).problems.join(), /no prices for "nope\/none"/);
	});
});

describe("replay CLI", () => {
	test("arguments", () => {
		assert.equal(typeof parseCliArgs([]), "string");
		assert.equal(typeof parseCliArgs(["replay"]), "string");
		assert.deepEqual(parseCliArgs(["replay", "a.jsonl", "--config", "c.json", "--json"]), {
			paths: ["a.jsonl"],
			config: "c.json",
			stepping: undefined,
			json: true,
		});
		assert.match(String(parseCliArgs(["replay", "a", "--stepping", "x"])), /cache-aware or per-call/);
	});

	test("replays a directory of sessions with --config, never reading the real ~/.pi", () => {
		const dir = mkdtempSync(join(tmpdir(), "stepdown-replay-"));
		const config = join(dir, "ladder.json");
		writeFileSync(
			config,
			JSON.stringify({ provider: "openai", ladder: [{ modelId: "gpt-5.5" }, { modelId: "gpt-5.4-mini" }] }),
		);
		const saved = process.env.PI_CODING_AGENT_DIR;
		process.env.PI_CODING_AGENT_DIR = dir;
		const lines: string[] = [];
		try {
			assert.equal(
				main(["replay", new URL("../fixtures/pi-sessions/", import.meta.url).pathname, "--config", config], (l) =>
					lines.push(l),
				),
				0,
			);
		} finally {
			if (saved === undefined) delete process.env.PI_CODING_AGENT_DIR;
			else process.env.PI_CODING_AGENT_DIR = saved;
		}
		const text = lines.join("\n");
		assert.match(text, /large-session\.jsonl/);
		assert.match(text, /pi-0\.73-format\.jsonl/);
		assert.match(text, /all 3 sessions/);
		assert.match(text, /openai\/gpt-5\.4-mini/);
	});
});
