/**
 * Plan mode is read-only on the real pi binary: a scripted planner (the mock LLM) tries a dozen writing commands
 * from the corpus in a git repository. With the sandbox (bubblewrap) they run and the OS refuses the writes, and the
 * tool results tell the model plan mode is read-only; with the parser fallback (planBash.sandbox "off" in the
 * user's config) they are refused before they run. Either way nothing in the project changes.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, type TestContext, test } from "node:test";
import { probeSandbox } from "../../src/plan-sandbox.ts";
import type { MockReply } from "../helpers/mock-llm.ts";
import { startRig } from "../helpers/rig.ts";
import { differences, type Scratch, snapshot } from "../helpers/scratch-repo.ts";
import { bash, PARSER_MODE, PLAN_TEXT, PROVIDERS, SAME_PROVIDER_LADDER, USER_SETTINGS } from "./fixtures.ts";

const ATTEMPTS = [
	"rm -f hello.txt",
	"env unlink hello.txt",
	"echo pwned > pwn.txt",
	"sed -i s/keep/lost/ hello.txt",
	"find . -name hello.txt -delete",
	"git branch evil",
	"git config user.name evil",
	`awk 'BEGIN{system("touch pwn")}'`,
	`python3 -c "open('pwn', 'w').write('x')"`,
	"ls & unlink hello.txt",
	"cat <(unlink hello.txt)",
	"git tag evil",
	"sort -o hello.txt hello.txt",
];
const hasSandbox = probeSandbox().kind === "bubblewrap";

async function planWithAttempts(t: TestContext, agentFiles: Record<string, string>) {
	const script: MockReply[] = [...ATTEMPTS.map((c) => bash(c)), { text: PLAN_TEXT }];
	const {
		mock,
		sandbox: sb,
		run,
	} = await startRig(t, {
		providers: PROVIDERS,
		script,
		settings: USER_SETTINGS,
		planConfig: SAME_PROVIDER_LADDER,
		files: { "hello.txt": "keep me\n" },
		agentFiles,
		checkAfter: true,
	});
	const git = (...args: string[]) =>
		execFileSync("git", args, { cwd: sb.projectDir, env: { ...process.env, HOME: sb.homeDir } });
	git("init", "-q", "-b", "main");
	git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", "-A");
	git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "first");
	// The snapshot helper expects repo/ under a root: here the project is the repository.
	const scratch: Scratch = { root: sb.root, repo: sb.projectDir, home: sb.homeDir, env: { PATH: process.env.PATH } };
	const onlyProject = (m: Map<string, string>) =>
		new Map([...m].filter(([k]) => k.startsWith("project/") && !k.startsWith("project/.pi/")));
	const before = onlyProject(snapshot(scratch));
	const r = await run(["-p", "/plan Tidy up hello.txt"], { timeoutMs: 60_000 });
	return { r, mock, changed: differences(before, onlyProject(snapshot(scratch))) };
}

describe("plan mode on the real pi binary: a planner that tries to write changes nothing", () => {
	test("sandbox (bubblewrap): the commands run, the OS refuses every write, the results say read-only", {
		skip: !hasSandbox && "bwrap cannot start here",
	}, async (t) => {
		const { r, mock, changed } = await planWithAttempts(t, {});
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout, `${PLAN_TEXT}\n`);
		assert.deepEqual(changed, [], "nothing in the project changed");
		const results = mock.requests.slice(1).map((q) => q.toolResults.map((x) => x.text).join("\n"));
		assert.equal(results.length, ATTEMPTS.length);
		results.forEach((text, i) => {
			assert.match(text, /Read-only file system/, ATTEMPTS[i]);
			assert.match(text, /plan-stepdown: plan mode is read-only/, ATTEMPTS[i]);
		});
	});

	test("parser fallback (planBash.sandbox off in the user's config): every attempt is refused before it runs", async (t) => {
		const { r, mock, changed } = await planWithAttempts(t, PARSER_MODE);
		assert.equal(r.code, 0, r.stderr);
		assert.deepEqual(changed, [], "nothing in the project changed");
		const results = mock.requests.slice(1).map((q) => q.toolResults.map((x) => x.text).join("\n"));
		assert.equal(results.length, ATTEMPTS.length);
		results.forEach((text, i) => {
			assert.match(text, /^plan-stepdown: refused while planning/, ATTEMPTS[i]);
		});
	});
});
