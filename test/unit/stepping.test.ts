import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Prices } from "../../src/accounting.ts";
import { KICKOFF_TYPE } from "../../src/ladder.ts";
import { CALL_TYPE, STATE_TYPE } from "../../src/state.ts";
import {
	cacheHit,
	cacheKey,
	cacheTtlMs,
	callTokens,
	chooseRung,
	type RungInfo,
	rungCacheFromBranch,
	type StepEntry,
	tokensCost,
} from "../../src/stepping.ts";

const MIN = 60_000;
const GPT55: Prices = { input: 5, output: 30, cacheRead: 0.5, cacheWrite: 0 };
const GPT54: Prices = { input: 2.5, output: 15, cacheRead: 0.25, cacheWrite: 0 };
const MINI: Prices = { input: 0.75, output: 4.5, cacheRead: 0.075, cacheWrite: 0 };
const OPUS: Prices = { input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25 };
const SONNET: Prices = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };
const DAY = 24 * 60 * MIN;

const openai: RungInfo[] = [
	{ key: "openai/gpt-5.5:xhigh", prices: GPT55, ttlMs: DAY },
	{ key: "openai/gpt-5.4:high", prices: GPT54, ttlMs: DAY },
	{ key: "openai/gpt-5.4-mini:low", prices: MINI, ttlMs: DAY },
];
const anthropic: RungInfo[] = [
	{ key: "anthropic/claude-opus-4-6:high", prices: OPUS, ttlMs: 5 * MIN },
	{ key: "anthropic/claude-sonnet-4-6:high", prices: SONNET, ttlMs: 5 * MIN },
	{ key: "openai/gpt-5.4-mini:low", prices: MINI, ttlMs: DAY },
];

const NOW = 100 * MIN;
const warm = (prompt: number, ageMs = 15_000) => ({ prompt, at: NOW - ageMs });

interface Row {
	name: string;
	rungs: RungInfo[];
	ladderRung: number;
	caches: Record<string, { prompt: number; at: number }>;
	prompt: number;
	cacheable?: number;
	output?: number;
	growth?: number;
	ahead?: number[];
	horizon?: number;
	want: number;
}

const rows: Row[] = [
	{
		name: "nothing cached anywhere: the ladder's rung",
		rungs: openai,
		ladderRung: 2,
		caches: {},
		prompt: 50_000,
		want: 2,
	},
	{
		name: "the ladder's rung is warm: the ladder's rung",
		rungs: openai,
		ladderRung: 1,
		caches: { "openai/gpt-5.5:xhigh": warm(49_000), "openai/gpt-5.4:high": warm(49_000) },
		prompt: 50_000,
		want: 1,
	},
	{
		name: "rung 0 warm on a long context, rung 1 cold: four calls do not repay the switch, stay on rung 0",
		rungs: openai,
		ladderRung: 1,
		caches: { "openai/gpt-5.5:xhigh": warm(99_000) },
		prompt: 100_000,
		ahead: [1, 1, 1],
		want: 0,
	},
	{
		name: "the same over eight calls: the switch pays off, rung 1",
		rungs: openai,
		ladderRung: 1,
		caches: { "openai/gpt-5.5:xhigh": warm(99_000) },
		prompt: 100_000,
		ahead: [1, 1, 1, 1, 1, 1, 1],
		horizon: 8,
		want: 1,
	},
	{
		name: "rung 0 warm on a long context, rung 1 cold for one call before the ladder moves on: stay on rung 0",
		rungs: openai,
		ladderRung: 1,
		caches: { "openai/gpt-5.5:xhigh": warm(99_000), "openai/gpt-5.4-mini:low": warm(99_000) },
		prompt: 100_000,
		ahead: [2, 2, 2],
		want: 0,
	},
	{
		name: "a tiny context: a cold cheap rung costs little, the ladder's rung",
		rungs: openai,
		ladderRung: 2,
		caches: { "openai/gpt-5.5:xhigh": warm(1_500) },
		prompt: 2_000,
		want: 2,
	},
	{
		name: "Anthropic: a warm opus beats writing the whole prompt to a cold sonnet cache for one call",
		rungs: anthropic,
		ladderRung: 1,
		caches: {
			"anthropic/claude-opus-4-6:high": warm(80_000),
			"openai/gpt-5.4-mini:low": warm(80_000),
		},
		prompt: 81_000,
		ahead: [2, 2, 2],
		want: 0,
	},
	{
		name: "Anthropic: opus's cache expired (6 min): nothing to keep, the ladder's rung",
		rungs: anthropic,
		ladderRung: 1,
		caches: { "anthropic/claude-opus-4-6:high": warm(80_000, 6 * MIN) },
		prompt: 81_000,
		want: 1,
	},
	{
		name: "a compaction left nothing cacheable: the ladder's rung",
		rungs: openai,
		ladderRung: 2,
		caches: { "openai/gpt-5.5:xhigh": warm(150_000) },
		prompt: 20_000,
		cacheable: 0,
		want: 2,
	},
	{
		name: "the ladder says rung 0: rung 0, whatever is warm",
		rungs: openai,
		ladderRung: 0,
		caches: { "openai/gpt-5.4-mini:low": warm(99_000) },
		prompt: 100_000,
		want: 0,
	},
	{
		name: "never weaker than the ladder: a warm cheaper rung below the ladder's is not taken",
		rungs: openai,
		ladderRung: 1,
		caches: { "openai/gpt-5.4-mini:low": warm(99_000), "openai/gpt-5.4:high": warm(50_000) },
		prompt: 100_000,
		want: 1,
	},
	{
		name: "an intermediate warm rung beats both a cold ladder rung and an expensive warm rung 0",
		rungs: openai,
		ladderRung: 2,
		caches: { "openai/gpt-5.5:xhigh": warm(99_000), "openai/gpt-5.4:high": warm(99_000) },
		prompt: 100_000,
		output: 200,
		horizon: 2,
		want: 1,
	},
];

