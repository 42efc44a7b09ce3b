/**
 * Headless end-to-end tests: the real pi binary (print and json modes) with this repo as an extension, against the
 * scripted mock LLM. Each test gets a fresh sandbox (agent dir with models.json → the mock, settings.json =
 * USER_SETTINGS, project dir with .pi/plan-stepdown.json) and asserts what reached the wire, what pi printed and
 * what pi recorded in the session file. After every test the agent's settings.json must be byte-identical.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import type { AssistantMessage } from "@mariozechner/pi-ai";
import {
	assistantMessages as assistants,
	callRecords as calls,
	isAssistantMessage,
	isRecord,
	stateRecords as states,
	summaryRecords,
} from "../helpers/e2e.ts";
import type { MockApi, MockLlm, MockProvider, MockReply, MockScript, RecordedRequest } from "../helpers/mock-llm.ts";
import {
	modelsJsonFor,
	type PiEvent,
	parseJsonLines,
	piEnv,
	type RunOptions,
	type RunResult,
	readSessionEntries,
	type Sandbox,
	type SandboxOptions,
	type SessionEntry,
} from "../helpers/pi-harness.ts";
import { PI_LINE } from "../helpers/pi-line.ts";
import { PREDECESSOR_CONFIG } from "../helpers/predecessor.ts";
import { startRig } from "../helpers/rig.ts";
import {
	bash,
	CROSS_PROVIDER_LADDER,
	PARSER_MODE,
	PLAN_TEXT,
	PRICES,
	PROVIDERS,
	SAME_PROVIDER_LADDER,
	USER_SETTINGS,
	write,
} from "./fixtures.ts";

// ---------------------------------------------------------------------------------------------
// setup
// ---------------------------------------------------------------------------------------------

/** Every scripted reply reports these tokens, so that costs are exact and differ per rung. */
const USAGE = { input: 2000, output: 100 };
const u = (reply: MockReply): MockReply => ({ ...reply, usage: USAGE });

/** $ for one call with USAGE at the given prices. */
const callCost = (prices: { input: number; output: number }) =>
	(USAGE.input * prices.input + USAGE.output * prices.output) / 1_000_000;

interface Env {
	mock: MockLlm;
	sb: Sandbox;
	projectConfig: string;
	run(args: string[], opts?: RunOptions): Promise<RunResult>;
	/** Entries of the newest session file. */
	session(): SessionEntry[];
}

interface SetupOptions extends Omit<SandboxOptions, "mock" | "settings"> {
	script: MockScript;
	providers?: MockProvider[];
}

/**
 * A mock and a sandbox for one test; both go away after the test. The after-hook also asserts that the user's
 * settings.json is byte-identical to what the test started with (scenario 9), whatever the test did.
 */
async function setup(t: TestContext, opts: SetupOptions): Promise<Env> {
	const { script, providers = PROVIDERS, ...sandboxOptions } = opts;
	const {
		mock,
		sandbox: sb,
		run,
	} = await startRig(t, {
		providers,
		script,
		settings: USER_SETTINGS,
		...sandboxOptions,
		checkAfter: true,
	});
	return {
		mock,
		sb,
		projectConfig: join(sb.projectDir, ".pi", "plan-stepdown.json"),
		run,
		session() {
			const files = readSessionEntries(sb);
			assert.ok(files.length > 0, "pi wrote no session file");
			return files[files.length - 1].entries;
		},
	};
}

// ---------------------------------------------------------------------------------------------
// reading the wire and the session
// ---------------------------------------------------------------------------------------------

/** "model/effort" per request, the compact form of the wire sequence. */
const modelEffort = (reqs: readonly RecordedRequest[]) => reqs.map((r) => `${r.model}/${r.effort}`);
const searchSizes = (reqs: readonly RecordedRequest[]) => reqs.map((r) => r.webSearch?.search_context_size ?? null);
const sorted = (names: readonly string[]) => [...names].sort();

const PLAN_TOOLS = sorted(["read", "bash", "grep", "find", "ls"]);
// Implementation calls: the configured implementation tools and the extension's own plan_progress.
const ALL_TOOLS = sorted(["read", "bash", "edit", "write", "grep", "find", "ls", "plan_progress"]);

/** Call records and assistant messages must alternate: one record right before each routed call's answer. */
function assertCallsPaired(entries: readonly SessionEntry[]): void {
	const kinds = entries
		.map((e) =>
			e.type === "custom" && e.customType === "plan-stepdown:call"
				? "call"
				: e.type === "message" && isRecord(e.message) && e.message.role === "assistant"
					? "answer"
					: undefined,
		)
		.filter((k) => k !== undefined);
	assert.equal(kinds.length % 2, 0, "every call record has its answer");
	const expected = kinds.flatMap((_, i) => (i % 2 === 0 ? ["call"] : ["answer"]));
	assert.deepEqual(kinds, expected, "each assistant message follows its own plan-stepdown:call entry");
}

const sessionId = (entries: readonly SessionEntry[]) => {
	const header = entries.find((e) => e.type === "session");
	assert.ok(header && typeof header.id === "string", "session header with an id");
	return header.id as string;
};

const closeTo = (actual: number | undefined, expected: number, message: string) =>
	assert.ok(Math.abs((actual ?? Number.NaN) - expected) < 1e-12, `${message}: expected ${expected}, got ${actual}`);

const usd = (n: number) => `$${n.toFixed(4)}`;

/** Flat rung 0's price for a call whose whole prompt one model would have had in its cache. */
const BIG_CACHED = (USAGE.input * PRICES.big.cacheRead + USAGE.output * PRICES.big.output) / 1_000_000;

/**
 * The expected stderr line. The mock reports no cache reads; `switched` lists the calls that changed rung (model or
 * effort) within a phase: there one rung all along would have read the previous call's prompt (USAGE.input ≥ 1,024)
 * from its cache.
 */
/** What the summary line ends with after PLAN_TEXT's two steps when the agent reported none. */
const NO_STEPS_DONE = ", 0/2 steps done";

function summaryLine(costs: readonly number[], bumps: number, switched: readonly number[] = [], steps = ""): string {
	const total = costs.reduce((s, c) => s + c, 0);
	const flat = costs.reduce((s, _, i) => s + (switched.includes(i) ? BIG_CACHED : BIG), 0);
	const pct = (((flat - total) / flat) * 100).toFixed(1);
	return `plan-stepdown: ${costs.length} calls, ${usd(total)} (flat rung 0: ${usd(flat)}, saved ${pct}%), ${bumps} bump${bumps === 1 ? "" : "s"}${steps}`;
}

/** What headless auto-approve prints to stderr before implementing: the plan it approved. */
const APPROVED = `plan-stepdown: plan approved (--plan-auto-approve), implementing it:\n${PLAN_TEXT}\n`;
/** stderr without the ladder advice line (advice.ts; it comes just before the summary when a simpler ladder pays). */
const withoutAdvice = (stderr: string) => stderr.replace(/^plan-stepdown advice: .*\n/m, "");

const assertNoStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, `no stack trace:\n${stderr}`);

/** Occurrences of `needle` in `text`. */
const count = (text: string, needle: string) => text.split(needle).length - 1;

const BIG = callCost(PRICES.big);
const MID = callCost(PRICES.mid);
const SMALL = callCost(PRICES.small);
const TINY = callCost(PRICES.tiny);

