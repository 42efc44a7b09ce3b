/**
 * `npm run demo`: the whole product with no API key. A scripted model on a local mock LLM server plans a small
 * task, pi approves the plan itself (--plan-auto-approve) and implements it down a 4-rung ladder that crosses
 * four providers and three wire formats. The trace below is read back from the session file pi wrote, then
 * `/stepdown` reports on that session. Prices are the test fixtures', not any provider's.
 * Everything happens in a temp dir that is removed at the end; `--keep` copies the session file out first.
 */
import { copyFileSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { PROVIDERS, USER_SETTINGS } from "../e2e/fixtures.ts";
import { type MockAnswer, type RecordedRequest, startMockLlm } from "../helpers/mock-llm.ts";
import { makeSandbox, readSessionEntries, runPi } from "../helpers/pi-harness.ts";

const TASK = "Add a greet(name) function in greet.js with a test, and make sure npm test passes";

const LADDER = {
	ladder: [
		{ model: "oai/gpt-big", thinking: "high", webSearchContextSize: "medium" },
		{ model: "ant/claude-sonnet-4-6", thinking: "medium" },
		{ model: "chat/chat-tiny", thinking: "low" },
		{ model: "gem/gemini-2.5-flash", thinking: "low" },
	],
};

const GREET = `export function greet(name) {\n\treturn \`Hello, \${name}!\`;\n}\n`;
const GREET_TEST =
	'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { greet } from "./greet.js";\n\ntest("greet", () => assert.equal(greet("pi"), "Hello, pi!"));\n';

/** The scripted model: tokens grow with the history, as they do in a real session. */
function script(): (req: RecordedRequest) => MockAnswer {
	let impl = 0;
	return (req) => {
		const input = 1800 + req.index * 900;
		const planning = !req.toolNames.includes("write");
		if (planning && req.toolResults.length === 0) {
			return {
				toolCalls: [{ name: "bash", arguments: { command: "ls -la && cat package.json" } }],
				usage: { input, output: 60 },
			};
		}
		if (planning) {
			return {
				text: "Plan:\n1. Create greet.js exporting greet(name)\n2. Add greet.test.js with node:test\n3. Run npm test and fix what fails",
				usage: { input, output: 220 },
			};
		}
		const steps: MockAnswer[] = [
			{
				toolCalls: [{ name: "write", arguments: { path: "greet.js", content: GREET } }],
				usage: { input, output: 120 },
			},
			{
				toolCalls: [{ name: "write", arguments: { path: "greet.test.js", content: GREET_TEST } }],
				usage: { input, output: 160 },
			},
			{
				toolCalls: [{ name: "bash", arguments: { command: "npm test 2>&1 | tail -5" } }],
				usage: { input, output: 40 },
			},
			{ toolCalls: [{ name: "read", arguments: { path: "greet.js" } }], usage: { input, output: 30 } },
			{ toolCalls: [{ name: "bash", arguments: { command: "ls" } }], usage: { input, output: 30 } },
		];
		return (
			steps[impl++] ?? {
				text: "Done: greet.js and greet.test.js added; npm test passes.",
				usage: { input, output: 90 },
			}
		);
	};
}

interface Row {
	n: number;
	phase: string;
	rung: string;
	model: string;
	reason: string;
	tool: string;
	cost: number;
}

function trace(entries: Record<string, unknown>[]): Row[] {
	const rows: Row[] = [];
	let open:
		| { rung: number; phase: string; reason: string; model: string; thinking: string; trigger?: { kind: string } }
		| undefined;
	for (const e of entries) {
		if (e.type === "custom" && e.customType === "plan-stepdown:call") open = e.data as typeof open;
		const message = e.message as
			| { role: string; content: { type: string; name?: string }[]; usage: { cost: { total: number } } }
			| undefined;
		if (e.type === "message" && message?.role === "assistant" && open) {
			rows.push({
				n: rows.length + 1,
				phase: open.phase === "planning" ? "plan" : "impl",
				rung: `[${open.rung}]`,
				model: `${open.model}:${open.thinking}`,
				reason: open.trigger ? `bump (${open.trigger.kind})` : open.reason,
				tool:
					message.content
						.filter((c) => c.type === "toolCall")
						.map((c) => c.name)
						.join(",") || "(answer)",
				cost: message.usage.cost.total,
			});
			open = undefined;
		}
	}
	return rows;
}

/** The ladder with each rung's fixture prices ($/M tokens, input/output). */
function ladderLines(): string[] {
	return LADDER.ladder.map((rung, i) => {
		const [provider, id] = rung.model.split("/");
		const cost = PROVIDERS.find((p) => p.name === provider)?.models.find((m) => m.id === id)?.cost;
		const price = cost ? `$${cost.input}/$${cost.output} per M tokens in/out` : "no price";
		return `  [${i}] ${rung.model}:${rung.thinking}  ${price}`;
	});
}

async function main(): Promise<void> {
	const started = Date.now();
	const keep = process.argv.includes("--keep");
	const mock = await startMockLlm({ providers: PROVIDERS, script: script() });
	const sandbox = makeSandbox({
		mock,
		settings: USER_SETTINGS,
		planConfig: LADDER,
		files: {
			"package.json": JSON.stringify({ name: "demo", type: "module", scripts: { test: "node --test" } }, null, 2),
		},
	});
	try {
		console.log("The ladder (.pi/plan-stepdown.json of the scratch project). Prices are the test fixtures', made up");
		console.log("so that each rung costs visibly different; they are not any provider's:");
		for (const line of ladderLines()) console.log(line);
		console.log(`\n$ pi -p ${JSON.stringify(TASK)} --plan-auto-approve\n`);
		const result = await runPi(sandbox, ["-p", TASK, "--plan-auto-approve"], { extension: ".", timeoutMs: 60_000 });
		console.log(`exit code ${result.code}`);
		console.log(`stdout: ${result.stdout.trim()}`);
		console.log(`stderr: ${result.stderr.trim()}\n`);
		const entries = readSessionEntries(sandbox).flatMap((f) => f.entries as Record<string, unknown>[]);
		const rows = trace(entries);
		const header = ["#", "phase", "rung", "provider/model:thinking", "why", "tool", "cost"];
		const table = [
			header,
			...rows.map((r) => [String(r.n), r.phase, r.rung, r.model, r.reason, r.tool, `$${r.cost.toFixed(5)}`]),
		];
		const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
		for (const row of table) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join("  "));
		console.log("\nwire (what the mock LLM server received):");
		for (const r of mock.requests) {
			console.log(`  ${r.index + 1}. POST ${r.path}  key=${r.apiKey}  model=${r.model}  effort=${r.effort ?? "-"}`);
		}
		console.log("\nfiles in the project:");
		for (const name of readdirSync(sandbox.projectDir)
			.filter((n) => !n.startsWith("."))
			.sort()) {
			console.log(`--- ${name}`);
			console.log(readFileSync(join(sandbox.projectDir, name), "utf8").trimEnd());
		}
		console.log('\n$ pi -c -p "/stepdown"   (the report on the same session, fixture prices)\n');
		const report = await runPi(sandbox, ["-c", "-p", "/stepdown"], { extension: ".", timeoutMs: 60_000 });
		// With -c, pi's print mode repeats the session's last answer after the report; it was shown above already.
		const answer = result.stdout.trim();
		const text = report.stdout.trimEnd();
		console.log(text.endsWith(`\n${answer}`) ? text.slice(0, -answer.length).trimEnd() : text);
		const [session] = readSessionEntries(sandbox);
		if (keep && session) {
			const kept = join(tmpdir(), `pi-plan-stepdown-demo-${basename(session.file)}`);
			copyFileSync(session.file, kept);
			console.log(`\nsession file kept: ${kept}`);
		}
		console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s; the temp dir is removed.`);
		if (result.code !== 0 || report.code !== 0) process.exitCode = 1;
	} finally {
		await mock.close();
		sandbox.cleanup();
	}
}

await main();