describe("chooseRung: the rule, table-driven", () => {
	for (const row of rows) {
		test(row.name, () => {
			const choice = chooseRung({
				ladderRung: row.ladderRung,
				rungs: row.rungs,
				caches: row.caches,
				now: NOW,
				prompt: row.prompt,
				cacheable: row.cacheable ?? row.prompt - 1_000,
				output: row.output ?? 500,
				growth: row.growth ?? 1_000,
				ahead: row.ahead,
				horizon: row.horizon,
			});
			assert.equal(choice.rung, row.want, choice.why);
			assert.equal(choice.ladderRung, row.ladderRung);
			assert.ok(choice.rung <= row.ladderRung, "never weaker than the ladder");
			assert.equal(choice.estimates.length, row.ladderRung + 1);
			assert.equal(choice.why === "ladder", choice.rung === row.ladderRung);
		});
	}

	test("the horizon: one call sees only the switch; four see the cheaper calls that follow", () => {
		const input = {
			ladderRung: 2,
			rungs: openai,
			caches: { "openai/gpt-5.5:xhigh": warm(59_000) },
			now: NOW,
			prompt: 60_000,
			cacheable: 59_000,
			output: 100,
			growth: 1_000,
			ahead: [2, 2, 2],
		};
		assert.equal(chooseRung({ ...input, horizon: 1 }).rung, 0);
		assert.equal(chooseRung({ ...input, horizon: 4 }).rung, 2);
	});
});

describe("the cost model", () => {
	test("hits: capped by the cacheable prefix, none below 1,024 tokens or past the TTL", () => {
		assert.equal(cacheHit({ prompt: 5_000, at: 0 }, MIN, 1_000, 4_000), 4_000);
		assert.equal(cacheHit({ prompt: 3_000, at: 0 }, MIN, 1_000, 4_000), 3_000);
		assert.equal(cacheHit({ prompt: 1_000, at: 0 }, MIN, 1_000, 4_000), 0);
		assert.equal(cacheHit({ prompt: 5_000, at: 0 }, MIN, MIN, 4_000), 0);
		assert.equal(cacheHit(undefined, MIN, 0, 4_000), 0);
	});

	test("uncached prompt tokens are cache writes where the model charges for them", () => {
		assert.deepEqual(callTokens(OPUS, 10_000, 8_000, 100), {
			input: 0,
			output: 100,
			cacheRead: 8_000,
			cacheWrite: 2_000,
		});
		assert.deepEqual(callTokens(GPT55, 10_000, 8_000, 100), {
			input: 2_000,
			output: 100,
			cacheRead: 8_000,
			cacheWrite: 0,
		});
		assert.equal(tokensCost({ input: 1e6, output: 1e6, cacheRead: 1e6, cacheWrite: 1e6 }, OPUS), 36.75);
	});

	test("TTLs: Anthropic 5 min (1 h long); OpenAI 24 h when asked, else 5 min", () => {
		const anthropicModel = { provider: "anthropic", api: "anthropic-messages" };
		const openaiModel = { provider: "openai", api: "openai-responses" };
		assert.equal(cacheTtlMs(anthropicModel), 5 * MIN);
		assert.equal(cacheTtlMs(anthropicModel, { anthropicLong: true }), 60 * MIN);
		assert.equal(cacheTtlMs(openaiModel, { openaiRetention: "24h" }), DAY);
		assert.equal(cacheTtlMs(openaiModel, { openaiRetention: "in_memory" }), 5 * MIN);
		assert.equal(cacheTtlMs({ provider: "google", api: "google-generative-ai" }), 5 * MIN);
	});
});

