/**
 * The bench on tiny sizes: the result structure, the structural invariants of the rewrite (the history is neither
 * copied nor walked) and the trace's deterministic cost figures. No timing assertions.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, test } from "node:test";
import type { Api, Model } from "@mariozechner/pi-ai";
import { getModel } from "@mariozechner/pi-ai";
import { promptTokens } from "../../src/accounting.ts";
import { detectFamily, rewritePayload, type WirePlan } from "../../src/rewrite.ts";
import { buildPayload, familyModel, sampleContext } from "../helpers/payloads.ts";
import { DEFAULT_OUT, parseArgs } from "./bench.ts";
import { loadVerdicts, replayTrace, safetyRow } from "./escalation-replay.ts";
import { sessionMessages } from "./history.ts";
import { limitSearch } from "./limit.ts";
import { FAMILIES } from "./overhead.ts";
import { readmeBlock, withBenchBlock } from "./readme-block.ts";
import { type BenchResults, formatReport, QUICK_OPTIONS, runBench } from "./run.ts";
import { sessionToTrace } from "./session-trace.ts";
import { benchTraces, steppingRow } from "./stepping-bench.ts";
import { LADDERS, loadTrace, piToolCalls, runTrace, type TraceCallEvent } from "./trace.ts";

const ZERO = { input: 0, output: 0, cacheRead: 0 };

const finitePositive = (n: unknown, what: string) =>
	assert.ok(typeof n === "number" && Number.isFinite(n) && n > 0, `${what}: ${String(n)}`);

describe("bench --quick", () => {
	let results: BenchResults;
	before(async () => {
		results = await runBench(QUICK_OPTIONS);
	});

	test("machine, versions, options", () => {
		const { machine, versions, options } = results;
		assert.ok(machine.os && machine.cpu && machine.node.startsWith("v"));
		assert.ok(machine.cores >= 1);
		assert.equal(machine.loadAverage.start.length, 3);
		assert.equal(versions.piCodingAgent, "0.73.1");
		assert.equal(versions.piAi, "0.73.1");
		assert.deepEqual(options.sizes, [10]);
		assert.equal(options.loader, "jiti", "the timed modules are loaded the way pi loads extensions");
		assert.ok(!Number.isNaN(Date.parse(results.date)));
	});

	test("rewrite: one row per API family; the history is shared, not walked", () => {
		assert.deepEqual(
			results.rewrite.map((r) => r.api),
			FAMILIES.map((f) => f.api),
		);
		for (const row of results.rewrite) {
			assert.equal(row.messages, 10);
			finitePositive(row.rewriteNs, `${row.api} rewriteNs`);
			finitePositive(row.stringifyNs, `${row.api} stringifyNs`);
			finitePositive(row.hookNs, `${row.api} hookNs`);
			finitePositive(row.hookMemoNs, `${row.api} hookMemoNs`);
			assert.ok(Math.abs(row.ratioPct - (row.rewriteNs / row.stringifyNs) * 100) < 1e-9);
			assert.ok(row.payloadBytes > 10_000, `${row.api}: a real payload with pi's tools and system prompt`);
			assert.equal(row.historyShared, true, `${row.api}: history array shared`);
			assert.ok(row.historyReads <= 1, `${row.api}: ${row.historyReads} history elements read`);
			assert.ok(row.changed.includes(row.api === "bedrock-converse-stream" ? "modelId" : "model"), row.api);
		}
		const responses = results.rewrite.find((r) => r.api === "openai-responses");
		assert.deepEqual(responses?.changed, ["model", "prompt_cache_retention", "reasoning", "tool_choice", "tools"]);
		for (const g of results.rewriteGrowth) assert.deepEqual(g.historyReads.length, 1);
		for (const n of Object.values(results.hookBreakdown)) finitePositive(n, "hook breakdown");
	});

	test("decide vs clone", () => {
		assert.equal(results.decide.length, 1);
		const [row] = results.decide;
		assert.ok(row);
		assert.equal(row.messages, 10);
		assert.equal(row.segment, 8);
		for (const key of ["decideNs", "distilNs", "decideOnlyNs", "cloneNs", "ratioPct"] as const) {
			finitePositive(row[key], key);
		}
		assert.ok(row.rung >= 0 && row.rung <= 4);
	});

	test("start-up: every variant ran once, the extension really loads", () => {
		const s = results.startup;
		assert.ok(s);
		assert.equal(s.runs, 1);
		assert.equal(s.command, "pi --list-models");
		assert.equal(s.extensionLoaded, true);
		for (const v of [s.without, s.with, s.empty, s.tsImports]) {
			assert.equal(v.wallMs.length, 1);
			finitePositive(v.medianWallMs, "medianWallMs");
		}
		finitePositive(s.ratio, "ratio");
	});

	test("targets: every target is reported with its verdict", () => {
		assert.deepEqual(
			results.targets.map((t) => t.id),
			[
				"rewrite-ratio",
				"rewrite-flat",
				"decide-vs-clone",
				"startup-ratio",
				"stepping-no-worse",
				"stepping-committed-openai-same-provider",
				"stepping-committed-anthropic-to-openai",
				"stepping-near-limit",
				"escalation-false-alarms",
				"trace-openai-same-provider",
				"trace-anthropic-to-openai",
			],
		);
		for (const t of results.targets) assert.equal(typeof t.met, "boolean");
		assert.equal(results.targets.find((t) => t.id === "rewrite-flat")?.met, true);
	});

	test("the report renders every section", () => {
		const text = formatReport(results);
		for (const heading of ["1a.", "1b.", "2. start-up", "3. savings", "4. stepping", "5. safety net", "targets"]) {
			assert.ok(text.includes(heading));
		}
		assert.deepEqual(
			[...new Set(results.stepping.map((x) => x.trace))],
			[
				"trace.json",
				...benchTraces()
					.slice(1)
					.map((t) => t.name),
			],
		);
		assert.equal(results.stepping.length, 2 * benchTraces().length);
		const block = readmeBlock(results).join("\n");
		for (const x of results.stepping) assert.ok(block.includes(`| ${x.trace} | ${x.ladder} |`));
		assert.equal(results.safety.length, 2 * (benchTraces().length - 1), "every real trace × ladder");
		for (const x of results.safety) assert.ok(block.includes(`| ${x.trace} | ${x.calls} |`));
		assert.equal(
			withBenchBlock("a\n<!-- bench:start -->\nold\n<!-- bench:end -->\nb", ["new"]),
			"a\n<!-- bench:start -->\nnew\n<!-- bench:end -->\nb",
		);
		assert.ok(JSON.parse(JSON.stringify(results)), "results serialise");
	});
});

describe("trace replay (deterministic)", () => {
	const trace = loadTrace();
	const calls = trace.events.filter((e): e is TraceCallEvent => e.type === "call");

	test("the trace is a real session shape", () => {
		assert.ok(calls.length >= 30);
		const tools = new Set(calls.map((c) => c.tool));
		for (const tool of ["read", "edit", "write", "bash", "grep", null]) assert.ok(tools.has(tool), String(tool));
		assert.ok(calls.some((c) => c.failed && c.args?.command === "npm test"));
		assert.ok(calls.some((c) => !c.failed && c.args?.command === "npm test"));
		assert.ok(calls.some((c) => c.error));
		assert.equal(trace.events[0]?.type, "plan");
	});

	test("30+ implementation calls after the kickoff, each with its tokens", () => {
		const kickoff = trace.events.findIndex((e) => e.type === "kickoff");
		const implementing = trace.events.slice(kickoff).filter((e) => e.type === "call");
		assert.ok(implementing.length >= 30, `${implementing.length} implementation calls`);
	});

	const expected = {
		"openai-same-provider": {
			rungs: "0 0 0 0 0 0 0 1 2 3 1 2 3 4 1 2 3 1 2 1 1 2 2 3 4 4 4 0 1 2 3 4 4 1 1 2 1 2",
			cost: "1.013414",
			flat: "1.373947",
			perRung: [8, 10, 9, 5, 6],
		},
		"anthropic-to-openai": {
			rungs: "0 0 0 0 0 0 0 1 2 3 1 2 3 3 1 2 3 1 2 1 1 2 2 3 3 3 3 0 1 2 3 3 3 1 1 2 1 2",
			cost: "1.068604",
			flat: "1.313411",
			perRung: [8, 10, 9, 11],
		},
	} as const;

	for (const ladder of LADDERS) {
		test(`${ladder.name}: rungs, bumps and costs`, () => {
			const run = runTrace(trace, ladder);
			const want = expected[ladder.name as keyof typeof expected];
			assert.equal(run.calls.map((c) => c.rung).join(" "), want.rungs);
			assert.equal(run.summary.cost.toFixed(6), want.cost);
			assert.equal(run.summary.flatCost?.toFixed(6), want.flat);
			assert.deepEqual(
				run.summary.perRung.map((r) => r.calls),
				[...want.perRung],
			);
			assert.equal(run.summary.calls, calls.length);
			assert.equal(run.summary.failed, 1);
			assert.deepEqual(
				run.summary.bumps.map((b) => b.trigger.kind),
				[
					"failed-tool",
					"failed-bash",
					"failed-bash",
					"package-manager",
					"failed-bash",
					"package-manager",
					"failed-bash",
					"package-manager",
				],
			);
			assert.ok(run.calls.slice(0, 7).every((c) => c.reason === "planning" && c.rung === 0));
			assert.equal(run.calls[7]?.reason, "kickoff");
			assert.equal(run.summary.perPhase.planning.calls, 7);
			assert.equal(run.summary.perPhase.implementing.calls, 31);
			assert.deepEqual(
				run.summary.runs.map((r) => `${r.start} ${r.calls}`),
				["kickoff 20", "follow-up 11"],
			);

			// Cross-check with pi-ai's model table directly: each call's tokens at its rung's model, and at rung 0's.
			const models = run.rungs.map((r) => {
				const [provider, id] = r.model.split("/") as [string, string];
				return getModel(provider as never, id as never) as Model<Api>;
			});
			const at = (
				m: Model<Api> | undefined,
				t: { input: number; output: number; cacheRead: number; cacheWrite?: number },
			) =>
				m
					? (t.input * m.cost.input +
							t.output * m.cost.output +
							t.cacheRead * m.cost.cacheRead +
							(t.cacheWrite ?? 0) * m.cost.cacheWrite) /
						1e6
					: Number.NaN;
			// The trace's own split, with uncached prompt tokens written to the cache where the model charges for that.
			const asTrace = (m: Model<Api> | undefined, t: { input: number; output: number; cacheRead: number }) =>
				m && m.cost.cacheWrite > 0 ? at(m, { ...t, input: 0, cacheWrite: t.input }) : at(m, t);
			const recorded = run.calls.reduce((s, c) => s + at(models[c.rung], c.recorded), 0);
			const shared = run.calls.reduce((s, c) => s + asTrace(models[c.rung], c.tokens), 0);
			const flat = calls.reduce((s, c) => s + asTrace(models[0], c.tokens), 0);
			assert.ok(Math.abs(recorded - run.summary.cost) < 1e-9);
			assert.ok(Math.abs(shared - run.sharedCache.session.cost) < 1e-9);
			assert.ok(shared < recorded, "a rung switch costs the cache");
			const byModel = runTrace(trace, ladder, undefined, "model").summary.cost;
			assert.ok(shared <= byModel && byModel <= recorded, "caches keyed on the model alone lose less than per rung");
			// The trace's tokens are one model's: accounting's counterfactual must rebuild that flat run from what the
			// ladder recorded (it credits whole prompts where the trace rounds cache reads down to 128 tokens).
			assert.ok(Math.abs(flat - (run.summary.flatCost ?? 0)) / flat < 0.02, `${run.summary.flatCost} vs ${flat}`);
			// Each call's prompt is the same whatever the ladder; only its split into cached and uncached differs.
			for (const c of run.calls) {
				assert.equal(promptTokens(c.recorded), c.tokens.input + c.tokens.cacheRead);
				assert.ok(c.recorded.cacheRead <= c.tokens.cacheRead);
			}
			const lost = run.calls.reduce((s, c) => s + c.tokens.cacheRead - c.recorded.cacheRead, 0);
			assert.ok(run.summary.cacheLostTokens >= lost && run.summary.cacheLostTokens < lost + 128 * run.calls.length);
		});
	}
});

describe("stepping on the traces (deterministic)", () => {
	const trace = loadTrace();

	for (const ladder of LADDERS) {
		test(`${ladder.name}: cache-aware is never weaker than the ladder, costs less than per-call, no less than the limit`, () => {
			const perCall = runTrace(trace, ladder);
			const aware = runTrace(trace, ladder, undefined, "rung", undefined, "cache-aware");
			assert.deepEqual(
				aware.calls.map((c) => c.ladderRung),
				perCall.calls.map((c) => c.rung),
				"the ladder decides the same rungs",
			);
			assert.ok(aware.calls.every((c) => c.rung <= c.ladderRung));
			assert.ok(aware.calls.some((c) => c.rung < c.ladderRung && c.why?.startsWith("warm")));
			assert.ok(aware.summary.cost < perCall.summary.cost * 0.95, `${aware.summary.cost} vs ${perCall.summary.cost}`);
			const limit = limitSearch(perCall.sim.calls, perCall.sim.rungs, 200);
			assert.ok(limit.cost <= aware.summary.cost + 1e-9 && limit.cost <= perCall.summary.cost + 1e-9);
			assert.equal(limit.rungs.length, perCall.calls.length);
			assert.ok(
				limit.rungs.every((r, i) => r <= (perCall.calls[i]?.rung ?? -1)),
				"the limit obeys the rule too",
			);
		});
	}

	test("a trace that starts with user messages replays as implementation with a user in the loop", () => {
		const events = [
			{ type: "user" as const, text: "hi" },
			...Array.from({ length: 4 }, () => ({
				type: "call" as const,
				tool: "read",
				tokens: { input: 500, output: 100, cacheRead: 5000 },
			})),
		];
		const run = runTrace({ ...trace, events }, LADDERS[0] as (typeof LADDERS)[0]);
		assert.deepEqual(
			run.calls.map((c) => `${c.rung} ${c.reason}`),
			["0 user-turn", "1 step", "2 step", "3 step"],
		);
	});

	test("every committed real trace replays on both ladders", () => {
		const real = benchTraces().slice(1);
		assert.equal(real.length, 5);
		const row = steppingRow(
			real[0]?.name ?? "",
			real[0]?.trace as ReturnType<typeof loadTrace>,
			LADDERS[0] as (typeof LADDERS)[0],
			20,
		);
		assert.ok(row.calls > 100 && row["cache-aware"].session.cost > 0);
	});

	test("a pi session file converts to the trace the shared collection made of it", () => {
		const text = readFileSync(new URL("../fixtures/pi-sessions/large-session.jsonl", import.meta.url), "utf8");
		const converted = sessionToTrace(text, "large-session.jsonl");
		const shared = loadTrace(new URL("./traces/pi-mono-theme-session.json", import.meta.url));
		const count = (t: ReturnType<typeof loadTrace>, type: string) => t.events.filter((e) => e.type === type).length;
		assert.equal(count(converted, "user"), count(shared, "user"));
		assert.equal(count(converted, "call"), count(shared, "call"));
		const tokens = (t: ReturnType<typeof loadTrace>) =>
			t.events.reduce((s, e) => s + (e.type === "call" ? e.tokens.input + e.tokens.cacheRead : 0), 0);
		assert.equal(tokens(converted), tokens(shared));
	});
});

describe("rewrite: what the bench-driven change must keep", () => {
	test("Anthropic without a system prompt or effort is still recognised (the history walk fallback)", async () => {
		const context = { ...sampleContext(3), systemPrompt: undefined };
		const payload = await buildPayload(
			familyModel("anthropic-messages", "claude-sonnet-4-5", "anthropic"),
			context,
			undefined,
		);
		assert.ok(!("system" in payload) && !("output_config" in payload));
		assert.equal(detectFamily(payload), "anthropic-messages");
	});

	test("one copy: key order kept, new keys last; an own __proto__ key survives", () => {
		const plan: WirePlan = {
			modelId: "m2",
			effort: "low",
			webSearch: { enabled: true },
			promptCache: { key: "k", retention: "24h" },
		};
		const payload = { model: "m1", input: [], prompt_cache_key: "s", reasoning: { effort: "high" }, tools: [] };
		const out = rewritePayload(payload, plan) as Record<string, unknown>;
		assert.deepEqual(Object.keys(out), [...Object.keys(payload), "tool_choice", "prompt_cache_retention"]);
		assert.equal(out.input, payload.input);
		const parsed = JSON.parse('{"model":"m1","input":[],"__proto__":{"x":1}}') as Record<string, unknown>;
		const rewritten = rewritePayload(parsed, plan) as Record<string, unknown>;
		assert.ok(Object.hasOwn(rewritten, "__proto__"));
		assert.equal(Object.getPrototypeOf(rewritten), Object.prototype);
		assert.equal(rewritten.model, "m2");
	});
});

describe("bench helpers", () => {
	test("history: exactly N messages, ending in a tool result", () => {
		for (const n of [3, 10, 101, 1000]) {
			const messages = sessionMessages(n);
			assert.equal(messages.length, n);
			assert.equal(messages.at(-1)?.role, "toolResult");
			assert.deepEqual(sessionMessages(n), messages, "deterministic");
		}
	});

	test("command line", () => {
		assert.deepEqual(parseArgs([]).bench.sizes, [10, 100, 1000, 10000]);
		assert.equal(parseArgs([]).out, DEFAULT_OUT);
		const quick = parseArgs(["--quick"]);
		assert.deepEqual(quick.bench.sizes, [10]);
		assert.equal(quick.bench.runs, 1);
		assert.equal(quick.out, undefined);
		const custom = parseArgs(["--runs", "3", "--sizes", "10,200", "--budget", "50", "--out", "x.json"]);
		assert.equal(custom.bench.runs, 3);
		assert.deepEqual(custom.bench.sizes, [10, 200]);
		assert.equal(custom.bench.timing.budgetMs, 50);
		assert.equal(custom.out, "x.json");
		assert.equal(parseArgs(["--no-write"]).out, undefined);
		assert.throws(() => parseArgs(["--runs"]), /needs a value/);
		assert.throws(() => parseArgs(["--runs", "x"]), /whole number/);
		assert.throws(() => parseArgs(["--bogus"]), /unknown option/);
		const one = parseArgs(["--trace", "x.jsonl", "--config", "c.json"]);
		assert.equal(one.trace, "x.jsonl");
		assert.equal(one.config, "c.json");
		assert.throws(() => parseArgs(["--config", "c.json"]), /goes with --trace/);
	});
});

describe("safety net on the real traces (deterministic)", () => {
	test("every fire has a verdict, and each verdict matches a fire (a rule change shows up here)", () => {
		const verdicts = loadVerdicts();
		const fires = benchTraces()
			.slice(1)
			.flatMap((t) => replayTrace(t.name, t.trace.events, verdicts).list.map((f) => ({ trace: t.name, ...f })));
		assert.deepEqual(
			fires.filter((f) => f.verdict === "unclassified"),
			[],
		);
		assert.deepEqual(
			verdicts.map((v) => `${v.trace}#${v.event} ${v.kind}`).sort(),
			fires.map((f) => `${f.trace}#${f.event} ${f.kind}`).sort(),
		);
	});

	test("the trace as pi sees it: a derived failure is no error, unrecorded arguments never repeat", () => {
		let n = 0;
		const unique = () => `#${n++}`;
		const call = (over: Partial<TraceCallEvent>): TraceCallEvent => ({ type: "call", tokens: ZERO, ...over });
		assert.equal(
			piToolCalls(call({ tool: "bash", args: { command: "x" }, failed: true, failedDerived: true }), unique)[0]?.failed,
			false,
		);
		assert.equal(piToolCalls(call({ tool: "bash", args: { command: "x" }, failed: true }), unique)[0]?.failed, true);
		const edits = piToolCalls(
			call({
				tool: "edit",
				args: { path: "a" },
				extraTools: [{ tool: "edit", args: { path: "a" } }, { tool: "taskoutput" }],
			}),
			unique,
		);
		assert.equal(new Set(edits.map((t) => JSON.stringify(t.args))).size, 3);
		assert.deepEqual(piToolCalls(call({ tool: "read", args: { path: "a" } }), unique)[0]?.args, { path: "a" });
	});

	test("escalation changes the cost only where a rule fires; the review only where a plan's run ends on a cheap rung", () => {
		const traces = benchTraces().slice(1);
		for (const t of traces) {
			const row = safetyRow(t.name, t.trace, LADDERS[0] as (typeof LADDERS)[0]);
			const fires = row.stuck + row.progressing + row.unclassified;
			if (fires === 0) assert.equal(row.escalation, 0, t.name);
			const planned = t.trace.events.some((e) => e.type === "kickoff");
			assert.equal(row.reviewCalls > 0, planned, t.name);
			if (planned) assert.ok(row.review > 0, t.name);
		}
	});
});