// ---------------------------------------------------------------------------------------------
// scenario 1 and 2: plan, auto-approve, implement down the ladder
// ---------------------------------------------------------------------------------------------

describe('pi -p "task" --plan-auto-approve on a 5-rung ladder', () => {
	test("plans on rung 0, implements on rungs 1,2,3,4,4, writes the files, prints only the answer", async (t) => {
		const finalText = "Implementation finished: hello.txt, src/greet.txt and NOTES.md written.";
		const env = await setup(t, {
			planConfig: SAME_PROVIDER_LADDER,
			script: [
				u(bash("ls")), // planning, read-only
				u({ text: PLAN_TEXT }),
				u(write("hello.txt", "Hello, stepdown!\n")),
				u(write("src/greet.txt", "greetings\n")),
				u(bash("cat hello.txt src/greet.txt")),
				u(write("NOTES.md", "# notes\n")),
				u({ text: finalText }),
			],
		});
		const r = await env.run(["-p", "Create the greeting files", "--plan-auto-approve"]);
		const reqs = env.mock.requests;

		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout, `${finalText}\n`, "stdout is the final assistant text and nothing else");
		const costs = [BIG, BIG, MID, MID, SMALL, SMALL, SMALL];
		// Rung switches inside a phase (model or effort): calls 3 (mid high → medium), 4 (→ small), 5 (medium → low).
		assert.equal(
			withoutAdvice(r.stderr),
			`${APPROVED}${summaryLine(costs, 0, [3, 4, 5], NO_STEPS_DONE)}\n`,
			"stderr: the approved plan, then the one-line summary",
		);
		// Replayed on the same tokens, the three middle rungs lose more cache than their prices save (advice.ts).
		assert.match(
			r.stderr,
			/^plan-stepdown advice: rungs 1, 2, 3 cost more in lost cache than they saved; replayed on the same tokens, rungs 0, 4 alone: \$\d+\.\d{4} vs \$\d+\.\d{4} on this ladder \(-\d+\.\d%\)\n/m,
		);

		// The wire: every call on the rung's model and effort, on the oai provider with its key.
		assert.deepEqual(modelEffort(reqs), [
			"gpt-big/xhigh",
			"gpt-big/xhigh",
			"gpt-mid/high",
			"gpt-mid/medium",
			"gpt-small/medium",
			"gpt-small/low",
			"gpt-small/low",
		]);
		assert.deepEqual(searchSizes(reqs), ["high", "high", "high", "medium", "medium", "low", "low"]);
		for (const req of reqs) {
			assert.equal(req.path, "/oai/v1/responses");
			assert.equal(req.apiKey, "oai-test-key");
			assert.equal(req.rejected, undefined);
			assert.equal(req.outcome, "completed");
		}
		// Planning calls: only the plan tools and the planning block; implementation calls: all tools, no block.
		assert.deepEqual(
			reqs.map((q) => sorted(q.toolNames)),
			[PLAN_TOOLS, PLAN_TOOLS, ALL_TOOLS, ALL_TOOLS, ALL_TOOLS, ALL_TOOLS, ALL_TOOLS],
		);
		assert.deepEqual(
			reqs.map((q) => JSON.stringify(q.body).includes("PLAN MODE")),
			[true, true, false, false, false, false, false],
		);
		assert.equal(reqs[0].lastUserText, "Create the greeting files");
		assert.deepEqual(
			reqs[1].toolResults.map((x) => x.name),
			["bash"],
		);
		assert.match(reqs[2].lastUserText ?? "", /^The plan above is approved\./);
		assert.equal(reqs[5].toolResults.length, 1);
		assert.equal(reqs[5].toolResults[0].name, "bash");
		assert.match(reqs[5].toolResults[0].text, /Hello, stepdown!\ngreetings/);

		// The files the scripted model wrote.
		assert.equal(readFileSync(join(env.sb.projectDir, "hello.txt"), "utf8"), "Hello, stepdown!\n");
		assert.equal(readFileSync(join(env.sb.projectDir, "src/greet.txt"), "utf8"), "greetings\n");
		assert.equal(readFileSync(join(env.sb.projectDir, "NOTES.md"), "utf8"), "# notes\n");

		// The session: one call record per wire call, matching it; real provider/model and pi's cost per answer.
		const entries = env.session();
		assert.deepEqual(calls(entries), [
			{ v: 1, rung: 0, phase: "planning", reason: "planning", model: "oai/gpt-big", thinking: "xhigh" },
			{ v: 1, rung: 0, phase: "planning", reason: "planning", model: "oai/gpt-big", thinking: "xhigh" },
			{ v: 1, rung: 1, phase: "implementing", reason: "kickoff", model: "oai/gpt-mid", thinking: "high" },
			{ v: 1, rung: 2, phase: "implementing", reason: "step", model: "oai/gpt-mid", thinking: "medium" },
			{ v: 1, rung: 3, phase: "implementing", reason: "step", model: "oai/gpt-small", thinking: "medium" },
			{ v: 1, rung: 4, phase: "implementing", reason: "step", model: "oai/gpt-small", thinking: "low" },
			{ v: 1, rung: 4, phase: "implementing", reason: "step", model: "oai/gpt-small", thinking: "low" },
		]);
		assert.deepEqual(
			calls(entries).map((c) => c.model),
			reqs.map((q) => `${q.provider}/${q.model}`),
		);
		assertCallsPaired(entries);
		const answers = assistants(entries);
		assert.deepEqual(
			answers.map((a) => `${a.api} ${a.provider}/${a.model} ${a.stopReason}`),
			[
				"openai-responses oai/gpt-big toolUse",
				"openai-responses oai/gpt-big stop",
				"openai-responses oai/gpt-mid toolUse",
				"openai-responses oai/gpt-mid toolUse",
				"openai-responses oai/gpt-small toolUse",
				"openai-responses oai/gpt-small toolUse",
				"openai-responses oai/gpt-small stop",
			],
		);
		answers.forEach((a, i) => {
			assert.ok(a.usage.cost.total > 0, `answer ${i} has a cost`);
			closeTo(a.usage.cost.total, costs[i], `cost of answer ${i}`);
		});
		assert.deepEqual(
			states(entries).map((s) => `${s.mode}/${s.autoApprove}`),
			["planning/true", "implementing/true"],
		);
		// pi 0.73.1: the user's model was never switched, one model_change, the user's own. pi 1.x: the session
		// selects the ladder model (session-scoped; settings.json is checked byte for byte after the test).
		const modelChanges = entries.filter((e) => e.type === "model_change");
		assert.deepEqual(
			modelChanges.map((e) => `${e.provider}/${e.modelId}`),
			PI_LINE === "1" ? ["oai/gpt-mid", "stepdown/ladder"] : ["oai/gpt-mid"],
		);

		// The same figures as the stderr line, as data in the session: the last entry pi wrote.
		const summaries = summaryRecords(entries);
		assert.equal(summaries.length, 1);
		assert.equal(entries.at(-1)?.customType, "plan-stepdown:summary");
		const [summary] = summaries;
		assert.ok(summary);
		const total = costs.reduce((sum, c) => sum + c, 0);
		const flat = 4 * BIG + 3 * BIG_CACHED;
		assert.equal(summary.calls, 7);
		closeTo(summary.cost, total, "summary cost");
		closeTo(summary.flatCost, flat, "summary flat rung 0");
		closeTo(summary.savingsPct, ((flat - total) / flat) * 100, "summary savings %");
		assert.equal(summary.cacheLostTokens, 3 * USAGE.input, "three rung switches inside a phase: three prompts cold");
		assert.deepEqual([summary.perPhase.planning.calls, summary.perPhase.implementing.calls], [2, 5]);
		closeTo(summary.perPhase.planning.cost, 2 * BIG, "planning cost");
		assert.deepEqual(
			summary.perRung.map((r) => [r.rung, r.calls, r.models.join()]),
			[
				[0, 2, "oai/gpt-big"],
				[1, 1, "oai/gpt-mid"],
				[2, 1, "oai/gpt-mid"],
				[3, 1, "oai/gpt-small"],
				[4, 2, "oai/gpt-small"],
			],
		);
		assert.deepEqual(summary.bumps, []);
		assert.equal(summary.lastRun?.calls, 5);
		assert.deepEqual(summary.advice?.suggested, [0, 4], "the advice as data: the suggested ladder");
	});

	test("--mode json: the event stream carries the implementation's tool calls and ends with agent_end", async (t) => {
		const env = await setup(t, {
			planConfig: SAME_PROVIDER_LADDER,
			script: [
				u({ text: PLAN_TEXT }),
				u(write("hello.txt", "hi\n")),
				u(bash("cat hello.txt")),
				u({ text: "All done." }),
			],
		});
		const r = await env.run(["--mode", "json", "make hello", "--plan-auto-approve"]);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(
			withoutAdvice(r.stderr),
			`${APPROVED}${summaryLine([BIG, MID, MID, SMALL], 0, [2, 3], NO_STEPS_DONE)}\n`,
		);
		const summaries = summaryRecords(env.session());
		assert.deepEqual(
			summaries.map((x) => [x.calls, x.perPhase.implementing.calls, x.cacheLostTokens]),
			[[4, 3, 2 * USAGE.input]],
			"json mode records the summary entry too",
		);
		assert.deepEqual(modelEffort(env.mock.requests), [
			"gpt-big/xhigh",
			"gpt-mid/high",
			"gpt-mid/medium",
			"gpt-small/medium",
		]);

		const events = parseJsonLines(r.stdout); // throws on any non-JSON line: nothing else on stdout
		assert.equal(events[0].type, "session");
		// pi 1.x ends with agent_settled, and the continuation into the implementation is a second low-level run of
		// the same prompt (agent_before_settle); pi 0.73.1 runs plan and implementation as one run.
		const last = PI_LINE === "1" ? ["agent_end", "agent_settled"] : ["agent_end"];
		assert.deepEqual(
			events.slice(-last.length).map((e) => e.type),
			last,
			"the run's end is the last event",
		);
		const runs = PI_LINE === "1" ? 2 : 1;
		assert.equal(events.filter((e) => e.type === "agent_start").length, runs, "plan and implementation");
		assert.equal(events.filter((e) => e.type === "agent_end").length, runs);
		assert.equal(events.filter((e) => e.type === "agent_settled").length, PI_LINE === "1" ? 1 : 0);
		const starts = events.filter((e) => e.type === "tool_execution_start");
		assert.deepEqual(
			starts.map((e) => ({ tool: e.toolName, args: e.args })),
			[
				{ tool: "write", args: { path: "hello.txt", content: "hi\n" } },
				{ tool: "bash", args: { command: "cat hello.txt" } },
			],
		);
		const ends = events.filter((e) => e.type === "tool_execution_end");
		assert.deepEqual(
			ends.map((e) => `${e.toolName}:${e.isError}`),
			["write:false", "bash:false"],
		);
		const answered = events
			.filter(
				(e): e is PiEvent & { message: AssistantMessage } => e.type === "message_end" && isAssistantMessage(e.message),
			)
			.map((e) => `${e.message.provider}/${e.message.model}`);
		assert.deepEqual(answered, ["oai/gpt-big", "oai/gpt-mid", "oai/gpt-mid", "oai/gpt-small"]);
		// pi 1.x streams the kickoff (a boundary entry of agent_before_settle) as entry_appended.
		const kickoffs = events.filter(
			(e) =>
				(e.type === "message_end" && isRecord(e.message) && e.message.customType === "plan-stepdown:implement") ||
				(e.type === "entry_appended" && isRecord(e.entry) && e.entry.customType === "plan-stepdown:implement"),
		);
		assert.equal(kickoffs.length, 1, "the kickoff message is part of the same run");
		assert.equal(readFileSync(join(env.sb.projectDir, "hello.txt"), "utf8"), "hi\n");
	});
});

