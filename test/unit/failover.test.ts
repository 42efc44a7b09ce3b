import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { callCosts, summarize, summaryLine } from "../../src/accounting.ts";
import { defaultConfig } from "../../src/config.ts";
import {
	classifyFault,
	coolingDown,
	type FailedCall,
	failoverFor,
	failoverOf,
	fallbackRung,
	noteFailover,
	retryRung,
	trailingFailures,
	withFailover,
} from "../../src/failover.ts";
import type { Decision } from "../../src/ladder.ts";
import type { Config } from "../../src/schema.ts";
import { CALL_TYPE, type CallEntry } from "../../src/state.ts";

const SETTINGS = { afterFailures: 2, maxRetryAfterSeconds: 10 };
// oai, oai, ant, chat, chat
const PROVIDERS = ["oai", "oai", "ant", "chat", "chat"];
const NONE: (number | undefined)[] = [];
const rl = (rung: number): FailedCall => ({ rung, error: '429 {"type":"error","error":{"type":"rate_limit_error"}}' });

describe("classifyFault", () => {
	const cases: [string, ReturnType<typeof classifyFault>][] = [
		[
			'429 {"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}',
			{ kind: "rate-limit", status: 429 },
		],
		["429 Rate limit reached for requests", { kind: "rate-limit", status: 429 }],
		['529 {"type":"error","error":{"type":"overloaded_error"}}', { kind: "overloaded", status: 529 }],
		["503 Service Unavailable", { kind: "overloaded", status: 503 }],
		["The model is overloaded, try later", { kind: "overloaded" }],
		["You exceeded your current quota", { kind: "rate-limit" }],
		["429 Too Many Requests; retry-after: 3600", { kind: "rate-limit", status: 429, retryAfterSeconds: 3600 }],
		["rate limited, retry after 1500ms", { kind: "rate-limit", retryAfterSeconds: 1.5 }],
		[
			"429 Rate limit reached for gpt-5.4 on tokens per min. Please try again in 20s.",
			{ kind: "rate-limit", status: 429, retryAfterSeconds: 20 },
		],
		[
			"429 RESOURCE_EXHAUSTED quota exceeded. Please retry in 54.1s.",
			{ kind: "rate-limit", status: 429, retryAfterSeconds: 54.1 },
		],
		[
			"Server requested 3600s retry delay (max: 60s). 429 rate_limit_error",
			{ kind: "rate-limit", status: 429, retryAfterSeconds: 3600 },
		],
		["usage limit reached, try again in 5 hours", { kind: "rate-limit", retryAfterSeconds: 18_000 }],
		["400 invalid_request_error: rate limit field bad", undefined],
		["401 invalid x-api-key", undefined],
		["No API key found for ant", undefined],
		["500 Internal server error", undefined],
		["terminated: other side closed", undefined],
		["", undefined],
	];
	for (const [message, expected] of cases) {
		test(JSON.stringify(message), () => assert.deepEqual(classifyFault(message), expected));
	}
});

describe("fallbackRung: the nearest rung on another provider", () => {
	const cases: {
		from: number;
		providers: string[];
		fallbacks?: (number | undefined)[];
		avoid?: number[];
		to?: number;
	}[] = [
		{ from: 1, providers: PROVIDERS, to: 2 }, // rung 0 is as near, but the same provider
		{ from: 0, providers: PROVIDERS, to: 2 },
		{ from: 2, providers: PROVIDERS, to: 1 }, // a tie between 1 and 3: the stronger side
		{ from: 3, providers: PROVIDERS, to: 2 },
		{ from: 4, providers: PROVIDERS, to: 2 },
		{ from: 2, providers: PROVIDERS, avoid: [1], to: 3 },
		{ from: 1, providers: PROVIDERS, fallbacks: [undefined, 4], to: 4 }, // the configured fallback wins
		{ from: 1, providers: PROVIDERS, fallbacks: [undefined, 0], to: 0 }, // even on the same provider
		{ from: 1, providers: PROVIDERS, fallbacks: [undefined, 9], to: 2 }, // out of range: ignored
		{ from: 1, providers: PROVIDERS, fallbacks: [undefined, 4], avoid: [4], to: 2 },
		{ from: 0, providers: ["oai", "oai", "oai"], to: undefined }, // one provider: nowhere to go
		{ from: 0, providers: ["oai"], to: undefined },
	];
	for (const c of cases) {
		test(`rung ${c.from} of ${c.providers.join(",")}${c.fallbacks ? ` fallbacks ${c.fallbacks}` : ""}${c.avoid ? ` avoiding ${c.avoid}` : ""} → ${c.to}`, () => {
			assert.equal(fallbackRung(c.providers, c.fallbacks ?? NONE, c.from, new Set(c.avoid ?? [])), c.to);
		});
	}
});

