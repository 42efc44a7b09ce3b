/**
 * Stepping modes on the real pi binary: the same scripted run under `stepping: "per-call"` and `"cache-aware"`. The
 * replies report a 100k-token prompt, so a warm rung's cache reads (a tenth of the input price) can beat a colder,
 * cheaper rung: cache-aware stays on the warm stronger rung, and the call entry says why.
 */
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { callRecords, onlySession, wireLabels } from "../helpers/e2e.ts";
import type { MockReply } from "../helpers/mock-llm.ts";
import { runPi } from "../helpers/pi-harness.ts";
import { startRig } from "../helpers/rig.ts";
import { bash, PLAN_TEXT, PROVIDERS, SAME_PROVIDER_LADDER, USER_SETTINGS } from "./fixtures.ts";

/** A long session's prompt: 100k tokens, mostly read from the provider's cache once it is warm. */
const big = (reply: MockReply, cached: number): MockReply => ({
	...reply,
	usage: { input: 100_000 - cached, output: 200, cacheRead: cached },
});

async function runWith(t: TestContext, stepping: "per-call" | "cache-aware") {
	const { mock, sandbox, checkSettings } = await startRig(t, {
		providers: PROVIDERS,
		settings: USER_SETTINGS,
		planConfig: { ...SAME_PROVIDER_LADDER, stepping },
		script: [
			big({ text: PLAN_TEXT }, 0),
			// Different commands: the same call three times would be a loop, which escalates to rung 0.
			big(bash("ls"), 0),
			big(bash("ls -a"), 90_000),
			big(bash("ls -l"), 90_000),
			big({ text: "Done." }, 90_000),
		],
	});
	const r = await runPi(sandbox, ["-p", "task", "--plan-auto-approve"], { extension: ".", timeoutMs: 30_000 });
	assert.equal(r.code, 0, r.stderr);
	checkSettings();
	return { labels: wireLabels(mock.requests), calls: callRecords(onlySession(sandbox).entries) };
}

test("per-call: every call on the ladder's rung", async (t) => {
	const { labels } = await runWith(t, "per-call");
	assert.deepEqual(labels, [
		"oai/gpt-big:xhigh",
		"oai/gpt-mid:high",
		"oai/gpt-mid:medium",
		"oai/gpt-small:medium",
		"oai/gpt-small:low",
	]);
});

test("cache-aware: stays on the warm stronger rung where a cold cheaper one costs more; the entry says why", async (t) => {
	const { labels, calls } = await runWith(t, "cache-aware");
	assert.equal(labels[0], "oai/gpt-big:xhigh", "planning on rung 0");
	assert.equal(labels[1], "oai/gpt-mid:high", "the kickoff on rung 1 (no warm cache to weigh yet)");
	// The ladder names rung 2 (gpt-mid at another effort, a different cache): rung 1's warm cache is cheaper.
	assert.equal(labels[2], "oai/gpt-mid:high", `stayed warm: ${labels.join(", ")}`);
	const kept = calls.find((c) => (c as { ladderRung?: number }).ladderRung !== undefined) as
		| { rung: number; ladderRung: number; why: string }
		| undefined;
	assert.ok(kept, "a call entry records the ladder's rung and the rung used");
	assert.equal(kept.rung, 1);
	assert.equal(kept.ladderRung, 2);
	assert.match(kept.why, /^warm: rung 1's cache makes the next 4 calls \$\d+\.\d{4} cheaper than rung 2$/);
	// Never weaker than the ladder: each call's rung is at most the ladder's.
	for (const c of calls as { rung: number; ladderRung?: number }[]) assert.ok(c.rung <= (c.ladderRung ?? c.rung));
});