// ---------------------------------------------------------------------------------------------
// scenario 3: bumps
// ---------------------------------------------------------------------------------------------

describe("the savings with the cache the provider reports", () => {
	test("flat rung 0 gets back only the cache a rung switch lost; pi's cache-read prices on both sides", async (t) => {
		const usage = (input: number, cacheRead = 0) => ({ input, output: 100, cacheRead });
		const env = await setup(t, {
			planConfig: SAME_PROVIDER_LADDER,
			script: [
				{ text: PLAN_TEXT, usage: usage(3000) }, // rung 0
				{ ...write("a.txt", "a\n"), usage: usage(4000) }, // rung 1, kickoff: a new prefix, nothing to credit
				{ ...write("b.txt", "b\n"), usage: usage(1000, 4000) }, // rung 2: the cache survived the effort change
				{ ...write("c.txt", "c\n"), usage: usage(6000) }, // rung 3: another model, all cold: 5,000 to credit
				{ text: "Done.", usage: usage(500, 6000) }, // rung 4: effort change, cache kept
			],
		});
		const r = await env.run(["-p", "Write three files", "--plan-auto-approve"]);
		assert.equal(r.code, 0, r.stderr);
		assert.deepEqual(modelEffort(env.mock.requests), [
			"gpt-big/xhigh",
			"gpt-mid/high",
			"gpt-mid/medium",
			"gpt-small/medium",
			"gpt-small/low",
		]);

		const at = (p: typeof PRICES.big, input: number, cacheRead: number) =>
			(input * p.input + cacheRead * p.cacheRead + 100 * p.output) / 1_000_000;
		const cost =
			at(PRICES.big, 3000, 0) +
			at(PRICES.mid, 4000, 0) +
			at(PRICES.mid, 1000, 4000) +
			at(PRICES.small, 6000, 0) +
			at(PRICES.small, 500, 6000);
		// Flat rung 0: the same tokens at gpt-big's prices, the rung-3 call reading the previous 5,000 from cache.
		const flat =
			at(PRICES.big, 3000, 0) +
			at(PRICES.big, 4000, 0) +
			at(PRICES.big, 1000, 4000) +
			at(PRICES.big, 1000, 5000) +
			at(PRICES.big, 500, 6000);
		const [summary] = summaryRecords(env.session());
		assert.ok(summary);
		closeTo(summary.cost, cost, "what pi recorded, cache reads at each model's price");
		closeTo(summary.flatCost, flat, "flat rung 0");
		assert.equal(summary.cacheLostTokens, 5000);
		const pct = (((flat - cost) / flat) * 100).toFixed(1);
		assert.equal(
			withoutAdvice(r.stderr),
			`${APPROVED}plan-stepdown: 5 calls, ${usd(cost)} (flat rung 0: ${usd(flat)}, saved ${pct}%), 0 bumps${NO_STEPS_DONE}\n`,
		);
	});
});

