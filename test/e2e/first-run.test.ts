/**
 * The first ten minutes, on the real pi binary of the line under test: `pi -e .` inside the clone, `/plan` with no
 * ladder, and `/plan` typed while an implementation run is still working.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { agentEndWith, eventAfter, hasPlanBlock, onlySession, send, stateRecords, uiAfter } from "../helpers/e2e.ts";
import { REPO_ROOT, startPiRpc } from "../helpers/pi-harness.ts";
import { PI_LINE } from "../helpers/pi-line.ts";
import { startRig } from "../helpers/rig.ts";
import { bash, PLAN_TEXT, PROVIDERS, SAME_PROVIDER_LADDER, USER_SETTINGS, write } from "./fixtures.ts";

const execFileAsync = promisify(execFile);
const gitStatus = () => execFileSync("git", ["status", "--porcelain"], { cwd: REPO_ROOT, encoding: "utf8" });

test("pi -e . inside the clone: the clone's own .pi/extensions copy steps aside, pi runs with one copy", async (t) => {
	const { run } = await startRig(t, {
		providers: PROVIDERS,
		settings: USER_SETTINGS,
		script: [{ text: "Hello from your own model." }],
		checkAfter: true,
	});
	const before = gitStatus();
	// pi 1.x loads a project's .pi/extensions only in a trusted project: -a trusts the clone for this process.
	const trust = PI_LINE === "1" ? ["-a"] : [];
	const r = await run([...trust, "-p", "hello"], { cwd: REPO_ROOT });
	assert.equal(r.code, 0, r.stderr);
	assert.equal(r.stdout, "Hello from your own model.\n");
	assert.doesNotMatch(r.stderr, /conflicts with|Failed to load extension/);
	// The clone's example ladder has no keys here: said once, so exactly one copy of the extension is loaded.
	assert.equal(r.stderr.split("plan-stepdown is unusable until this is fixed").length - 1, 1, r.stderr);
	assert.equal(gitStatus(), before, "the run left the clone as it was");
});

test("/plan with no ladder: one line naming where a ladder goes and the package's schema file", async (t) => {
	const { run, mock, sandbox } = await startRig(t, {
		providers: PROVIDERS,
		settings: USER_SETTINGS,
		script: [{ text: PLAN_TEXT }],
		checkAfter: true,
	});
	const r = await run(["-p", "/plan Tidy up"]);
	assert.equal(r.code, 0, r.stderr);
	assert.equal(r.stdout, `${PLAN_TEXT}\n`, "it still plans, on the current model");
	const schema = join(REPO_ROOT, "plan-stepdown.schema.json");
	const line = `plan-stepdown: plan mode on, but no ladder is configured, so every call uses your current model. Add a ladder to .pi/plan-stepdown.json or ${join(sandbox.agentDir, "plan-stepdown.json")} ("$schema": "${schema}").`;
	assert.ok(r.stderr.split("\n").includes(line), `stderr has the line:\n${line}\n--- stderr ---\n${r.stderr}`);
	assert.ok(existsSync(schema), "the $schema path is a file on disk: it works offline");
	assert.equal(mock.requests.length, 1);
});

test("/plan while an implementation run is working is refused; the run's answer is not offered as a plan", async (t) => {
	const { mock, sandbox, checkSettings } = await startRig(t, {
		providers: PROVIDERS,
		settings: USER_SETTINGS,
		planConfig: SAME_PROVIDER_LADDER,
		script: [{ text: PLAN_TEXT }],
	});
	const rpc = startPiRpc(sandbox, [], { extension: "." });
	t.after(() => rpc.close());

	let mark = rpc.events.length;
	await send(rpc, "/plan Create hello.txt");
	const dialog = await uiAfter(rpc, mark, "select");
	// The implementation's first call runs a bash command that waits for a file the test creates: the run is working
	// for as long as the test needs, with no clock involved.
	mock.setScript([bash("until [ -f release ]; do sleep 0.05; done; echo released"), { text: "Implemented." }]);
	mark = rpc.events.length;
	rpc.respondUi(dialog.id, { value: "Start implementation" });
	await eventAfter(rpc, mark, (e) => e.type === "tool_execution_start" && e.toolName === "bash", "the waiting bash");

	const before = rpc.events.length;
	await send(rpc, "/plan Something else");
	const refused = await uiAfter(rpc, before, "notify", (e) => (e.message ?? "").includes("/plan refused"));
	assert.match(refused.message ?? "", /^plan-stepdown: \/plan refused:\nthe agent is still implementing; wait/);
	writeFileSync(join(sandbox.projectDir, "release"), "");
	await agentEndWith(rpc, mark, "Implemented.");

	const requests = mock.requests.slice(1);
	assert.equal(requests.length, 2, "the implementation's two calls, nothing planned");
	assert.ok(
		requests.every((q) => !hasPlanBlock(q)),
		"no call of the run was turned into planning",
	);
	assert.equal(requests[1].toolResults[0]?.text.trim(), "released");
	const dialogs = rpc.events.slice(before).filter((e) => e.type === "extension_ui_request" && e.method === "select");
	assert.deepEqual(dialogs, [], "the run's answer was not offered as a plan");
	await rpc.close();
	assert.deepEqual(
		stateRecords(onlySession(sandbox).entries).map((s) => s.mode),
		["planning", "implementing"],
	);
	checkSettings();
});

test("install and uninstall from a local path, as the README says (pi 1.x: -a, the project must be trusted)", async (t) => {
	const { run, sandbox } = await startRig(t, { providers: PROVIDERS, settings: USER_SETTINGS, checkAfter: true });
	const trust = PI_LINE === "1" ? ["-a"] : [];
	const projectPackages = () =>
		(JSON.parse(readFileSync(join(sandbox.projectDir, ".pi", "settings.json"), "utf8")) as { packages: string[] })
			.packages;
	const install = await run(["install", "-l", REPO_ROOT, ...trust], { extension: [] });
	assert.equal(install.code, 0, install.stderr);
	assert.equal(projectPackages().length, 1);
	const help = await run(["--help", ...trust], { extension: [] });
	assert.match(help.stdout + help.stderr, /--plan-auto-approve/, "the installed package's flags are listed");
	const remove = await run(["remove", "-l", REPO_ROOT, ...trust], { extension: [] });
	assert.equal(remove.code, 0, remove.stderr);
	assert.deepEqual(projectPackages(), []);
});

test("npm run demo -- --keep: the ladder with the fixtures' prices, the run, the /stepdown report, the session kept", async () => {
	const { stdout } = await execFileAsync(process.execPath, ["--import", "tsx", "test/demo/demo.ts", "--keep"], {
		cwd: REPO_ROOT,
		env: { ...process.env, PI_LINE },
		timeout: 180_000,
	});
	assert.match(stdout, /Prices are the test fixtures', made up/);
	assert.match(stdout, /\n {2}\[0\] oai\/gpt-big:high {2}\$5\/\$40 per M tokens in\/out\n/);
	assert.match(stdout, /\nexit code 0\n/);
	const report = stdout.slice(stdout.indexOf('$ pi -c -p "/stepdown"'));
	assert.match(report, /mode implementing/);
	assert.match(report, /total 8 calls: \$\d+\.\d{4}/);
	const kept = /\nsession file kept: (\S+\.jsonl)\n/.exec(stdout)?.[1];
	assert.ok(kept && existsSync(kept), `the kept session file exists:\n${stdout}`);
	try {
		const records = readFileSync(kept, "utf8")
			.split("\n")
			.filter((l) => l.includes('"plan-stepdown:call"'));
		assert.equal(records.length, 8, "the kept file is the demo's session");
	} finally {
		rmSync(kept, { force: true });
	}
});

test('what pi -p "/plan task" leaves behind: a session in plan mode that pi -c -p … --plan-auto-approve implements', async (t) => {
	const { run, mock, sandbox } = await startRig(t, {
		providers: PROVIDERS,
		settings: USER_SETTINGS,
		planConfig: SAME_PROVIDER_LADDER,
		script: [{ text: PLAN_TEXT }],
		checkAfter: true,
	});
	const planned = await run(["-p", "/plan Create hello.txt"]);
	assert.equal(planned.code, 0, planned.stderr);
	assert.equal(planned.stdout, `${PLAN_TEXT}\n`);
	assert.deepEqual(
		stateRecords(onlySession(sandbox).entries).map((s) => s.mode),
		["planning"],
	);

	mock.setScript([{ text: PLAN_TEXT }, write("hello.txt", "Hello\n"), { text: "Done." }]);
	const implemented = await run(["-c", "-p", "Go ahead with the plan", "--plan-auto-approve"]);
	assert.equal(implemented.code, 0, implemented.stderr);
	assert.equal(implemented.stdout, "Done.\n");
	assert.equal(readFileSync(join(sandbox.projectDir, "hello.txt"), "utf8"), "Hello\n");
	const requests = mock.requests.slice(1);
	assert.deepEqual(
		requests.map((q) => hasPlanBlock(q)),
		[true, false, false],
		"the continued session plans once more on rung 0, then implements",
	);
	assert.equal(requests[0].lastUserText, "Go ahead with the plan");
	assert.deepEqual(
		stateRecords(onlySession(sandbox).entries).map((s) => s.mode),
		["planning", "planning", "implementing"],
	);

	// A past session's cost, headless, from another directory: --session <file> -p "/stepdown".
	const report = await run(["--session", onlySession(sandbox).file, "-p", "/stepdown"], { cwd: sandbox.root });
	assert.equal(report.code, 0, report.stderr);
	assert.match(report.stdout, /total 4 calls: \$\d+\.\d{4}/);
});
