import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkPlanBash, invalidPatterns } from "../../src/bash-guard.ts";

const none = { allow: [], deny: [] };

describe("checkPlanBash: read-only commands while planning", () => {
	for (const command of [
		"ls -la",
		"cat src/index.ts",
		"grep -rn foo src | head -20",
		"git status",
		"git log --oneline -5",
		"git diff HEAD~1",
		"find . -name '*.ts' | wc -l",
		"rg TODO",
		"sed -n 1,20p file",
		"cd src && ls",
		"npm --version",
		"node --version",
		"LC_ALL=C env",
		"jq .name package.json",
		"ls 2>&1",
	]) {
		test(`allows ${command}`, () => assert.deepEqual(checkPlanBash(command, none), { ok: true }));
	}
	for (const command of [
		"rm -rf build",
		"echo hi > file",
		"cat a >> b",
		"mv a b",
		"sed -i s/a/b/ f",
		"npm install",
		"npm test",
		"pnpm add x",
		"npx prettier --write .",
		"git commit -m x",
		"git checkout main",
		"git branch -D x",
		"touch x",
		"mkdir d",
		"sudo ls",
		"python3 script.py",
		"curl https://example.com",
		"ls $(rm x)",
		"ls `rm x`",
		"tee out.txt",
		"make",
		"vim file",
	]) {
		test(`refuses ${command}`, () => assert.equal(checkPlanBash(command, none).ok, false));
	}
	test("the reason says why", () => {
		assert.deepEqual(checkPlanBash("cargo build", none), {
			ok: false,
			reason: "cargo runs code; only cargo --version is allowed in plan mode",
		});
		assert.deepEqual(checkPlanBash("shred x", none), { ok: false, reason: '"shred" is not on the read-only list' });
	});
	test("configurable allow (single commands) and deny (first, whole command)", () => {
		assert.equal(checkPlanBash("make -n", { allow: ["^make -n\\b"], deny: [] }).ok, true);
		assert.equal(checkPlanBash("git log", { allow: [], deny: ["\\bgit log\\b"] }).ok, false);
		assert.equal(
			checkPlanBash("make -n > out", { allow: ["^make"], deny: [] }).ok,
			false,
			"redirections still checked",
		);
		assert.equal(checkPlanBash("make -n; rm x", { allow: ["^make"], deny: [] }).ok, false, "per command");
	});
	test("invalidPatterns", () => {
		assert.deepEqual(invalidPatterns(["^ok$", "(", "[a-", "(a+)+$"]), ["(", "[a-", "(a+)+$"]);
	});
});