describe("bumps during implementation", () => {
	test("a failed bash, an npm command and a failed tool each send the next call to rung 1, then on to 2", async (t) => {
		const env = await setup(t, {
			planConfig: SAME_PROVIDER_LADDER,
			script: [
				u({ text: PLAN_TEXT }), // rung 0
				u(write("a.txt", "a\n")), // 1
				u(write("b.txt", "b\n")), // 2
				u(bash("ls /nonexistent-stepdown-dir")), // 3: fails
				u(write("c.txt", "c\n")), // 1 (bump: failed bash)
				u(bash("npm --version")), // 2: succeeds, but it is a package manager
				u(write("d.txt", "d\n")), // 1 (bump: package manager)
				u(write("e.txt", "e\n")), // 2
				u({ toolCalls: [{ name: "read", arguments: { path: "missing.txt" } }] }), // 3: fails
				u({ text: "done" }), // 1 (bump: failed tool)
			],
		});
		// The sandbox's PATH must have npm, or the "succeeded but still bumps" case would test a failure instead.
		const npm = runNpmVersion(env.sb);
		assert.equal(npm, 0, "npm --version runs in the sandbox environment");

		// LC_ALL=C: the failed ls says "No such file or directory" whatever the host's locale.
		const r = await env.run(["-p", "Write the letter files", "--plan-auto-approve"], { env: { LC_ALL: "C" } });
		const reqs = env.mock.requests;
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout, "done\n");
		const costs = [BIG, MID, MID, SMALL, MID, MID, MID, MID, SMALL, MID];
		assert.equal(
			withoutAdvice(r.stderr),
			`${APPROVED}${summaryLine(costs, 3, [2, 3, 4, 5, 6, 7, 8, 9], NO_STEPS_DONE)}\n`,
		);

		assert.deepEqual(modelEffort(reqs), [
			"gpt-big/xhigh",
			"gpt-mid/high",
			"gpt-mid/medium",
			"gpt-small/medium",
			"gpt-mid/high",
			"gpt-mid/medium",
			"gpt-mid/high",
			"gpt-mid/medium",
			"gpt-small/medium",
			"gpt-mid/high",
		]);
		// What each bump reacted to reached the model.
		assert.deepEqual(
			reqs[4].toolResults.map((x) => x.name),
			["bash"],
		);
		assert.match(reqs[4].toolResults[0].text, /No such file or directory/);
		assert.match(reqs[6].toolResults[0].text, /^\d+\.\d+\.\d+/, "npm printed its version");
		assert.equal(reqs[9].toolResults[0].name, "read");

		const entries = env.session();
		const recorded = calls(entries);
		assert.deepEqual(
			recorded.map((c) => `${c.rung}:${c.reason}`),
			["0:planning", "1:kickoff", "2:step", "3:step", "1:bump", "2:step", "1:bump", "2:step", "3:step", "1:bump"],
		);
		assert.deepEqual(
			recorded.map((c) => c.trigger),
			[
				undefined,
				undefined,
				undefined,
				undefined,
				{ kind: "failed-bash", tool: "bash", detail: "ls /nonexistent-stepdown-dir" },
				undefined,
				{ kind: "package-manager", tool: "bash", detail: "npm --version" },
				undefined,
				undefined,
				{ kind: "failed-tool", tool: "read", detail: "" },
			],
		);
		assert.deepEqual(
			recorded.map((c) => c.model),
			reqs.map((q) => `${q.provider}/${q.model}`),
		);
		assertCallsPaired(entries);
		for (const name of ["a", "b", "c", "d", "e"]) {
			assert.equal(readFileSync(join(env.sb.projectDir, `${name}.txt`), "utf8"), `${name}\n`);
		}
	});

	test("the bump rules come from the config: a configured command bumps, a disabled rule does not", async (t) => {
		const env = await setup(t, {
			planConfig: {
				...SAME_PROVIDER_LADDER,
				reasoningBump: { bumpOnFailedBash: false, packageManagerCommands: ["echo"] },
			},
			script: [
				u({ text: PLAN_TEXT }), // 0
				u(write("a.txt", "a\n")), // 1
				u(bash("echo building")), // 2: "echo" is a package manager here
				u(write("b.txt", "b\n")), // 1 (bump)
				u(bash("exit 3")), // 2: fails, but failed bash does not bump
				u({ text: "done" }), // 3
			],
		});
		const r = await env.run(["-p", "task", "--plan-auto-approve"]);
		assert.equal(r.code, 0, r.stderr);
		const reqs = env.mock.requests;
		assert.deepEqual(modelEffort(reqs), [
			"gpt-big/xhigh",
			"gpt-mid/high",
			"gpt-mid/medium",
			"gpt-mid/high",
			"gpt-mid/medium",
			"gpt-small/medium",
		]);
		assert.match(reqs[5].toolResults[0].text, /Command exited with code 3/, "the failed bash reached the model");
		assert.deepEqual(
			calls(env.session()).map((c) =>
				c.trigger ? `${c.rung}:${c.reason}:${c.trigger.kind}:${c.trigger.detail}` : `${c.rung}:${c.reason}`,
			),
			["0:planning", "1:kickoff", "2:step", "1:bump:package-manager:echo building", "2:step", "3:step"],
		);
	});
});

function runNpmVersion(sb: Sandbox): number | null {
	return spawnSync("npm", ["--version"], { env: piEnv(sb), cwd: sb.projectDir }).status;
}

// ---------------------------------------------------------------------------------------------
// scenario 4: across providers and wire formats
// ---------------------------------------------------------------------------------------------

/** A provider beyond the shared fixtures: one reasoning model, key `<name>-test-key`. */
const extraProvider = (name: string, api: MockApi, id: string, cost: typeof PRICES.big): MockProvider => ({
	name,
	api,
	apiKey: `${name}-test-key`,
	models: [{ id, reasoning: true, cost }],
});

/** `pi -p task --plan-auto-approve` on a two-rung ladder whose rung 1 is on `provider`; asserts exit 0. */
async function runOnExtraRung(
	t: TestContext,
	provider: MockProvider,
	ladder: [Record<string, unknown>, Record<string, unknown>],
	script: MockScript,
): Promise<{ env: Env; reqs: RecordedRequest[] }> {
	const env = await setup(t, { providers: [...PROVIDERS, provider], planConfig: { ladder }, script });
	const r = await env.run(["-p", "task", "--plan-auto-approve"]);
	assert.equal(r.code, 0, r.stderr);
	return { env, reqs: env.mock.requests };
}

/** Each answer's api, provider/model and cost, as pi recorded them in the session; returns the answers. */
function assertAnswers(entries: readonly SessionEntry[], expected: readonly [string, number][]): AssistantMessage[] {
	const answers = assistants(entries);
	assert.deepEqual(
		answers.map((a) => `${a.api} ${a.provider}/${a.model}`),
		expected.map(([label]) => label),
	);
	for (const [i, [, cost]] of expected.entries()) {
		closeTo(answers[i]?.usage.cost.total, cost, `cost of answer ${i}`);
	}
	return answers;
}

