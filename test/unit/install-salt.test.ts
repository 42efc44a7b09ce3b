import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { installSalt, SALT_FILE } from "../../src/install-salt.ts";

const dir = mkdtempSync(join(tmpdir(), "stepdown-salt-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("installSalt", () => {
	test("created once with mode 0600, then read back", () => {
		const agent = join(dir, "agent");
		const salt = installSalt(agent);
		assert.match(salt, /^[0-9a-f]{64}$/);
		const path = join(agent, SALT_FILE);
		assert.equal(statSync(path).mode & 0o777, 0o600);
		assert.equal(readFileSync(path, "utf8"), `${salt}\n`);
		assert.equal(installSalt(agent), salt);
	});
	test("another install, another salt", () => {
		assert.notEqual(installSalt(join(dir, "a1")), installSalt(join(dir, "a2")));
	});
	test("never throws: an unreadable or unwritable place gives a per-process salt", () => {
		const weird = join(dir, "weird");
		mkdirSync(join(weird, SALT_FILE), { recursive: true }); // a directory where the file should be
		const s1 = installSalt(weird);
		assert.match(s1, /^[0-9a-f]{64}$/);
		assert.equal(installSalt(weird), s1, "stable within the process");
		const file = join(dir, "not-a-dir");
		writeFileSync(file, "");
		assert.match(installSalt(join(file, "agent")), /^[0-9a-f]{64}$/);
	});
	test("a corrupted salt file is not used (and not overwritten)", () => {
		const agent = join(dir, "corrupt");
		mkdirSync(agent);
		writeFileSync(join(agent, SALT_FILE), "short\n");
		chmodSync(join(agent, SALT_FILE), 0o600);
		assert.match(installSalt(agent), /^[0-9a-f]{64}$/);
		assert.equal(readFileSync(join(agent, SALT_FILE), "utf8"), "short\n");
	});
});
