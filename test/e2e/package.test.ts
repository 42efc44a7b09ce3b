/**
 * The published artifact: `npm pack` of this repo, unpacked where no node_modules can be found, its one runtime
 * dependency (mvdan-sh, the plan-mode parser) installed as npm would for `pi install npm:…` (peers left to pi),
 * installed with `pi install -l <dir>` and used by the real pi binary with no `-e`, with the plan-mode parser on.
 * This proves what a unit test cannot: the tarball holds every module the extension imports, the parser loads under
 * pi's loader, the `pi.extensions` manifest is right, and `@mariozechner/pi-*` and `typebox` come from pi at run
 * time, not from our node_modules.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type MockLlm, startMockLlm } from "../helpers/mock-llm.ts";
import { makeSandbox, REPO_ROOT, runPi, type Sandbox } from "../helpers/pi-harness.ts";
import { PI_LINE } from "../helpers/pi-line.ts";
import { bash, PLAN_TEXT, PROVIDERS, SAME_PROVIDER_LADDER, USER_SETTINGS, write } from "./fixtures.ts";

interface PackResult {
	filename: string;
	files: { path: string }[];
}

function npmPack(destination: string): PackResult {
	const npm = spawnSync("npm", ["pack", "--json", "--pack-destination", destination], {
		cwd: REPO_ROOT,
		encoding: "utf8",
		env: { ...process.env, npm_config_loglevel: "error" },
	});
	assert.equal(npm.status, 0, npm.stderr);
	const [result] = JSON.parse(npm.stdout) as PackResult[];
	assert.ok(result);
	return result;
}

describe("the npm tarball, installed as a pi package", () => {
	let mock: MockLlm;
	let sb: Sandbox;
	let pack: PackResult;
	let packageDir: string;

	before(async () => {
		mock = await startMockLlm({ providers: PROVIDERS, script: [] });
		sb = makeSandbox({
			mock,
			settings: USER_SETTINGS,
			planConfig: SAME_PROVIDER_LADDER,
			// The parser fallback, so plan-mode bash loads mvdan-sh from the installed package.
			agentFiles: { "plan-stepdown.json": JSON.stringify({ planBash: { sandbox: "off" } }) },
		});
		const tarballs = join(sb.root, "tarballs");
		mkdirSync(tarballs);
		pack = npmPack(tarballs);
		// Outside the project and the repo: no node_modules on the way up from here.
		packageDir = join(sb.root, "installed");
		mkdirSync(packageDir);
		const tar = spawnSync("tar", ["-xzf", join(tarballs, pack.filename), "-C", packageDir, "--strip-components=1"]);
		assert.equal(tar.status, 0, String(tar.stderr));
		// What npm does for `pi install npm:pi-plan-stepdown`, minus the peers pi provides (from the npm cache first).
		const deps = spawnSync(
			"npm",
			[
				"install",
				"--omit=dev",
				"--legacy-peer-deps",
				"--prefer-offline",
				"--no-audit",
				"--no-fund",
				"--no-package-lock",
			],
			{ cwd: packageDir, encoding: "utf8", env: { ...process.env, npm_config_loglevel: "error" } },
		);
		assert.equal(deps.status, 0, deps.stderr);
	});

	after(async () => {
		sb?.cleanup();
		await mock?.close();
	});

	test("holds the extension's sources and docs, no tests or config, and only the parser as a dependency", () => {
		const sources = readdirSync(join(REPO_ROOT, "src"))
			.filter((f) => f.endsWith(".ts"))
			.map((f) => `src/${f}`);
		assert.deepEqual(
			pack.files.map((f) => f.path).sort(),
			[
				"CHANGELOG.md",
				"LICENSE",
				"README.md",
				"bin/pi-plan-stepdown.mjs",
				"models.example.json",
				"package.json",
				"plan-stepdown.schema.json",
				...sources,
			].sort(),
		);
		const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as {
			pi: { extensions: string[] };
			bin: Record<string, string>;
			dependencies?: unknown;
			peerDependencies: Record<string, string>;
		};
		assert.deepEqual(manifest.pi.extensions, ["./src/index.ts"]);
		assert.deepEqual(manifest.bin, { "pi-plan-stepdown": "bin/pi-plan-stepdown.mjs" });
		assert.deepEqual(manifest.dependencies, { "mvdan-sh": "0.10.1" }, "pi provides the rest of what we import");
		assert.deepEqual(
			readdirSync(join(packageDir, "node_modules")).filter((name) => !name.startsWith(".")),
			["mvdan-sh"],
			"no peer installed beside it",
		);
		assert.deepEqual(manifest.peerDependencies, {
			"@mariozechner/pi-ai": "*",
			"@mariozechner/pi-coding-agent": "*",
			typebox: "*",
		});
		for (let dir = join(packageDir, ".."); dir !== "/"; dir = join(dir, "..")) {
			assert.ok(!existsSync(join(dir, "node_modules")), `no node_modules above the package: ${dir}`);
		}
	});

	test("the replay command runs from the installed package on plain node, with only its peers beside it", () => {
		// As npx lays it out: node_modules/pi-plan-stepdown (the unpacked tarball) next to its peer dependencies.
		const modules = join(sb.root, "npx", "node_modules");
		cpSync(packageDir, join(modules, "pi-plan-stepdown"), { recursive: true });
		for (const peer of ["@mariozechner", "typebox"])
			symlinkSync(join(REPO_ROOT, "node_modules", peer), join(modules, peer));
		const config = join(sb.root, "ladder.json");
		writeFileSync(
			config,
			JSON.stringify({ provider: "openai", ladder: [{ modelId: "gpt-5.5" }, { modelId: "gpt-5.4-mini" }] }),
		);
		const session = join(REPO_ROOT, "test", "fixtures", "pi-sessions", "pi-0.73.1-e2e.jsonl");
		const run = spawnSync(
			process.execPath,
			[join(modules, "pi-plan-stepdown", "bin", "pi-plan-stepdown.mjs"), "replay", session, "--config", config],
			{
				cwd: sb.projectDir,
				encoding: "utf8",
				env: { PATH: process.env.PATH, HOME: sb.homeDir, PI_CODING_AGENT_DIR: sb.agentDir },
			},
		);
		assert.equal(run.status, 0, run.stderr);
		assert.match(run.stdout, /replay on .*ladder\.json \(per-call stepping\): 7 calls/);
		assert.match(run.stdout, /openai\/gpt-5\.4-mini/);
		assert.match(run.stdout, /identical tokens/);
	});

	test("pi install -l <dir>, then plan, approve and implement with no -e", async () => {
		const userSettings = readFileSync(join(sb.agentDir, "settings.json"));
		const install = await runPi(sb, ["install", "-l", packageDir]);
		assert.equal(install.code, 0, install.stderr);
		const projectSettings = JSON.parse(readFileSync(join(sb.projectDir, ".pi", "settings.json"), "utf8")) as {
			packages: unknown[];
		};
		assert.equal(projectSettings.packages.length, 1, JSON.stringify(projectSettings));

		mock.setScript([
			bash("ls"),
			{ text: PLAN_TEXT },
			write("hello.txt", "Hello from the tarball\n"),
			{ text: "Done." },
		]);
		// pi 1.x loads project-local packages only in a trusted project (-a: trust it for this process).
		const trust = PI_LINE === "1" ? ["-a"] : [];
		const r = await runPi(sb, [...trust, "-p", "Create hello.txt", "--plan-auto-approve"], { timeoutMs: 30_000 });
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout, "Done.\n");
		assert.match(r.stderr, /^plan-stepdown: plan approved \(--plan-auto-approve\)[\s\S]*^plan-stepdown: 4 calls, /m);
		assert.deepEqual(
			mock.requests.map((q) => `${q.model}/${q.effort}`),
			["gpt-big/xhigh", "gpt-big/xhigh", "gpt-mid/high", "gpt-mid/medium"],
		);
		assert.equal(readFileSync(join(sb.projectDir, "hello.txt"), "utf8"), "Hello from the tarball\n");
		const ls = mock.requests[1].toolResults.map((x) => x.text).join("\n");
		assert.doesNotMatch(ls, /plan-stepdown: refused/, "the parser loaded and allowed ls");
		assert.deepEqual(readFileSync(join(sb.agentDir, "settings.json")), userSettings, "the user's settings untouched");
	});
});