describe("a cross-provider ladder", () => {
	test("Responses → Anthropic → Chat Completions: right path, key, wire format, effort and cost per call", async (t) => {
		const env = await setup(t, {
			planConfig: CROSS_PROVIDER_LADDER,
			script: [
				u({ text: PLAN_TEXT }),
				u(write("a.txt", "from anthropic\n")),
				u(write("b.txt", "from chat\n")),
				u({ text: "done" }),
			],
		});
		const r = await env.run(["-p", "task", "--plan-auto-approve"]);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout, "done\n");
		const reqs = env.mock.requests;
		assert.deepEqual(
			reqs.map((q) => `${q.api} ${q.path} ${q.apiKey} ${q.model} ${q.effort}`),
			[
				"openai-responses /oai/v1/responses oai-test-key gpt-big high",
				// pi-ai 1.x asks for Anthropic's beta features in the query.
				`anthropic-messages /ant/v1/messages${PI_LINE === "1" ? "?beta=true" : ""} ant-test-key claude-sonnet-4-6 medium`,
				"openai-completions /chat/v1/chat/completions chat-test-key chat-tiny low",
				"openai-completions /chat/v1/chat/completions chat-test-key chat-tiny low",
			],
		);
		assert.ok(reqs.every((q) => q.outcome === "completed"));
		// Wire formats: reasoning.effort / output_config.effort / reasoning_effort.
		assert.deepEqual(field(reqs[0].body, "reasoning", "effort"), "high");
		assert.deepEqual(field(reqs[1].body, "output_config", "effort"), "medium");
		assert.deepEqual(field(reqs[2].body, "reasoning_effort"), "low");
		// Hosted web search only on the Responses rung; prompt cache fields only where pi sent some (Responses).
		assert.deepEqual(
			reqs.map((q) => q.webSearch ?? null),
			[{ type: "web_search", search_context_size: "medium" }, null, null, null],
		);
		assert.equal(reqs[0].promptCacheRetention, "24h");
		assert.equal(reqs[0].promptCacheKey, sessionId(env.session()));
		for (const q of reqs.slice(1)) {
			assert.ok(isRecord(q.body) && !("prompt_cache_key" in q.body) && !("prompt_cache_retention" in q.body));
		}
		// History crossed providers: the chat calls see the write results in their own format.
		assert.deepEqual(
			reqs.map((q) => q.toolResults.map((x) => x.name)),
			[[], [], ["write"], ["write"]],
		);
		assert.deepEqual(
			reqs.map((q) => sorted(q.toolNames)),
			[PLAN_TOOLS, ALL_TOOLS, ALL_TOOLS, ALL_TOOLS],
		);

		const entries = env.session();
		const answers = assertAnswers(entries, [
			["openai-responses oai/gpt-big", BIG],
			["anthropic-messages ant/claude-sonnet-4-6", MID],
			["openai-completions chat/chat-tiny", TINY],
			["openai-completions chat/chat-tiny", TINY],
		]);
		assert.equal(new Set(answers.slice(0, 3).map((a) => a.usage.cost.total)).size, 3, "costs differ by rung");
		assert.deepEqual(
			calls(entries).map((c) => `${c.rung} ${c.model}:${c.thinking}`),
			["0 oai/gpt-big:high", "1 ant/claude-sonnet-4-6:medium", "2 chat/chat-tiny:low", "2 chat/chat-tiny:low"],
		);
		assertCallsPaired(entries);
		assert.equal(readFileSync(join(env.sb.projectDir, "a.txt"), "utf8"), "from anthropic\n");
		assert.equal(readFileSync(join(env.sb.projectDir, "b.txt"), "utf8"), "from chat\n");
	});

	test("an Azure OpenAI rung: its own path, api-key header, deployment and effort; web search per rung", async (t) => {
		const { env, reqs } = await runOnExtraRung(
			t,
			extraProvider("az", "azure-openai-responses", "gpt-az", PRICES.small),
			[
				{ model: "oai/gpt-big", thinking: "high", webSearchContextSize: "high" },
				{ model: "az/gpt-az", thinking: "low", webSearchContextSize: "low" },
			],
			[u({ text: PLAN_TEXT }), u(write("az.txt", "from azure\n")), u({ text: "done" })],
		);
		assert.deepEqual(
			reqs.map((q) => `${q.api} ${q.path} ${q.apiKey} ${q.model} ${q.effort}`),
			[
				"openai-responses /oai/v1/responses oai-test-key gpt-big high",
				"azure-openai-responses /az/openai/v1/responses?api-version=v1 az-test-key gpt-az low",
				"azure-openai-responses /az/openai/v1/responses?api-version=v1 az-test-key gpt-az low",
			],
		);
		assert.equal(reqs[1].headers.authorization, undefined, "Azure takes the key in api-key, not a bearer token");
		assert.deepEqual(
			reqs.map((q) => q.webSearch ?? null),
			[
				{ type: "web_search", search_context_size: "high" },
				{ type: "web_search", search_context_size: "low" },
				{ type: "web_search", search_context_size: "low" },
			],
		);
		assertAnswers(env.session(), [
			["openai-responses oai/gpt-big", BIG],
			["azure-openai-responses az/gpt-az", SMALL],
			["azure-openai-responses az/gpt-az", SMALL],
		]);
		assert.equal(readFileSync(join(env.sb.projectDir, "az.txt"), "utf8"), "from azure\n");
	});

	test("a Mistral rung: its own path, bearer key and model; the history converted from Responses", async (t) => {
		const { env, reqs } = await runOnExtraRung(
			t,
			extraProvider("mis", "mistral-conversations", "mistral-small-latest", PRICES.tiny),
			[
				{ model: "oai/gpt-big", thinking: "high" },
				{ model: "mis/mistral-small-latest", thinking: "low" },
			],
			[u(bash("ls")), u({ text: PLAN_TEXT }), u(write("m.txt", "from mistral\n")), u({ text: "done" })],
		);
		// pi-ai 0.73.1 sends this Mistral model reasoning_effort "high" whatever the level, unless models.json maps it;
		// pi-ai 1.x sends prompt_mode "reasoning".
		const mistralEffort = PI_LINE === "1" ? "prompt_mode:reasoning" : "high";
		assert.deepEqual(
			reqs.map((q) => `${q.api} ${q.path} ${q.apiKey} ${q.model} ${q.effort}`),
			[
				"openai-responses /oai/v1/responses oai-test-key gpt-big high",
				"openai-responses /oai/v1/responses oai-test-key gpt-big high",
				`mistral-conversations /mis/v1/chat/completions mis-test-key mistral-small-latest ${mistralEffort}`,
				`mistral-conversations /mis/v1/chat/completions mis-test-key mistral-small-latest ${mistralEffort}`,
			],
		);
		// The planning turn's bash call and its result, made on Responses, reach Mistral in Mistral's own format.
		const history = (reqs[2].body as { messages: { role: string; tool_calls?: { function: { name: string } }[] }[] })
			.messages;
		assert.deepEqual(
			history.map((m) => (m.tool_calls ? `${m.role}:${m.tool_calls.map((c) => c.function.name).join()}` : m.role)),
			["system", "user", "assistant:bash", "tool", "assistant", "user"],
		);
		assert.deepEqual(
			reqs[3].toolResults.map((x) => [x.name, x.text]),
			[["write", PI_LINE === "1" ? "Successfully wrote to m.txt" : "Successfully wrote 13 bytes to m.txt"]],
		);
		assertAnswers(env.session(), [
			["openai-responses oai/gpt-big", BIG],
			["openai-responses oai/gpt-big", BIG],
			["mistral-conversations mis/mistral-small-latest", TINY],
			["mistral-conversations mis/mistral-small-latest", TINY],
		]);
		assert.equal(readFileSync(join(env.sb.projectDir, "m.txt"), "utf8"), "from mistral\n");
	});

	test("a Google rung: its own path, key and thinking budget", async (t) => {
		const env = await setup(t, {
			planConfig: {
				ladder: [
					{ model: "oai/gpt-big", thinking: "high", webSearchContextSize: "high" },
					{ model: "gem/gemini-2.5-flash", thinking: "low" },
				],
			},
			script: [u({ text: PLAN_TEXT }), u(write("g.txt", "from gemini\n")), u({ text: "done" })],
		});
		const r = await env.run(["-p", "task", "--plan-auto-approve"]);
		assert.equal(r.code, 0, r.stderr);
		const reqs = env.mock.requests;
		assert.deepEqual(
			reqs.map((q) => `${q.api} ${q.path} ${q.apiKey} ${q.model}`),
			[
				"openai-responses /oai/v1/responses oai-test-key gpt-big",
				"google-generative-ai /gem/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse gem-test-key gemini-2.5-flash",
				"google-generative-ai /gem/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse gem-test-key gemini-2.5-flash",
			],
		);
		// pi-ai sends Gemini 2.5 a token budget; "low" is 2048 tokens.
		assert.deepEqual(
			reqs.map((q) => q.effort),
			["high", "budget:2048", "budget:2048"],
		);
		assert.deepEqual(
			reqs.map((q) => q.webSearch ?? null),
			[{ type: "web_search", search_context_size: "high" }, null, null],
		);
		assert.deepEqual(
			reqs[2].toolResults.map((x) => x.name),
			["write"],
		);
		assertAnswers(env.session(), [
			["openai-responses oai/gpt-big", BIG],
			["google-generative-ai gem/gemini-2.5-flash", TINY],
			["google-generative-ai gem/gemini-2.5-flash", TINY],
		]);
		assert.equal(readFileSync(join(env.sb.projectDir, "g.txt"), "utf8"), "from gemini\n");
	});
});

