import assert from "node:assert/strict";
import { test } from "node:test";
import { flagOrderMessage, loadedByFlag, outputMode, swallowedValue } from "../../src/cli.ts";

const F = "plan-auto-approve";
test("finds the task pi swallowed as the flag's value", () => {
	assert.equal(swallowedValue(["node", "pi", "-p", "--plan-auto-approve", "do it"], F), "do it");
	assert.equal(swallowedValue(["node", "pi", "--mode", "json", "--plan-auto-approve", "x"], F), "x");
	assert.equal(swallowedValue(["node", "pi", "--plan-auto-approve=do it"], F), "do it");
});
test("the right order swallows nothing", () => {
	assert.equal(swallowedValue(["node", "pi", "-p", "do it", "--plan-auto-approve"], F), undefined);
	assert.equal(swallowedValue(["node", "pi", "--plan-auto-approve", "-p", "task"], F), undefined);
	assert.equal(swallowedValue(["node", "pi", "--plan-auto-approve", "@file.md"], F), undefined);
	assert.equal(swallowedValue(["node", "pi", "--plan-auto-approve=true"], F), undefined);
	assert.equal(swallowedValue(["node", "pi", "--", "--plan-auto-approve", "x"], F), undefined);
	assert.equal(swallowedValue(["node", "pi"], F), undefined);
});
test("the message names the right order", () => {
	assert.match(flagOrderMessage(F, "do it"), /Put the task first: pi -p "do it" --plan-auto-approve$/);
});

test("outputMode reads --mode like pi's parser (last wins)", () => {
	assert.equal(outputMode(["node", "pi", "-p", "x"]), undefined);
	assert.equal(outputMode(["node", "pi", "--mode", "json", "x"]), "json");
	assert.equal(outputMode(["node", "pi", "--mode", "json", "--mode", "rpc"]), "rpc");
	assert.equal(outputMode(["node", "pi", "--mode"]), undefined);
});

test("loadedByFlag: -e/--extension naming the clone, relative or absolute, with or without a trailing slash", () => {
	const clone = "/home/me/pi-plan-stepdown";
	const targets = [`${clone}/`, `${clone}/src`, `${clone}/src/index.ts`];
	const loaded = (cwd: string, ...args: string[]) => loadedByFlag(["node", "pi", ...args], cwd, targets);
	assert.equal(loaded(clone, "-e", "."), true);
	assert.equal(loaded(clone, "-p", "hi", "--extension", "./"), true);
	assert.equal(loaded("/tmp", "-e", clone), true);
	assert.equal(loaded(`${clone}/src`, "-e", "index.ts"), true);
	assert.equal(loaded("/home/me", "-e", "pi-plan-stepdown/src/"), true);
	assert.equal(loaded(clone, "-e", "../other-extension"), false);
	assert.equal(loaded(clone, "-e", "./src/cli.ts"), false);
	assert.equal(loaded(clone, "-p", "."), false, "a prompt is not an extension");
	assert.equal(loaded(clone, "-e"), false, "no value");
	assert.equal(loaded(clone, "--", "-e", "."), false, "after --, arguments are not options");
	assert.equal(loaded(clone), false);
});
