/**
 * The plan-mode corpus (issue 10): every mutating command goes through the real plan-mode decision and, when it
 * is allowed to run, is run with bash in a scratch git repository; nothing may change. Every read-only command must
 * run and exit 0. Both protections: the bubblewrap sandbox and the parser fallback. A baseline run without plan mode
 * shows the mutating commands really mutate (so "nothing changed" means something).
 *
 * Commands that may write always run inside a jail where only the scratch tree is writable (test/helpers), so a hole
 * in the check damages the scratch repository, never the machine.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type PlanBashConfig, type Protection, planBashDecision } from "../../src/plan-bash.ts";
import { probeSandbox } from "../../src/plan-sandbox.ts";
import {
	createScratch,
	differences,
	jailed,
	keepPristine,
	type Ran,
	runBash,
	runMany,
	type Scratch,
	snapshot,
} from "../helpers/scratch-repo.ts";

interface Corpus {
	mutating: Record<string, string[]>;
	readOnly: Record<string, string[]>;
}
const corpus = JSON.parse(
	readFileSync(new URL("../fixtures/plan-bash-corpus.json", import.meta.url), "utf8"),
) as Corpus;
const mutating = Object.values(corpus.mutating).flat();
const readOnly = Object.values(corpus.readOnly).flat();
const config: PlanBashConfig = { allow: [], deny: [], sandbox: "auto", network: false };
const hasSandbox = probeSandbox().kind === "bubblewrap";
/** Read-only commands may be refused or fail in at most this share (issue 10's target). */
const MAX_REFUSED_SHARE = 0.05;

let dir: string;
let s: Scratch;
let restore: () => void;
let pristine: Map<string, string>;