function field(body: unknown, ...path: string[]): unknown {
	let node = body;
	for (const key of path) node = isRecord(node) ? node[key] : undefined;
	return node;
}

// ---------------------------------------------------------------------------------------------
// scenario 5: a pi-model-staging config, unchanged
// ---------------------------------------------------------------------------------------------

/** pi-model-staging 0.3.2's documented example, unchanged but for the provider and ids of the mock's models. */
const MOCK_IDS: Record<string, string> = { "gpt-5.5": "gpt-big", "gpt-5.4": "gpt-mid", "gpt-5.4-mini": "gpt-small" };
const PREDECESSOR = {
	...PREDECESSOR_CONFIG,
	provider: "oai",
	ladder: PREDECESSOR_CONFIG.ladder.map((rung) => ({ ...rung, modelId: MOCK_IDS[rung.modelId] })),
};

/** The predecessor's models (gpt-5.5, gpt-5.4, gpt-5.4-mini) all accept xhigh: so do the stand-ins here. */
const XHIGH_PROVIDERS: MockProvider[] = PROVIDERS.map((p) =>
	p.name === "oai" ? { ...p, models: p.models.map((m) => ({ ...m, thinkingLevelMap: { xhigh: "xhigh" } })) } : p,
);

const predecessorScript = () => [
	u({ text: PLAN_TEXT }),
	u(write("one.txt", "1\n")),
	u(write("two.txt", "2\n")),
	u(write("three.txt", "3\n")),
	u(write("four.txt", "4\n")),
	u({ text: "done" }),
];

describe("a pi-model-staging config used unchanged", () => {
	test("gives the predecessor's wire sequence: model, effort, search size, location, prompt cache", async (t) => {
		const env = await setup(t, { planConfig: PREDECESSOR, providers: XHIGH_PROVIDERS, script: predecessorScript() });
		const r = await env.run(["-p", "task", "--plan-auto-approve"], { env: { TZ: "Europe/Stockholm" } });
		assert.equal(r.code, 0, r.stderr);
		const reqs = env.mock.requests;
		assert.deepEqual(modelEffort(reqs), [
			"gpt-big/xhigh",
			"gpt-mid/xhigh",
			"gpt-mid/high",
			"gpt-mid/medium",
			"gpt-small/xhigh",
			"gpt-small/xhigh",
		]);
		assert.deepEqual(searchSizes(reqs), ["high", "high", "medium", "medium", "low", "low"]);
		const location = { type: "approximate", country: "SE", timezone: "Europe/Stockholm" };
		for (const q of reqs) {
			assert.deepEqual(q.webSearch, {
				type: "web_search",
				search_context_size: q.webSearch?.search_context_size,
				user_location: location,
			});
			assert.equal(field(q.body, "tool_choice"), "auto");
		}
		// pi's prompt_cache_key (its session id) is kept, the predecessor's 24h retention is added.
		const id = sessionId(env.session());
		assert.deepEqual(
			reqs.map((q) => `${q.promptCacheKey} ${q.promptCacheRetention}`),
			reqs.map(() => `${id} 24h`),
		);
		assert.deepEqual(
			calls(env.session()).map((c) => c.rung),
			[0, 1, 2, 3, 4, 4],
		);
	});

	test("levels a model cannot do are clamped; a payload without cache fields stays without", async (t) => {
		// A stand-in for pi's cache opt-out: pi 0.73.1 always sends prompt_cache_key (its session id) on Responses
		// (PI_CACHE_RETENTION only knows "long", settings.json has no cacheRetention), so an extension loaded before
		// this one removes both fields, as pi-ai does for cacheRetention "none". It also records whether the payload it
		// saw already had the hosted search tool: false, while the wire has it, proves it ran first.
		const env = await setup(t, { planConfig: PREDECESSOR, script: predecessorScript() });
		const stripper = join(env.sb.root, "strip-cache.ts");
		writeFileSync(stripper, STRIP_CACHE_EXTENSION);
		const r = await env.run(["-p", "task", "--plan-auto-approve"], { extension: [stripper, "."] });
		assert.equal(r.code, 0, r.stderr);
		const reqs = env.mock.requests;
		// The fixture's gpt-mid and gpt-small have no xhigh: clamped to high.
		assert.deepEqual(modelEffort(reqs), [
			"gpt-big/xhigh",
			"gpt-mid/high",
			"gpt-mid/high",
			"gpt-mid/medium",
			"gpt-small/high",
			"gpt-small/high",
		]);
		assert.deepEqual(
			calls(env.session()).map((c) => `${c.rung}:${c.thinking}`),
			["0:xhigh", "1:high", "2:high", "3:medium", "4:high", "4:high"],
		);
		assert.deepEqual(searchSizes(reqs), ["high", "high", "medium", "medium", "low", "low"]);
		for (const q of reqs) {
			assert.ok(isRecord(q.body));
			assert.equal(q.body.x_stripper_saw_web_search, false, "the stripping extension ran before plan-stepdown");
			assert.equal("prompt_cache_key" in q.body, false, "no cache key added");
			assert.equal("prompt_cache_retention" in q.body, false, "no retention added");
		}
	});

	test('web search: "off" on a rung drops it on that rung only, PI_OPENAI_WEB_SEARCH=0 on every rung', async (t) => {
		const ladder = PREDECESSOR.ladder.map((rung, i) => (i === 2 ? { ...rung, webSearchContextSize: "off" } : rung));
		const env = await setup(t, {
			planConfig: { ...PREDECESSOR, ladder },
			providers: XHIGH_PROVIDERS,
			script: predecessorScript(),
		});
		const r = await env.run(["-p", "task", "--plan-auto-approve"]);
		assert.equal(r.code, 0, r.stderr);
		const first = env.mock.requests.slice();
		assert.deepEqual(searchSizes(first), ["high", "high", null, "medium", "low", "low"]);
		assert.deepEqual(
			first.map((q) => field(q.body, "tool_choice") ?? null),
			["auto", "auto", null, "auto", "auto", "auto"],
		);
		assert.deepEqual(modelEffort(first), [
			"gpt-big/xhigh",
			"gpt-mid/xhigh",
			"gpt-mid/high",
			"gpt-mid/medium",
			"gpt-small/xhigh",
			"gpt-small/xhigh",
		]);

		env.mock.setScript(predecessorScript());
		const off = await env.run(["-p", "task", "--plan-auto-approve"], { env: { PI_OPENAI_WEB_SEARCH: "0" } });
		assert.equal(off.code, 0, off.stderr);
		const second = env.mock.requests.slice(first.length);
		assert.equal(second.length, 6);
		assert.deepEqual(
			second.map((q) => q.webSearch ?? null),
			[null, null, null, null, null, null],
		);
		assert.ok(second.every((q) => isRecord(q.body) && !("tool_choice" in q.body)));
		assert.deepEqual(modelEffort(second), modelEffort(first), "only the search changed");
		assert.ok(second.every((q) => q.promptCacheRetention === "24h"));
	});
});

