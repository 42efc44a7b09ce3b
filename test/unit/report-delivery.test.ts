import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { dropReports, REPORT_TYPE, reportDelivery, reportMessage, withoutReports } from "../../src/report-delivery.ts";

describe("reportDelivery", () => {
	test("TUI idle: a message in the chat; working or RPC: a notification; headless: stdout, or stderr in JSON mode", () => {
		assert.equal(reportDelivery(true, undefined, true), "message");
		assert.equal(reportDelivery(true, undefined, false), "notify");
		assert.equal(reportDelivery(true, "rpc", true), "notify");
		assert.equal(reportDelivery(false, undefined, true), "stdout");
		assert.equal(reportDelivery(false, "text", true), "stdout");
		assert.equal(reportDelivery(false, "json", true), "stderr");
	});
	test("the chat shows the report as a code block, its columns kept", () => {
		assert.equal(reportMessage("a\n  b"), "```\na\n  b\n```");
	});
});

describe("withoutReports", () => {
	test("reports are stripped from what the model reads; other custom messages stay", () => {
		const user = { role: "user" };
		const kickoff = { role: "custom", customType: "plan-stepdown:kickoff" };
		const report = { role: "custom", customType: REPORT_TYPE };
		assert.deepEqual(withoutReports([user, report, kickoff, report]), [user, kickoff]);
	});
	test("compaction: the reports leave the very list pi's summary call reads", () => {
		const user = { role: "user" };
		const report = { role: "custom", customType: REPORT_TYPE };
		const list = [report, user, report, report, user];
		dropReports(list);
		assert.deepEqual(list, [user, user]);
	});
	test("no report: undefined, so pi keeps its list (and the provider its cached prefix)", () => {
		assert.equal(withoutReports([{ role: "user" }, { role: "custom", customType: "x" }]), undefined);
	});
});
