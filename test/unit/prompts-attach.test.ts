import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { attach, detach, isAttached, realModel } from "../../src/attach.ts";
import { PLANNING_INSTRUCTIONS, systemPromptFor, toolsFor } from "../../src/prompts.ts";
import { ROUTER_API } from "../../src/router.ts";
import { familyModel } from "../helpers/payloads.ts";

describe("systemPromptFor", () => {
	test("adds the planning block while planning, once", () => {
		const once = systemPromptFor("BASE", "planning");
		assert.equal(once, `BASE\n\n${PLANNING_INSTRUCTIONS}`);
		assert.equal(systemPromptFor(once, "planning"), once);
	});
	test("drops it while implementing, leaving pi's prompt intact", () => {
		assert.equal(systemPromptFor(`BASE\n\n${PLANNING_INSTRUCTIONS}`, "implementing"), "BASE");
		assert.equal(systemPromptFor(`A\n\n${PLANNING_INSTRUCTIONS}\n\nB`, "implementing"), "A\n\nB");
		assert.equal(systemPromptFor("BASE", "implementing"), "BASE");
		assert.equal(systemPromptFor(undefined, "implementing"), undefined);
		assert.equal(systemPromptFor(undefined, "planning"), PLANNING_INSTRUCTIONS);
	});
});

describe("toolsFor", () => {
	const tools = ["read", "bash", "edit", "write", "grep", "custom"].map((name) => ({ name }));
	test("planning: only plan tools, never edit/write", () => {
		assert.deepEqual(
			toolsFor(tools, "planning", ["read", "bash", "write", "custom"])?.map((t) => t.name),
			["read", "bash", "custom"],
		);
	});
	test("implementing: untouched", () => {
		assert.equal(toolsFor(tools, "implementing", ["read"]), tools);
		assert.equal(toolsFor(undefined, "planning", ["read"]), undefined);
	});
});

describe("attach / detach", () => {
	const model = () => familyModel("openai-responses", "m", "p");
	test("routes the object through the router and back, keeping its identity", () => {
		const m = model();
		attach(m);
		assert.equal(m.api, ROUTER_API);
		assert.equal(isAttached(m), true);
		const real = realModel(m);
		assert.notEqual(real, m);
		assert.equal(real.api, "openai-responses");
		assert.equal(real.id, "m");
		assert.equal(isAttached(real), false);
		attach(m); // twice is harmless
		detach(m);
		assert.equal(m.api, "openai-responses");
		assert.equal(isAttached(m), false);
		assert.equal(JSON.stringify(m), JSON.stringify(model()), "nothing left behind");
	});
	test("realModel of a plain model is the model", () => {
		const m = model();
		assert.equal(realModel(m), m);
		detach(m);
		detach(undefined);
		assert.equal(m.api, "openai-responses");
	});
});
