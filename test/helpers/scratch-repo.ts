/**
 * A scratch git repository to run plan-mode bash against, with a snapshot of everything a command could change:
 * the working tree (content, mode, mtime, symlink targets), every file under .git but the index (whose staged
 * content is compared through `git ls-files -s` instead: a read-only `git status` refreshes its stat data), a
 * scratch HOME and a sibling directory outside the repository. Bait for the corpus lives here too: a Makefile, npm
 * scripts, a committed `trap/-delete`, a hostile .gitconfig, scripts that write `pwn`.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
	chmodSync,
	lstatSync,
	mkdirSync,
	readdirSync,
	readFileSync,
	readlinkSync,
	rmSync,
	writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";

export interface Scratch {
	root: string;
	repo: string;
	home: string;
	env: NodeJS.ProcessEnv;
}

const FILES: Record<string, string> = {
	a: "a\nb\na\n",
	f: "f\n",
	b: "b\n",
	"README.md": "# scratch\n\nRun npm install first. Arrow functions => everywhere.\n",
	"package.json": `${JSON.stringify({ name: "scratch", version: "1.0.0", scripts: { build: "touch built", test: "touch tested" } }, null, 2)}\n`,
	"src/index.ts": 'import { bar } from "./util";\n// TODO: error handling\nexport const foo = () => bar();\n',
	"src/util.ts": "export const bar = () => 1;\n",
	"docs/guide.md": "guide\n",
	"list.txt": "f\n",
	"tool.py": "open('pwn', 'w').write('x')\n",
	"evil.cjs": "require('fs').writeFileSync('pwn', 'x');\n",
	"evil.sh": "touch pwn\n",
	"evil.gitconfig": "[core]\n\tpager = touch pwn\n",
	".gitconfig": "[core]\n\tpager = touch pwn\n",
	"bin/ls": "#!/bin/sh\ntouch pwn\n",
	"hooks/pre-commit": "#!/bin/sh\ntouch pwn\n",
	"trap/-delete": "",
	"trap/x": "x\n",
	Makefile: "all:\n\ttouch built\n",
	"change.patch": "--- a/a\n+++ b/a\n@@ -1,3 +1,3 @@\n-a\n+z\n b\n a\n",
};

function git(repo: string, ...args: string[]): string {
	return execFileSync("git", args, { cwd: repo, encoding: "utf8", env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1" } });
}

/** Builds the scratch tree under `root` (which must exist and be empty). */
export function createScratch(root: string): Scratch {
	const repo = join(root, "repo");
	const home = join(root, "home");
	mkdirSync(join(root, "outside"), { recursive: true });
	mkdirSync(home);
	mkdirSync(repo);
	for (const [path, text] of Object.entries(FILES)) {
		mkdirSync(join(repo, path, ".."), { recursive: true });
		writeFileSync(join(repo, path), text);
	}
	chmodSync(join(repo, "bin/ls"), 0o755);
	chmodSync(join(repo, "hooks/pre-commit"), 0o755);
	execFileSync("tar", ["cf", "fixtures.tar", "list.txt"], { cwd: repo });
	execFileSync("sh", ["-c", "xxd a > data.hex && gzip -k a"], { cwd: repo });
	git(repo, "init", "-q", "-b", "main");
	git(repo, "config", "user.name", "test");
	git(repo, "config", "user.email", "test@example.invalid");
	git(repo, "remote", "add", "origin", "https://example.invalid/scratch.git");
	git(repo, "add", "-A");
	git(repo, "commit", "-qm", "first");
	git(repo, "branch", "feature");
	git(repo, "tag", "v1.0");
	writeFileSync(join(repo, "a"), "a\nb\na\nc\n");
	git(repo, "commit", "-qam", "second");
	mkdirSync(join(repo, "docs/empty"));
	const env: NodeJS.ProcessEnv = {
		PATH: process.env.PATH,
		HOME: home,
		LANG: "C.UTF-8",
		TERM: "dumb",
		GIT_CONFIG_NOSYSTEM: "1",
		npm_config_update_notifier: "false",
	};
	return { root, repo, home, env };
}

