/** Config input that must not hang or crash pi: each case was a reproduction in issue 10. */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
	formatIssue,
	type LayerInput,
	MAX_CONFIG_BYTES,
	readConfigFile,
	readLayers,
	resolveConfig,
} from "../../src/config.ts";

const dir = mkdtempSync(join(tmpdir(), "stepdown-cfg-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const messages = (layers: LayerInput[]) => resolveConfig(layers).issues.map(formatIssue);
const text = (source: string, t: string): LayerInput => ({ source, text: t });

/** A project whose .pi/plan-stepdown.json is `make(path)`; returns its directory. */
function makeProject(name: string, make: (path: string) => void): string {
	const cwd = join(dir, name);
	mkdirSync(join(cwd, ".pi"), { recursive: true });
	make(join(cwd, ".pi", "plan-stepdown.json"));
	return cwd;
}

/** The same, read in this process as pi reads it (only for files that cannot block). */
const project = (name: string, make: (path: string) => void): LayerInput[] =>
	readLayers(join(dir, "no-agent"), makeProject(name, make), undefined);

/**
 * The config issues for a project, computed in a child process with a deadline: a read that blocks (a FIFO opened
 * for reading waits for a writer) would block this process's event loop, and no in-process timeout could fire.
 */
function messagesInChild(cwd: string): string[] {
	const script = `import { readLayers, resolveConfig, formatIssue } from ${JSON.stringify(new URL("../../src/config.ts", import.meta.url).href)};
process.stdout.write(JSON.stringify(resolveConfig(readLayers(${JSON.stringify(join(dir, "no-agent"))}, ${JSON.stringify(cwd)}, undefined)).issues.map(formatIssue)));`;
	const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
		encoding: "utf8",
		timeout: 10_000,
		killSignal: "SIGKILL",
	});
	assert.equal(child.error, undefined, "reading the config blocked (killed after 10 s)");
	assert.equal(child.status, 0, child.stderr);
	return JSON.parse(child.stdout) as string[];
}

describe("reading config files: regular files only, bounded", () => {
	test("a FIFO is refused without blocking", () => {
		const issues = messagesInChild(makeProject("fifo", (p) => execFileSync("mkfifo", [p])));
		assert.equal(issues.length, 1);
		assert.match(issues[0], /\.pi\/plan-stepdown\.json: cannot read: not a regular file \(a FIFO\)$/);
	});
	test("a committed symlink to /dev/zero is refused unread", () => {
		const issues = messagesInChild(makeProject("zero", (p) => symlinkSync("/dev/zero", p)));
		assert.match(issues[0], /plan-stepdown\.json: cannot read: not a regular file \(a character device\)$/);
	});
	test("a symlink to a FIFO is refused", () => {
		const fifo = join(dir, "a-fifo");
		execFileSync("mkfifo", [fifo]);
		const issues = messagesInChild(makeProject("fifo-link", (p) => symlinkSync(fifo, p)));
		assert.match(issues[0], /not a regular file \(a FIFO\)/);
	});
	test("a directory, a symlink loop and EACCES name the file and the real error", () => {
		assert.match(
			messages(project("dir", (p) => mkdirSync(p)))[0],
			/plan-stepdown\.json: cannot read: not a regular file \(a directory\)$/,
		);
		const loop = messages(project("loop", (p) => symlinkSync(p, p)))[0];
		assert.match(loop, /plan-stepdown\.json: cannot read: ELOOP/);
		assert.doesNotMatch(loop, /__unreadable__/);
		const layers = project("eacces", (p) => {
			writeFileSync(p, "{}");
			chmodSync(p, 0o000);
		});
		// root reads through mode 000; the error path is still exercised by readConfigFile on a missing permission.
		const issues = messages(layers);
		if (process.getuid?.() !== 0) assert.match(issues[0], /cannot read: EACCES/);
		else assert.deepEqual(issues, []);
	});
	test("a file over the size cap is refused unread", () => {
		const big = join(dir, "big.json");
		writeFileSync(big, " ".repeat(MAX_CONFIG_BYTES + 1));
		assert.match(String(readConfigFile(big).error), /^larger than \d+ bytes/);
		assert.deepEqual(readConfigFile(join(dir, "absent.json")), { text: undefined });
	});
	test("a UTF-8 byte-order mark is accepted", () => {
		const r = resolveConfig([text("bom.json", '\uFEFF{"provider":"openai"}')]);
		assert.deepEqual(r.issues, []);
		assert.equal(r.config.provider, "openai");
	});
});