const STRIP_CACHE_EXTENSION = `
export default function (pi) {
	pi.on("before_provider_request", (event) => {
		const { prompt_cache_key, prompt_cache_retention, ...rest } = event.payload;
		const tools = Array.isArray(rest.tools) ? rest.tools : [];
		return { ...rest, x_stripper_saw_web_search: tools.some((t) => t.type === "web_search") };
	});
}
`;

// ---------------------------------------------------------------------------------------------
// scenario 10: bad input
// ---------------------------------------------------------------------------------------------

interface BadCase {
	name: string;
	/** Project config text (written verbatim) or value. */
	config: string | Record<string, unknown>;
	/** Extra pi args (e.g. --stepdown-config). */
	args?: (env: Env) => string[];
	/** Written before the runs, paths relative to the sandbox root. */
	rootFiles?: Record<string, string>;
	/** What stderr must say, given the env (file paths). */
	expect: (env: Env) => (string | RegExp)[];
	modelsJson?: (mock: MockLlm) => unknown;
}

const BAD_CASES: BadCase[] = [
	{
		name: "invalid JSON in .pi/plan-stepdown.json",
		config: '{ "ladder": [ { "model": "oai/gpt-big" ] }',
		expect: (env) => [`${env.projectConfig}: invalid JSON: `],
	},
	{
		name: "wrong types in a --stepdown-config file",
		config: SAME_PROVIDER_LADDER,
		rootFiles: {
			"one-off.json": JSON.stringify({
				ladder: [{ model: "oai/gpt-big", thinking: "max" }],
				accounting: { summary: 1 },
			}),
		},
		args: (env) => ["--stepdown-config", join(env.sb.root, "one-off.json")],
		expect: (env) => [
			`${join(env.sb.root, "one-off.json")} /ladder/0/thinking: expected one of "off", "minimal", "low", "medium", "high", "xhigh", found "max"`,
			`${join(env.sb.root, "one-off.json")} /accounting/summary: expected true or false, found 1`,
		],
	},
	{
		name: "a missing --stepdown-config file",
		config: SAME_PROVIDER_LADDER,
		args: (env) => ["--stepdown-config", join(env.sb.root, "nope.json")],
		expect: (env) => [`${join(env.sb.root, "nope.json")}: file not found`],
	},
	{
		name: "an unknown model",
		config: { ladder: [{ model: "oai/gpt-big" }, { model: "oai/gpt-smal" }] },
		expect: () => ['ladder[1]: unknown model "oai/gpt-smal" (closest: oai/gpt-small'],
	},
	{
		name: "a rung naming an unknown provider",
		config: { ladder: [{ model: "oai/gpt-big" }, { model: "opnai/gpt-mid" }] },
		expect: () => [/ladder\[1\]: unknown provider "opnai" \(did you mean [^)]*"oai"/],
	},
	{
		name: "a provider without an API key",
		config: { ladder: [{ model: "oai/gpt-big" }, { model: "anthropic/claude-keyless" }] },
		// A custom model on pi's built-in "anthropic" provider, without apiKey: auth would come from
		// ANTHROPIC_API_KEY, which the sandbox does not pass. (A models.json apiKey naming an unset env var is no test
		// of this: pi then sends the variable's name as a literal key.)
		modelsJson: (mock) => {
			const base = modelsJsonFor(mock, PROVIDERS) as { providers: Record<string, unknown> };
			return {
				providers: {
					...base.providers,
					anthropic: {
						baseUrl: `${mock.url}/ant`,
						api: "anthropic-messages",
						models: [{ id: "claude-keyless", reasoning: true }],
					},
				},
			};
		},
		expect: () => ['ladder[1]: no API key for provider "anthropic" (set ANTHROPIC_API_KEY, '],
	},
];

describe("bad input: one clear message, no routing, no run", () => {
	for (const bad of BAD_CASES) {
		test(bad.name, async (t) => {
			const env = await setup(t, {
				script: [{ text: "Hello from your own model." }],
				...(typeof bad.config === "string"
					? { files: { ".pi/plan-stepdown.json": bad.config } }
					: { planConfig: bad.config }),
			});
			if (bad.modelsJson) {
				writeFileSync(join(env.sb.agentDir, "models.json"), JSON.stringify(bad.modelsJson(env.mock)));
			}
			for (const [path, text] of Object.entries(bad.rootFiles ?? {})) writeFileSync(join(env.sb.root, path), text);
			const extra = bad.args?.(env) ?? [];
			const expected = bad.expect(env);
			const assertMessage = (stderr: string, header: string) => {
				assert.equal(count(stderr, header), 1, `one "${header}" message:\n${stderr}`);
				for (const e of expected) {
					if (typeof e === "string") assert.equal(count(stderr, e), 1, `stderr names ${e} once:\n${stderr}`);
					else assert.match(stderr, e);
				}
				assertNoStack(stderr);
			};

			// /plan is refused with the reason; nothing is sent.
			const plan = await env.run(["-p", "/plan x", ...extra]);
			assertMessage(plan.stderr, "plan-stepdown: /plan refused:");
			assert.equal(plan.code, 2, "a refused /plan in print mode exits non-zero");
			assert.equal(plan.stdout, "");
			assert.equal(env.mock.requests.length, 0, "/plan made no request");

			// A normal prompt still reaches the user's own model, unrouted and unrewritten.
			const hello = await env.run(["-p", "hello", ...extra]);
			assert.equal(hello.code, 0, hello.stderr);
			assert.equal(hello.stdout, "Hello from your own model.\n");
			// Said once, on stderr, before /plan is ever asked for.
			assertMessage(hello.stderr, "plan-stepdown is unusable until this is fixed");
			assert.equal(env.mock.requests.length, 1);
			const [own] = env.mock.requests;
			assert.equal(`${own.provider}/${own.model}/${own.effort}`, "oai/gpt-mid/medium");
			assert.equal(own.webSearch, undefined, "no hosted search added");
			assert.equal(own.promptCacheRetention, undefined, "no retention added");
			assert.deepEqual(sorted(own.toolNames), sorted(["read", "bash", "edit", "write"]), "the user's own tools");

			// Headless auto-approve refuses to run the task unplanned: exit 2, no request.
			const auto = await env.run(["-p", "task", "--plan-auto-approve", ...extra]);
			assert.equal(auto.code, 2, auto.stderr);
			assertMessage(auto.stderr, "plan-stepdown: --plan-auto-approve cannot plan:");
			assert.equal(auto.stdout, "");
			assert.equal(env.mock.requests.length, 1, "--plan-auto-approve made no request");
		});
	}
});