/** Everything the corpus may change, as one comparable map. */
export function snapshot(s: Scratch): Map<string, string> {
	const out = new Map<string, string>();
	const walk = (dir: string) => {
		for (const name of readdirSync(dir)) {
			const path = join(dir, name);
			const rel = relative(s.root, path);
			const st = lstatSync(path);
			const inGit = rel.startsWith("repo/.git");
			if (rel === "repo/.git/index") continue;
			// mtimes outside .git only: git updates its own directory when a read-only command takes the index lock.
			const time = inGit ? "" : ` ${st.mtimeMs}`;
			if (st.isSymbolicLink()) out.set(rel, `link ${readlinkSync(path)}`);
			else if (st.isDirectory()) {
				out.set(rel, `dir ${st.mode.toString(8)}${inGit ? "" : time}`);
				walk(path);
			} else if (st.isFile()) {
				// git objects are immutable: their names and sizes say whether any was added or removed.
				const hash = rel.startsWith("repo/.git/objects/")
					? String(st.size)
					: createHash("sha1").update(readFileSync(path)).digest("hex");
				out.set(rel, `file ${st.mode.toString(8)} ${hash}${time}`);
			} else out.set(rel, `other ${st.mode.toString(8)}`);
		}
	};
	walk(s.root);
	const staged = spawnSync("git", ["ls-files", "-s"], { cwd: s.repo, encoding: "utf8", env: s.env });
	out.set("(index)", staged.stdout ?? "");
	return out;
}

export function differences(before: Map<string, string>, after: Map<string, string>): string[] {
	const diffs: string[] = [];
	for (const [k, v] of before) if (after.get(k) !== v) diffs.push(after.has(k) ? `changed ${k}` : `removed ${k}`);
	for (const k of after.keys()) if (!before.has(k)) diffs.push(`added ${k}`);
	return diffs;
}

/** Puts the scratch tree back from a pristine copy (made once with `keepPristine`). */
export function keepPristine(s: Scratch): () => void {
	const pristine = `${s.root}.pristine`;
	// cp -a both ways: timestamps survive to the nanosecond, so a restored tree compares equal.
	execFileSync("cp", ["-a", s.root, pristine]);
	return () => {
		execFileSync("chmod", ["-R", "u+rwx", s.root]);
		rmSync(s.root, { recursive: true, force: true });
		execFileSync("cp", ["-a", pristine, s.root]);
	};
}

export interface Ran {
	status: number | null;
	output: string;
	timedOut: boolean;
}

/** Runs a command string with bash from the repository, as pi's bash tool does, with a timeout. */
export function runBash(s: Scratch, command: string, timeoutMs = 5_000): Ran {
	const r = spawnSync("/bin/bash", ["-c", command], {
		cwd: s.repo,
		env: s.env,
		encoding: "utf8",
		stdio: ["ignore", "pipe", "pipe"],
		timeout: timeoutMs,
		killSignal: "SIGKILL",
		maxBuffer: 4 * 1024 * 1024,
	});
	return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}`, timedOut: r.error !== undefined };
}

/**
 * A jail for running commands that may write: only the scratch tree is writable and the network is off, so a hole in
 * the check (or the unprotected baseline) can damage the scratch repository and nothing else on the machine.
 */
export function jailed(s: Scratch, command: string): string {
	const q = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
	return `bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --bind ${q(s.root)} ${q(s.root)} --chdir ${q(s.repo)} --unshare-net --cap-drop ALL --die-with-parent -- /bin/bash -c ${q(command)}`;
}

/** Runs commands `concurrency` at a time (async), as `runBash` does; results in input order. */
export async function runMany(
	s: Scratch,
	commands: readonly string[],
	concurrency: number,
	timeoutMs: number,
): Promise<Ran[]> {
	const results: Ran[] = new Array(commands.length);
	let next = 0;
	const worker = async () => {
		while (next < commands.length) {
			const i = next++;
			results[i] = await runAsync(s, commands[i], timeoutMs);
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, commands.length) }, worker));
	return results;
}

function runAsync(s: Scratch, command: string, timeoutMs: number): Promise<Ran> {
	return new Promise((resolve) => {
		const child = spawn("/bin/bash", ["-c", command], {
			cwd: s.repo,
			env: s.env,
			stdio: ["ignore", "pipe", "pipe"],
			detached: true,
		});
		let output = "";
		const take = (chunk: Buffer) => {
			if (output.length < 65_536) output += chunk.toString("utf8");
		};
		child.stdout.on("data", take);
		child.stderr.on("data", take);
		let timedOut = false;
		const timer = setTimeout(() => {
			timedOut = true;
			try {
				if (child.pid) process.kill(-child.pid, "SIGKILL"); // the whole group: bwrap and what runs inside
			} catch {
				// already gone
			}
		}, timeoutMs);
		child.on("close", (status) => {
			clearTimeout(timer);
			resolve({ status, output, timedOut });
		});
		child.on("error", (error) => {
			clearTimeout(timer);
			resolve({ status: null, output: String(error), timedOut });
		});
	});
}