describe("retryRung: which rung pi's retry uses", () => {
	const retry = (rung: number, failures: FailedCall[], settings = SETTINGS) =>
		retryRung({ providers: PROVIDERS, fallbacks: NONE, rung, failures, settings });

	test("the first transient fault: the same rung (its cache stays warm)", () => {
		assert.deepEqual(retry(1, [rl(1)]), { rung: 1 });
	});
	test("the second in a row: the nearest other-provider rung, with the cause", () => {
		assert.deepEqual(retry(1, [rl(1), rl(1)]), {
			rung: 2,
			failover: { from: 1, cause: "429 rate-limit on rung 1 (2 in a row)" },
		});
	});
	test("a provider asking to wait too long fails over at once", () => {
		const moved = retry(2, [{ rung: 2, error: "429 Too Many Requests, retry-after: 3600" }]);
		assert.equal(moved.rung, 1);
		assert.equal(moved.failover?.cause, "429 rate-limit on rung 2 (retry-after 3600 s > 10 s)");
		assert.deepEqual(retry(2, [{ rung: 2, error: "429 retry-after: 5" }]), { rung: 2 });
	});
	test("key, request and server errors are never a failover", () => {
		for (const error of ["401 invalid x-api-key", "400 bad request", "500 Internal server error"]) {
			assert.deepEqual(
				retry(1, [
					{ rung: 1, error },
					{ rung: 1, error },
					{ rung: 1, error },
				]),
				{ rung: 1 },
			);
		}
	});
	test("a non-transient failure breaks the row", () => {
		assert.deepEqual(retry(1, [rl(1), { rung: 1, error: "500 oops" }]), { rung: 1 });
	});
	test("after a failover the retry stays on the new rung until it fails over too, never back", () => {
		assert.deepEqual(retry(1, [rl(2), rl(1), rl(1)]), {
			rung: 2,
			failover: { from: 1, cause: "kept rung 2", kept: true },
		});
		// Rung 2 now failed twice as well: rung 1 already failed, so the next other-provider rung is 3.
		assert.deepEqual(retry(1, [rl(2), rl(2), rl(1), rl(1)]), {
			rung: 3,
			failover: { from: 2, cause: "429 rate-limit on rung 2 (2 in a row)" },
		});
	});
	test("afterFailures 0 turns failover off; 1 fails over at the first fault", () => {
		assert.deepEqual(retry(1, [rl(1), rl(1), rl(1)], { ...SETTINGS, afterFailures: 0 }), { rung: 1 });
		assert.equal(retry(1, [rl(1)], { ...SETTINGS, afterFailures: 1 }).rung, 2);
	});
	test("no failures: nothing to do", () => {
		assert.deepEqual(retry(3, []), { rung: 3 });
	});
});