// ---------------------------------------------------------------------------------------------
// scenario 11: the flag before the task
// ---------------------------------------------------------------------------------------------

describe("--plan-auto-approve before the task", () => {
	const message =
		'plan-stepdown: --plan-auto-approve takes no value, so pi read "Fix the bug" as the flag\'s value and has no task to run.\n' +
		'Put the task first: pi -p "Fix the bug" --plan-auto-approve\n';

	test('pi -p --plan-auto-approve "task": exit 2, the right order on stderr, no request', async (t) => {
		const env = await setup(t, { planConfig: SAME_PROVIDER_LADDER, script: [{ text: "should not run" }] });
		const r = await env.run(["-p", "--plan-auto-approve", "Fix the bug"]);
		assert.equal(r.code, 2);
		assert.equal(r.stderr, message);
		assert.equal(r.stdout, "");
		assert.equal(env.mock.requests.length, 0);
	});

	test('pi --mode json --plan-auto-approve "task": exit 2, no run, stdout stays JSON', async (t) => {
		const env = await setup(t, { planConfig: SAME_PROVIDER_LADDER, script: [{ text: "should not run" }] });
		const r = await env.run(["--mode", "json", "--plan-auto-approve", "Fix the bug"]);
		assert.equal(r.code, 2);
		assert.equal(r.stderr, message);
		assert.deepEqual(
			parseJsonLines(r.stdout).map((e) => e.type),
			["session"],
		);
		assert.equal(env.mock.requests.length, 0);
	});
});

// ---------------------------------------------------------------------------------------------
// commands in print mode
// ---------------------------------------------------------------------------------------------

describe("commands in print mode", () => {
	test("pi -p /stepdown prints the report on stdout: mode, the real ladder, the file that set each value", async (t) => {
		const env = await setup(t, { planConfig: SAME_PROVIDER_LADDER, script: [] });
		const r = await env.run(["-p", "/stepdown"]);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(env.mock.requests.length, 0);
		const lines = r.stdout.split("\n");
		assert.equal(lines[0], "plan-stepdown: mode off, cursor 0");
		for (const rung of [
			"  [0] oai/gpt-big:xhigh  web_search high",
			"  [1] oai/gpt-mid:high  web_search high",
			"  [2] oai/gpt-mid:medium  web_search medium",
			"  [3] oai/gpt-small:medium  web_search medium",
			"  [4] oai/gpt-small:low  web_search low",
		]) {
			assert.ok(lines.includes(rung), `report has ${JSON.stringify(rung)}:\n${r.stdout}`);
		}
		assert.ok(lines.includes(`  /provider = "oai"  ← ${env.projectConfig}`), r.stdout);
		assert.ok(
			lines.some((l) => l.startsWith('  /ladder = [{"modelId":"gpt-big"') && l.endsWith(`  ← ${env.projectConfig}`)),
			r.stdout,
		);
		assert.ok(lines.includes('  /openaiPromptCache/retention = "24h"  ← built-in defaults'), r.stdout);
		assert.equal(r.stderr, "", "nothing on stderr");
	});

	test("accounting.summary: false: no summary line and no summary entry", async (t) => {
		const env = await setup(t, {
			planConfig: { ...SAME_PROVIDER_LADDER, accounting: { summary: false } },
			script: [u({ text: PLAN_TEXT }), u(write("hello.txt", "hi\n")), u({ text: "All done." })],
		});
		const r = await env.run(["-p", "make hello", "--plan-auto-approve"]);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout, "All done.\n");
		assert.equal(r.stderr, APPROVED, "the approved plan, no summary line");
		const entries = env.session();
		assert.equal(calls(entries).length, 3, "the calls are still recorded: /stepdown can still show the costs");
		assert.deepEqual(summaryRecords(entries), []);
	});

	test("pi --mode json /stepdown: the report goes to stderr, stdout stays JSON", async (t) => {
		const env = await setup(t, { planConfig: SAME_PROVIDER_LADDER, script: [] });
		const r = await env.run(["--mode", "json", "/stepdown"]);
		assert.equal(r.code, 0, r.stderr);
		assert.deepEqual(
			parseJsonLines(r.stdout).map((e) => e.type),
			["session"],
		);
		assert.match(r.stderr, /^plan-stepdown: mode off, cursor 0\n/);
		assert.ok(r.stderr.includes("\n  [4] oai/gpt-small:low  web_search low\n"), r.stderr);
	});

	test('pi -p "/plan <task>" plans on rung 0 with read-only tools and exits after the planning run', async (t) => {
		const env = await setup(t, {
			planConfig: SAME_PROVIDER_LADDER,
			files: { "hello.txt": "keep me\n" },
			agentFiles: PARSER_MODE, // refusals; test/e2e/plan-sandbox.test.ts covers the sandbox
			script: [u(bash("cat hello.txt")), u(bash("rm -f hello.txt")), u({ text: PLAN_TEXT })],
		});
		const r = await env.run(["-p", "/plan Tidy up hello.txt"]);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout, `${PLAN_TEXT}\n`, "the plan is the answer");
		assert.equal(r.stderr, `${summaryLine([BIG, BIG, BIG], 0)}\n`);
		const reqs = env.mock.requests;
		assert.deepEqual(modelEffort(reqs), ["gpt-big/xhigh", "gpt-big/xhigh", "gpt-big/xhigh"]);
		assert.deepEqual(
			reqs.map((q) => sorted(q.toolNames)),
			[PLAN_TOOLS, PLAN_TOOLS, PLAN_TOOLS],
		);
		assert.equal(reqs[0].lastUserText, "Tidy up hello.txt");
		assert.equal(reqs[1].toolResults[0].text, "keep me\n");
		assert.match(reqs[2].toolResults[0].text, /^plan-stepdown: refused while planning/);
		assert.equal(readFileSync(join(env.sb.projectDir, "hello.txt"), "utf8"), "keep me\n", "rm was refused");

		const entries = env.session();
		assert.deepEqual(
			states(entries).map((s) => `${s.mode}/${s.autoApprove}`),
			["planning/false"],
		);
		assert.deepEqual(
			calls(entries).map((c) => `${c.rung}:${c.phase}:${c.model}:${c.thinking}`),
			reqs.map(() => "0:planning:oai/gpt-big:xhigh"),
		);
		assertCallsPaired(entries);
	});

	test('pi -p "/plan" alone makes no request and prints nothing', async (t) => {
		const env = await setup(t, { planConfig: SAME_PROVIDER_LADDER, script: [{ text: "should not run" }] });
		const r = await env.run(["-p", "/plan"]);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout, "");
		assert.equal(r.stderr, "");
		assert.equal(env.mock.requests.length, 0);
	});
});
