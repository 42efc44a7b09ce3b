/**
 * `npm run try`: the interactive product with no API key. A local mock LLM plays the model (it plans, implements a
 * small greet.js task and reports its steps), a 4-rung demo ladder spans four mock providers, and the real pi TUI
 * opens on a scratch project in an isolated agent dir. Nothing touches your ~/.pi; everything is removed on exit.
 *
 * `PI_LINE=1 npm run try` uses pi 1.x (the Node 22 that `npm ci` installed runs it).
 */
import { spawn } from "node:child_process";
import { PROVIDERS, USER_SETTINGS } from "../e2e/fixtures.ts";
import { type MockAnswer, type RecordedRequest, startMockLlm } from "../helpers/mock-llm.ts";
import { makeSandbox, PI_CLI, PI_NODE, piEnv, REPO_ROOT } from "../helpers/pi-harness.ts";
import { PI_HOST } from "../helpers/pi-line.ts";

const LADDER = {
	ladder: [
		{ model: "oai/gpt-big", thinking: "high" },
		{ model: "ant/claude-sonnet-4-6", thinking: "medium" },
		{ model: "chat/chat-tiny", thinking: "low" },
		{ model: "gem/gemini-2.5-flash", thinking: "low" },
	],
};

const GREET = `export function greet(name) {\n\treturn \`Hello, \${name}!\`;\n}\n`;

/** A model that plans any task as three steps, then implements them with tools and reports each step. */
function script(): (req: RecordedRequest) => MockAnswer {
	let step = 0;
	return (req) => {
		const usage = { input: 1500 + req.index * 600, output: 120 };
		const planning = !req.toolNames.includes("write");
		if (planning) {
			return {
				text: "Plan:\n1. Create greet.js exporting greet(name)\n2. Check it with cat\n3. Report what changed",
				usage,
			};
		}
		if (req.lastUserText?.startsWith("[plan-stepdown review]")) {
			return { text: "Reviewed on rung 0: greet.js matches the plan; nothing to fix.", usage };
		}
		if (req.lastUserText && !req.lastUserText.startsWith("The plan above is approved") && step >= 6) {
			return { text: `(mock model) You said: ${req.lastUserText}`, usage };
		}
		const steps: MockAnswer[] = [
			{ toolCalls: [{ name: "write", arguments: { path: "greet.js", content: GREET } }], usage },
			{ toolCalls: [{ name: "plan_progress", arguments: { step: 1, status: "done" } }], usage },
			{ toolCalls: [{ name: "bash", arguments: { command: "cat greet.js" } }], usage },
			{ toolCalls: [{ name: "plan_progress", arguments: { step: 2, status: "done" } }], usage },
			{ toolCalls: [{ name: "plan_progress", arguments: { step: 3, status: "done" } }], usage },
			{ text: "Done: greet.js exports greet(name). Try /stepdown for the cost per rung.", usage },
		];
		return steps[step++] ?? { text: `(mock model) ${req.lastUserText ?? "ok"}`, usage };
	};
}

async function main(): Promise<void> {
	const mock = await startMockLlm({ providers: PROVIDERS, script: script() });
	const sandbox = makeSandbox({
		mock,
		settings: { ...USER_SETTINGS, lastChangelogVersion: PI_HOST.version },
		planConfig: LADDER,
		files: { "package.json": `${JSON.stringify({ name: "try-me", type: "module" }, null, 2)}\n` },
	});
	console.log(`pi ${PI_HOST.version} with plan-stepdown, a local mock LLM (no key, nothing leaves this machine).
Scratch project: ${sandbox.projectDir}
Try:  /plan add a greet function   →  Start implementation   →  /stepdown   →  Ctrl+D to quit.
Prices are the test fixtures', not any provider's.
`);
	try {
		const child = spawn(PI_NODE, [PI_CLI, "-e", REPO_ROOT], {
			cwd: sandbox.projectDir,
			env: piEnv(sandbox, { TERM: process.env.TERM ?? "xterm-256color", NO_COLOR: undefined }),
			stdio: "inherit",
		});
		const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
		process.exitCode = code ?? 1;
	} finally {
		await mock.close();
		sandbox.cleanup();
		console.log("try: the scratch project and agent dir are removed.");
	}
}

await main();