before(() => {
	dir = mkdtempSync(join(tmpdir(), "plan-corpus-"));
	s = createScratch(join(dir, "scratch"));
	restore = keepPristine(s);
	pristine = snapshot(s);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs one command (inside the jail), returns what it changed and puts the scratch tree back if needed. */
function runAndCompare(command: string): { diffs: string[]; status: number | null; output: string } {
	const ran = runBash(s, hasSandbox ? jailed(s, command) : command);
	const diffs = differences(pristine, snapshot(s));
	if (diffs.length > 0) restore();
	return { diffs, status: ran.status, output: ran.output };
}

interface Outcome {
	command: string;
	ran: Ran;
	diffs: string[];
}

/**
 * Runs commands that should change nothing: a batch at a time, concurrently, with one snapshot per batch. A batch that
 * changed something is run again one command at a time, so the culprit is named. `toRun` gives the command to run.
 */
async function runExpectingNoChange(
	commands: readonly string[],
	toRun: (c: string) => string,
	timeoutMs: number,
): Promise<Outcome[]> {
	const out: Outcome[] = [];
	for (let start = 0; start < commands.length; start += BATCH) {
		const batch = commands.slice(start, start + BATCH);
		const ran = await runMany(s, batch.map(toRun), CONCURRENCY, timeoutMs);
		const diffs = differences(pristine, snapshot(s));
		if (diffs.length === 0) {
			for (const [i, command] of batch.entries()) out.push({ command, ran: ran[i], diffs: [] });
			continue;
		}
		restore();
		for (const command of batch) {
			const [one] = await runMany(s, [toRun(command)], 1, timeoutMs);
			const d = differences(pristine, snapshot(s));
			if (d.length) restore();
			out.push({ command, ran: one, diffs: d.length ? d : [] });
		}
	}
	return out;
}

const BATCH = 25;
const CONCURRENCY = 6;
/** Editors and loops that the sandbox keeps from finishing (vi waiting, `until rm f`) are cut off here. */
const TIMEOUT_MS = 2_000;

function report(title: string, lines: string[]): void {
	if (lines.length) process.stdout.write(`# ${title}:\n${lines.map((l) => `#   ${l}`).join("\n")}\n`);
}

describe("plan-mode corpus", () => {
	test("corpus size: at least 300 mutating and 120 read-only commands", () => {
		assert.ok(mutating.length >= 300, `${mutating.length}`);
		assert.ok(readOnly.length >= 120, `${readOnly.length}`);
		assert.equal(new Set([...mutating, ...readOnly]).size, mutating.length + readOnly.length, "no duplicates");
	});

	// Slow (every command unprotected, one snapshot each; about 3 minutes): PLAN_CORPUS_BASELINE=1 runs it.
	test("baseline: without plan mode, most mutating commands change the scratch repository", {
		skip:
			(!hasSandbox && "needs bwrap for the jail") ||
			(!process.env.PLAN_CORPUS_BASELINE && "set PLAN_CORPUS_BASELINE=1"),
	}, () => {
		let changed = 0;
		for (const command of mutating) if (runAndCompare(command).diffs.length > 0) changed++;
		process.stdout.write(
			`# baseline: ${changed} of ${mutating.length} mutating commands changed something unprotected\n`,
		);
		assert.ok(
			changed >= mutating.length * 0.6,
			`only ${changed} of ${mutating.length} mutate: the corpus proves little`,
		);
	});

	test("parser fallback: no mutating command is allowed, nothing changes", () => {
		const protection: Protection = { kind: "parser" };
		const allowed: string[] = [];
		const changedAny: string[] = [];
		for (const command of mutating) {
			const d = planBashDecision(command, config, protection);
			if (d.action === "block") continue;
			allowed.push(command);
			const r = runAndCompare(d.command);
			if (r.diffs.length) changedAny.push(`${JSON.stringify(command)}: ${r.diffs.slice(0, 3).join(", ")}`);
		}
		report("parser: mutating commands allowed", allowed);
		process.stdout.write(
			`# parser: ${allowed.length} of ${mutating.length} mutating allowed, ${changedAny.length} changed something\n`,
		);
		assert.deepEqual(changedAny, []);
		assert.deepEqual(allowed, []);
	});

	test("parser fallback: read-only commands run (at most 5% refused or failing)", async () => {
		const protection: Protection = { kind: "parser" };
		const refused: string[] = [];
		const runnable: string[] = [];
		for (const command of readOnly) {
			const d = planBashDecision(command, config, protection);
			if (d.action === "block") refused.push(`${JSON.stringify(command)}: ${d.reason}`);
			else runnable.push(d.command);
		}
		const outcomes = await runExpectingNoChange(runnable, (c) => (hasSandbox ? jailed(s, c) : c), TIMEOUT_MS * 5);
		const failed = outcomes
			.filter((o) => o.ran.status !== 0)
			.map((o) => `${JSON.stringify(o.command)}: exit ${o.ran.status} ${o.ran.output.slice(0, 120)}`);
		const changedAny = outcomes
			.filter((o) => o.diffs.length)
			.map((o) => `${JSON.stringify(o.command)}: ${o.diffs.join(", ")}`);
		report("parser: read-only refused", refused);
		report("parser: read-only failed", failed);
		process.stdout.write(
			`# parser: ${refused.length} of ${readOnly.length} read-only refused, ${failed.length} failed\n`,
		);
		assert.deepEqual(changedAny, []);
		assert.ok(
			refused.length + failed.length <= readOnly.length * MAX_REFUSED_SHARE,
			`${refused.length} refused, ${failed.length} failed`,
		);
	});

	test("sandbox: no mutating command changes anything", {
		skip: !hasSandbox && "bwrap cannot start here",
	}, async () => {
		const protection: Protection = { kind: "sandbox", sandbox: "bubblewrap" };
		const toRun = (command: string) => {
			const d = planBashDecision(command, config, protection);
			assert.equal(d.action, "run");
			return d.action === "run" ? d.command : "false";
		};
		// The sandbox is what is tested here, so it is not nested in the jail.
		const outcomes = await runExpectingNoChange(mutating, toRun, TIMEOUT_MS);
		const changedAny = outcomes
			.filter((o) => o.diffs.length)
			.map((o) => `${JSON.stringify(o.command)}: ${o.diffs.slice(0, 3).join(", ")}`);
		const readOnlyErrors = outcomes.filter((o) => /Read-only file system/.test(o.ran.output)).length;
		process.stdout.write(
			`# sandbox: ${changedAny.length} of ${mutating.length} mutating changed something; ${readOnlyErrors} said "Read-only file system"\n`,
		);
		assert.deepEqual(changedAny, []);
	});

	test("sandbox: read-only commands run (at most 5% failing)", {
		skip: !hasSandbox && "bwrap cannot start here",
	}, async () => {
		const protection: Protection = { kind: "sandbox", sandbox: "bubblewrap" };
		const toRun = (command: string) => {
			const d = planBashDecision(command, config, protection);
			return d.action === "run" ? d.command : "false";
		};
		const outcomes = await runExpectingNoChange(readOnly, toRun, TIMEOUT_MS * 5);
		const failed = outcomes
			.filter((o) => o.ran.status !== 0)
			.map((o) => `${JSON.stringify(o.command)}: exit ${o.ran.status} ${o.ran.output.slice(0, 120)}`);
		const changedAny = outcomes
			.filter((o) => o.diffs.length)
			.map((o) => `${JSON.stringify(o.command)}: ${o.diffs.join(", ")}`);
		report("sandbox: read-only failed", failed);
		process.stdout.write(`# sandbox: ${failed.length} of ${readOnly.length} read-only failed\n`);
		assert.deepEqual(changedAny, []);
		assert.ok(failed.length <= readOnly.length * MAX_REFUSED_SHARE, `${failed.length} failed`);
	});
});