describe("rungCacheFromBranch", () => {
	const call = (model: string, thinking: string, phase: "planning" | "implementing" = "implementing"): StepEntry => ({
		type: "custom",
		customType: CALL_TYPE,
		data: { v: 1, rung: 0, phase, reason: "step", model, thinking },
	});
	const answer = (input: number, cacheRead: number, at: number, stopReason = "toolUse"): StepEntry => ({
		type: "message",
		message: {
			role: "assistant",
			provider: "openai",
			model: "gpt-5.5",
			stopReason,
			timestamp: at,
			usage: { input, output: 100, cacheRead, cacheWrite: 0 },
		},
	});

	test("each model and effort keeps the prompt of its last answered call", () => {
		const state = rungCacheFromBranch([
			call("openai/gpt-5.5", "xhigh"),
			answer(10_000, 0, 1_000),
			call("openai/gpt-5.4", "high"),
			answer(11_000, 0, 2_000),
			call("openai/gpt-5.4", "medium"),
			answer(12_000, 0, 3_000),
			call("openai/gpt-5.4", "high"),
			answer(2_000, 11_000, 4_000, "error"),
		]);
		assert.deepEqual(state.caches, {
			[cacheKey("openai/gpt-5.5", "xhigh")]: { prompt: 10_000, at: 1_000 },
			[cacheKey("openai/gpt-5.4", "high")]: { prompt: 11_000, at: 2_000 },
			[cacheKey("openai/gpt-5.4", "medium")]: { prompt: 12_000, at: 3_000 },
		});
		assert.equal(state.lastPrompt, 12_000);
		assert.equal(state.growth, 1_000);
		assert.equal(state.output, 100);
	});

	test("calls we did not route are keyed on the message's model and the session's thinking level", () => {
		const state = rungCacheFromBranch(
			[answer(5_000, 0, 1), { type: "thinking_level_change", thinkingLevel: "high" }, answer(1_000, 5_000, 2)],
			"low",
		);
		assert.deepEqual(Object.keys(state.caches).sort(), ["openai/gpt-5.5:high", "openai/gpt-5.5:low"]);
	});

	for (const [what, breaker] of [
		["a compaction", { type: "compaction" }],
		["a branch summary", { type: "branch_summary" }],
		["the kickoff", { type: "custom_message", customType: KICKOFF_TYPE }],
		[
			"a change of mode",
			{ type: "custom", customType: STATE_TYPE, data: { v: 1, mode: "planning", autoApprove: false } },
		],
	] as const) {
		test(`${what} empties every cache`, () => {
			const state = rungCacheFromBranch([call("openai/gpt-5.5", "xhigh"), answer(10_000, 0, 1), breaker]);
			assert.deepEqual(state.caches, {});
			assert.equal(state.lastPrompt, undefined);
		});
	}

	test("a change of phase between two calls empties every cache", () => {
		const state = rungCacheFromBranch([
			call("openai/gpt-5.5", "xhigh", "planning"),
			answer(10_000, 0, 1),
			call("openai/gpt-5.4", "high", "implementing"),
		]);
		assert.deepEqual(state.caches, {});
	});

	test("pi's ISO entry timestamps stand in when a message has none", () => {
		const entry: StepEntry = {
			type: "message",
			timestamp: "2025-11-20T23:33:54.572Z",
			message: { role: "assistant", provider: "anthropic", model: "m", usage: { input: 2_000 } },
		};
		const state = rungCacheFromBranch([entry]);
		assert.equal(state.lastAt, Date.parse("2025-11-20T23:33:54.572Z"));
	});
});
