/**
 * The bench on tiny sizes: the result structure, the structural invariants of the rewrite (the history is neither
 * copied nor walked) and the trace's deterministic cost figures. No timing assertions.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Api, Model } from "@mariozechner/pi-ai";
import { getModel } from "@mariozechner/pi-ai";
import { detectFamily, rewritePayload, type WirePlan } from "../../src/rewrite.ts";
import { buildPayload, familyModel, sampleContext } from "../helpers/payloads.ts";
import { DEFAULT_OUT, parseArgs } from "./bench.ts";
import { sessionMessages } from "./history.ts";
import { FAMILIES } from "./overhead.ts";
import { type BenchResults, formatReport, QUICK_OPTIONS, runBench } from "./run.ts";
import { LADDERS, loadTrace, runTrace, type TraceCallEvent } from "./trace.ts";

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
				"trace-openai-same-provider",
				"trace-anthropic-to-openai",
			],
		);
		for (const t of results.targets) assert.equal(typeof t.met, "boolean");
		assert.equal(results.targets.find((t) => t.id === "rewrite-flat")?.met, true);
	});

	test("the report renders every section", () => {
		const text = formatReport(results);
		for (const heading of ["1a.", "1b.", "2. start-up", "3. savings", "targets"]) assert.ok(text.includes(heading));
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
			cost: "0.938295",
			flat: "1.373947",
			perRung: [8, 10, 9, 5, 6],
		},
		"anthropic-to-openai": {
			rungs: "0 0 0 0 0 0 0 1 2 3 1 2 3 3 1 2 3 1 2 1 1 2 2 3 3 3 3 0 1 2 3 3 3 1 1 2 1 2",
			cost: "0.906497",
			flat: "1.261387",
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
			const at = (m: Model<Api> | undefined, t: { input: number; output: number; cacheRead: number }) =>
				m ? (t.input * m.cost.input + t.output * m.cost.output + t.cacheRead * m.cost.cacheRead) / 1e6 : Number.NaN;
			const recorded = run.calls.reduce((s, c) => s + at(models[c.rung], c.recorded), 0);
			const shared = run.calls.reduce((s, c) => s + at(models[c.rung], c.tokens), 0);
			const flat = calls.reduce((s, c) => s + at(models[0], c.tokens), 0);
			assert.ok(Math.abs(recorded - run.summary.cost) < 1e-9);
			assert.ok(Math.abs(shared - run.sharedCache.session.cost) < 1e-9);
			assert.ok(shared < recorded, "a rung switch costs the cache");
			const byModel = runTrace(trace, ladder, undefined, "model").summary.cost;
			assert.ok(shared <= byModel && byModel <= recorded, "caches keyed on the model alone lose less than per rung");
			// The trace's tokens are one model's: accounting's counterfactual must rebuild that flat run from what the
			// ladder recorded (it credits whole prompts where the trace rounds cache reads down to 128 tokens).
			assert.ok(Math.abs(flat - (run.summary.flatCost ?? 0)) / flat < 0.01, `${run.summary.flatCost} vs ${flat}`);
			assert.ok((run.summary.flatCost ?? 0) <= flat);
			// Each call's prompt is the same whatever the ladder; only its split into cached and uncached differs.
			for (const c of run.calls) {
				assert.equal(c.recorded.input + c.recorded.cacheRead, c.tokens.input + c.tokens.cacheRead);
				assert.ok(c.recorded.cacheRead <= c.tokens.cacheRead);
			}
			const lost = run.calls.reduce((s, c) => s + c.tokens.cacheRead - c.recorded.cacheRead, 0);
			assert.ok(run.summary.cacheLostTokens >= lost && run.summary.cacheLostTokens < lost + 128 * run.calls.length);
		});
	}
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
	});
});