describe("trailingFailures: the failed calls since the last answer, from the session branch", () => {
	const call = (rung: number) => ({ type: "custom", customType: CALL_TYPE, data: { v: 1, rung } });
	const failed = (error: string) => ({
		type: "message",
		message: { role: "assistant", stopReason: "error", errorMessage: error },
	});
	const ok = { type: "message", message: { role: "assistant", stopReason: "toolUse" } };
	const result = { type: "message", message: { role: "toolResult" } };

	test("newest first, each with its call's rung; stops at an answer or a tool result", () => {
		const branch = [call(0), ok, result, call(1), failed("a"), call(1), failed("b"), call(2), failed("c")];
		assert.deepEqual(trailingFailures(branch, CALL_TYPE), [
			{ rung: 2, error: "c" },
			{ rung: 1, error: "b" },
			{ rung: 1, error: "a" },
		]);
		assert.deepEqual(trailingFailures([...branch, call(3), ok], CALL_TYPE), []);
		assert.deepEqual(trailingFailures([call(0), ok, result], CALL_TYPE), []);
	});
	test("a user message ends the chain: a new prompt after a failed run is no retry", () => {
		const branch = [call(1), failed("429"), { type: "message", message: { role: "user" } }];
		assert.deepEqual(trailingFailures(branch, CALL_TYPE), []);
	});
});

describe("failoverFor: the decision for a call, from the config and the branch", () => {
	const config: Config = {
		...defaultConfig(),
		ladder: [{ model: "oai/gpt-big" }, { model: "oai/gpt-mid" }, { model: "ant/claude-sonnet-4-6" }],
	};
	const decision: Decision = { rung: 1, phase: "implementing", reason: "step", step: 1 };
	const call = (rung: number) => ({ type: "custom", customType: CALL_TYPE, data: { v: 1, rung } });
	const err = { type: "message", message: { role: "assistant", stopReason: "error", errorMessage: "529 overloaded" } };

	test("moves the decision and says why; the reason and step stay", () => {
		assert.deepEqual(failoverFor(decision, config, [call(1), err, call(1), err]), {
			...decision,
			rung: 2,
			failover: { from: 1, cause: "529 overloaded on rung 1 (2 in a row)" },
		});
		assert.equal(failoverFor(decision, config, [call(1), err]), decision);
		assert.equal(failoverFor(decision, config, []), decision);
	});
	test("a rung's configured fallback and the failover settings come from the config", () => {
		const withFallback = { ...config, ladder: [...config.ladder.slice(0, 1), { model: "oai/gpt-mid", fallback: 0 }] };
		assert.equal(failoverFor(decision, withFallback, [call(1), err, call(1), err]).rung, 0);
		const off = { ...config, failover: { ...config.failover, afterFailures: 0 } };
		assert.equal(failoverFor(decision, off, [call(1), err, call(1), err]).rung, 1);
	});
	test("withFailover leaves a decision without failures alone", () => {
		assert.equal(
			withFailover(decision, { providers: PROVIDERS, fallbacks: NONE, failures: [], settings: SETTINGS }),
			decision,
		);
	});
});

describe("accounting lists failovers", () => {
	const entry = (data: Partial<CallEntry> & { failover?: unknown }) => ({
		type: "custom",
		customType: CALL_TYPE,
		data: { v: 1, phase: "implementing", reason: "step", thinking: "low", model: "p/m", rung: 0, ...data },
	});
	const answer = (stopReason = "stop") => ({
		type: "message",
		message: { role: "assistant", stopReason, usage: { input: 10, output: 1, cost: { total: 0.001 } } },
	});

	test("in the table and the summary line; a retry kept on the fallback is not a second failover", () => {
		const moved = { from: 1, cause: "429 rate-limit on rung 1 (2 in a row)" };
		const s = summarize(
			callCosts([
				entry({ rung: 1, model: "oai/gpt-mid" }),
				answer("error"),
				entry({ rung: 1, model: "oai/gpt-mid" }),
				answer("error"),
				entry({ rung: 2, model: "ant/claude", failover: moved }),
				answer("error"),
				entry({ rung: 2, model: "ant/claude", failover: { from: 1, cause: "kept rung 2", kept: true } }),
				answer(),
			]),
			undefined,
		);
		assert.deepEqual(s.failovers, [{ ...moved, rung: 2, model: "ant/claude" }]);
		assert.match(
			s.table.join("\n"),
			/failovers:\n {4}rung 1 → 2 \(ant\/claude\): 429 rate-limit on rung 1 \(2 in a row\)/,
		);
		assert.match(summaryLine(s), /, 0 bumps, 1 failover$/);
	});
	test("failoverOf ignores malformed records", () => {
		const base: CallEntry = { v: 1, rung: 0, phase: "implementing", reason: "step", model: "p/m", thinking: "low" };
		assert.equal(failoverOf(base), undefined);
		assert.equal(failoverOf({ ...base, failover: { from: "x" } } as unknown as CallEntry), undefined);
	});
});