describe("hostile JSON: no RangeError, no prototype pollution", () => {
	test("deep nesting is one issue, not a stack overflow", () => {
		for (const depth of [3_265, 100_000]) {
			const deep = `${'{"tools":'.repeat(1)}${"[".repeat(depth)}${"]".repeat(depth)}}`;
			const issues = messages([text("deep.json", deep)]);
			assert.deepEqual(issues, ["deep.json: nested deeper than 32 levels"]);
		}
	});
	test("130k wrong items: a capped list of issues", () => {
		const items = JSON.stringify({ tools: { plan: Array.from({ length: 130_000 }, () => 5) } });
		const issues = messages([text("huge.json", items)]);
		assert.equal(issues.length, 21);
		assert.equal(issues[0], "huge.json /tools/plan/0: expected a non-empty string, found 5");
		assert.match(issues[20], /only the first 20 are shown/);
	});
	test("__proto__, constructor and toString are unknown fields", () => {
		for (const key of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
			const issues = messages([text("p.json", `{"${key}":{"provider":5}}`)]);
			assert.equal(issues.length, 1, key);
			assert.match(issues[0], new RegExp(`^p\\.json /${key}: unknown field "${key}"`));
		}
		const nested = messages([text("p.json", '{"planBash":{"constructor":1}}')]);
		assert.match(nested[0], /\/planBash\/constructor: unknown field/);
	});
	test('{"__proto__":{"provider":5}} cannot set anything', () => {
		const r = resolveConfig([text("p.json", '{"__proto__":{"provider":5},"ladder":[]}')]);
		assert.equal(r.config.provider, undefined);
		assert.equal(({} as { provider?: unknown }).provider, undefined, "Object.prototype untouched");
		assert.equal(Object.getPrototypeOf(r.config), Object.prototype);
	});
});

describe("planBash patterns", () => {
	test("an invalid regex names the file and the JSON path", () => {
		assert.deepEqual(messages([text("g.json", '{"planBash":{"deny":["ok","("]}}')]), [
			'g.json /planBash/deny/1: "(": invalid regular expression: Invalid regular expression: /(/: Unterminated group',
		]);
	});
	test("catastrophic patterns are refused at load", () => {
		const issues = messages([text("g.json", '{"planBash":{"allow":["(a+)+$","(a|aa)*b","(x)\\\\1",".*a.*b.*c"]}}')]);
		assert.equal(issues.length, 4);
		assert.match(issues[0], /\/planBash\/allow\/0: "\(a\+\)\+\$": a quantified group containing a quantifier/);
		assert.match(issues[1], /\/planBash\/allow\/1: .*quantified group containing a quantifier or \|/);
		assert.match(issues[2], /\/planBash\/allow\/2: .*backreferences/);
		assert.match(issues[3], /\/planBash\/allow\/3: .*more than 2 unbounded quantifiers/);
	});
});

describe("a project file may only narrow plan mode", () => {
	test("its allow, sandbox off and network on are ignored with a warning; deny applies", () => {
		const r = resolveConfig([
			text("global.json", '{"planBash":{"allow":["^make -n"]}}'),
			{
				source: "project.json",
				project: true,
				text: '{"planBash":{"allow":["^rm"],"deny":["curl"],"sandbox":"off","network":true}}',
			},
		]);
		assert.deepEqual(r.issues, []);
		assert.deepEqual(r.config.planBash, { allow: ["^make -n"], deny: ["curl"], sandbox: "auto", network: false });
		assert.deepEqual(r.warnings.map(formatIssue), [
			"project.json /planBash/allow: ignored: a project file may only narrow plan mode (deny), never widen it; set allow in your own config",
			"project.json /planBash/sandbox: ignored: a project file cannot turn the plan-mode sandbox off",
			"project.json /planBash/network: ignored: a project file cannot give the plan-mode sandbox the network",
		]);
		assert.equal(r.origins["/planBash/allow"], "global.json");
	});
	test("readLayers marks the project layer", () => {
		const layers = project("marked", (p) => writeFileSync(p, '{"planBash":{"allow":["x"]}}'));
		assert.deepEqual(
			layers.map((l) => l.project === true),
			[false, true],
		);
		assert.equal(resolveConfig(layers).config.planBash.allow.length, 0);
	});
});