describe("cool-down: a rung that failed over stays avoided", () => {
	const config: Config = {
		...defaultConfig(),
		ladder: [{ model: "oai/gpt-big" }, { model: "oai/gpt-mid" }, { model: "ant/claude-sonnet-4-6" }],
	};
	const bump: Decision = { rung: 1, phase: "implementing", reason: "bump", step: 3 };

	test("a failover starts the cool-down of the rung it left; a kept retry or a cool-down move does not", () => {
		const cooling = new Map<number, number>();
		noteFailover(cooling, { ...bump, rung: 2, failover: { from: 1, cause: "kept rung 2", kept: true } }, 0, 60);
		noteFailover(cooling, { ...bump, rung: 2, failover: { from: 1, cause: "rung 1 cooling down (5 s left)" } }, 0, 60);
		noteFailover(cooling, bump, 0, 60);
		assert.equal(cooling.size, 0);
		noteFailover(
			cooling,
			{ ...bump, rung: 2, failover: { from: 1, cause: "429 rate-limit on rung 1 (2 in a row)" } },
			1000,
			60,
		);
		assert.deepEqual([...cooling], [[1, 61_000]]);
		const off = new Map<number, number>();
		noteFailover(off, { ...bump, rung: 2, failover: { from: 1, cause: "x" } }, 0, 0);
		assert.equal(off.size, 0, "coolDownSeconds 0: no cool-down");
	});
	test("while cooling, a call the ladder sends there goes to its fallback; afterwards back to the rung", () => {
		const cooling = new Map([[1, 61_000]]);
		assert.deepEqual(coolingDown(bump, cooling, 1000, config), {
			...bump,
			rung: 2,
			failover: { from: 1, cause: "rung 1 cooling down (60 s left)" },
		});
		assert.equal(coolingDown(bump, cooling, 61_000, config), bump);
		assert.equal(coolingDown({ ...bump, rung: 0 }, cooling, 1000, config).rung, 0, "other rungs are not affected");
	});
	test("a retry that already failed over is left alone", () => {
		const moved: Decision = { ...bump, rung: 2, failover: { from: 1, cause: "x" } };
		assert.equal(coolingDown(moved, new Map([[2, 10_000]]), 0, config), moved);
	});
});

describe("accounting shows the review turn apart", () => {
	const entry = (rung: number, reason: string) => ({
		type: "custom",
		customType: CALL_TYPE,
		data: { v: 1, phase: "implementing", reason, thinking: "low", model: "p/m", rung },
	});
	const answer = (cost: number) => ({
		type: "message",
		message: { role: "assistant", stopReason: "stop", usage: { input: 10, output: 1, cost: { total: cost } } },
	});
	test("the review call and the calls after it until the next prompt", () => {
		const rows = callCosts([
			{ type: "custom_message", customType: "plan-stepdown:implement" },
			entry(1, "kickoff"),
			answer(0.001),
			{ type: "custom_message", customType: "plan-stepdown:review" },
			entry(0, "review"),
			answer(0.01),
			entry(1, "step"),
			answer(0.002),
			{ type: "message", message: { role: "user" } },
			entry(0, "user-turn"),
			answer(0.01),
		]);
		assert.deepEqual(
			rows.map((r) => r.review),
			[false, true, true, false],
		);
		assert.deepEqual(
			rows.map((r) => r.run),
			[0, 0, 0, 1],
			"the review stays in its run",
		);
		const s = summarize(rows, undefined);
		assert.equal(s.review.calls, 2);
		assert.equal(Number(s.review.cost.toFixed(6)), 0.012);
		assert.match(s.table.join("\n"), /review on rung 0: 2 calls, \$0\.0120/);
		assert.match(summaryLine(s), /, 2 review calls \(\$0\.0120\)$/);
	});
});
