/**
 * A deterministic, realistic coding-session history of exactly N messages, in pi-ai's message types:
 * user turns, assistant tool calls (read, bash, edit, write, grep, find, ls) and tool results of the sizes a real
 * session produces (file reads of a few KB, test output, short edit confirmations), plus pi's real tool
 * definitions and a system prompt of realistic length.
 */
import type { AssistantMessage, Context, Message, Tool, ToolResultMessage, UserMessage } from "@mariozechner/pi-ai";
import {
	createBashTool,
	createEditTool,
	createFindTool,
	createGrepTool,
	createLsTool,
	createReadTool,
	createWriteTool,
} from "@mariozechner/pi-coding-agent";

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

type Rand = () => number;
const int = (rand: Rand, min: number, max: number) => min + Math.floor(rand() * (max - min + 1));
const pick = <T>(rand: Rand, list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;

const IDENTS = ["config", "ladder", "payload", "result", "options", "model", "entry", "session", "rung", "usage"];
const FILES = [
	"src/cli.ts",
	"src/config.ts",
	"src/format.ts",
	"src/commands/report.ts",
	"src/commands/run.ts",
	"src/util/paths.ts",
	"test/report.test.ts",
	"test/format.test.ts",
	"README.md",
	"package.json",
];

function codeLine(rand: Rand): string {
	const a = pick(rand, IDENTS);
	const b = pick(rand, IDENTS);
	const n = int(rand, 1, 999);
	switch (int(rand, 0, 7)) {
		case 0:
			return `\tconst ${a}${n} = await load${b[0]?.toUpperCase()}${b.slice(1)}("${a}/${n}.json", { strict: true });`;
		case 1:
			return `\tif (!${a} || typeof ${a}.${b} !== "string") throw new Error(\`invalid ${a}: \${${b}}\`);`;
		case 2:
			return `export function ${a}To${b[0]?.toUpperCase()}${b.slice(1)}(${a}: ${a[0]?.toUpperCase()}${a.slice(1)}): string {`;
		case 3:
			return `\t\treturn { ...${a}, ${b}: ${a}.${b} ?? ${n} };`;
		case 4:
			return `\t// ${a} wins over ${b} when both are set (see #${n})`;
		case 5:
			return `\tfor (const ${a} of ${b}s) total += ${a}.cost * ${n} / 1_000_000;`;
		case 6:
			return "\t}";
		default:
			return `import { ${a}, type ${b[0]?.toUpperCase()}${b.slice(1)} } from "./${a}.js";`;
	}
}

function codeBlock(rand: Rand, lines: number, numbered: boolean): string {
	const out: string[] = [];
	for (let i = 0; i < lines; i++)
		out.push(numbered ? `${String(i + 1).padStart(4)}\t${codeLine(rand)}` : codeLine(rand));
	return out.join("\n");
}

function testOutput(rand: Rand, failing: number): string {
	const lines = ["> cli@1.4.0 test", "> node --import tsx --test test/*.test.ts", ""];
	const tests = int(rand, 20, 60);
	for (let i = 0; i < tests; i++) {
		const ok = i >= failing;
		lines.push(
			`${ok ? "✔" : "✖"} ${pick(rand, IDENTS)} ${pick(rand, ["parses", "formats", "rejects", "keeps"])} ${pick(rand, IDENTS)} (${(rand() * 40).toFixed(6)}ms)`,
		);
		if (!ok) {
			lines.push("  AssertionError [ERR_ASSERTION]: Expected values to be strictly deep-equal:");
			lines.push(
				`  + actual - expected\n  +   ${pick(rand, IDENTS)}: ${int(rand, 0, 99)}\n  -   ${pick(rand, IDENTS)}: 1`,
			);
			lines.push(`      at TestContext.<anonymous> (file:///work/app/test/report.test.ts:${int(rand, 10, 300)}:12)`);
		}
	}
	lines.push(`ℹ tests ${tests}`, `ℹ pass ${tests - failing}`, `ℹ fail ${failing}`);
	return lines.join("\n");
}

interface ToolStep {
	name: string;
	args: Record<string, unknown>;
	result: string;
	isError: boolean;
}

function toolStep(rand: Rand): ToolStep {
	const path = pick(rand, FILES);
	const roll = rand();
	if (roll < 0.32) {
		return { name: "read", args: { path }, result: codeBlock(rand, int(rand, 30, 220), true), isError: false };
	}
	if (roll < 0.55) {
		const oldText = codeBlock(rand, int(rand, 2, 12), false);
		const newText = codeBlock(rand, int(rand, 3, 25), false);
		const failed = rand() < 0.08;
		return {
			name: "edit",
			args: { path, edits: [{ oldText, newText }] },
			result: failed
				? `Could not find the exact text in ${path}. The old text must match exactly including all whitespace and newlines.`
				: `Successfully replaced 1 block(s) in ${path}.`,
			isError: failed,
		};
	}
	if (roll < 0.62) {
		const content = codeBlock(rand, int(rand, 20, 140), false);
		return {
			name: "write",
			args: { path, content },
			result: `Successfully wrote ${content.length} bytes to ${path}`,
			isError: false,
		};
	}
	if (roll < 0.85) {
		const kind = rand();
		if (kind < 0.5) {
			const failing = rand() < 0.35 ? int(rand, 1, 3) : 0;
			return { name: "bash", args: { command: "npm test" }, result: testOutput(rand, failing), isError: failing > 0 };
		}
		if (kind < 0.7) {
			return {
				name: "bash",
				args: { command: "npx tsc --noEmit" },
				result: `src/format.ts(${int(rand, 1, 200)},${int(rand, 1, 80)}): error TS2345: Argument of type 'string | undefined' is not assignable to parameter of type 'string'.`,
				isError: true,
			};
		}
		return {
			name: "bash",
			args: { command: "git diff --stat" },
			result: FILES.slice(0, int(rand, 2, 6))
				.map((f) => ` ${f} | ${int(rand, 1, 80)} ${"+".repeat(int(rand, 1, 20))}${"-".repeat(int(rand, 0, 8))}`)
				.join("\n"),
			isError: false,
		};
	}
	if (roll < 0.95) {
		const hits: string[] = [];
		for (let i = int(rand, 3, 30); i > 0; i--) hits.push(`${pick(rand, FILES)}:${int(rand, 1, 400)}:${codeLine(rand)}`);
		return {
			name: "grep",
			args: { pattern: pick(rand, IDENTS), path: "src" },
			result: hits.join("\n"),
			isError: false,
		};
	}
	return {
		name: pick(rand, ["ls", "find"]),
		args: { path: "src" },
		result: FILES.concat(FILES.map((f) => f.replace(".ts", ".d.ts"))).join("\n"),
		isError: false,
	};
}

const USAGE = {
	input: 1200,
	output: 180,
	cacheRead: 24000,
	cacheWrite: 0,
	totalTokens: 25380,
	cost: { input: 0.003, output: 0.0027, cacheRead: 0.006, cacheWrite: 0, total: 0.0117 },
};

function userMessage(rand: Rand, t: number): UserMessage {
	const sentences = [
		"Add a --json flag to the report command that prints the same data as JSON.",
		"The totals row is wrong when a rung has no calls; fix it and add a test.",
		"Keep the output stable: sort keys, two-space indent, trailing newline.",
		"Also update the README section on reports.",
		"Run the tests and the type check before you finish.",
	];
	const parts: string[] = [];
	for (let i = int(rand, 1, 4); i > 0; i--) parts.push(pick(rand, sentences));
	return { role: "user", content: [{ type: "text", text: parts.join(" ") }], timestamp: t };
}

function assistantCall(rand: Rand, id: string, step: ToolStep, t: number): AssistantMessage {
	const content: AssistantMessage["content"] = [];
	if (rand() < 0.5) {
		content.push({
			type: "text",
			text: `Next I'll ${step.name} ${String(step.args.path ?? step.args.command ?? "")}.`,
		});
	}
	content.push({ type: "toolCall", id, name: step.name, arguments: step.args });
	return {
		role: "assistant",
		content,
		api: "openai-responses",
		provider: "openai",
		model: "gpt-5.4",
		usage: USAGE,
		stopReason: "toolUse",
		timestamp: t,
	};
}

function assistantText(rand: Rand, t: number): AssistantMessage {
	return {
		role: "assistant",
		content: [{ type: "text", text: `Done. ${codeBlock(rand, int(rand, 2, 8), false)}\nAll tests pass.` }],
		api: "openai-responses",
		provider: "openai",
		model: "gpt-5.4",
		usage: USAGE,
		stopReason: "stop",
		timestamp: t,
	};
}

/** Messages after the last user message in a generated history: 12 tool rounds, what `decideCall` walks. */
export const SEGMENT_ROUNDS = 12;

/**
 * Exactly `count` messages: user turns, each followed by 3–24 tool rounds and a closing answer; the history ends
 * inside a turn, with a tool result (up to SEGMENT_ROUNDS rounds after the last user message), the way pi's context
 * looks when the agent loop is about to make its next call.
 */
export function sessionMessages(count: number, seed = 1): Message[] {
	const rand = prng(seed);
	const messages: Message[] = [];
	let t = 1_700_000_000_000;
	let call = 0;
	const round = () => {
		const step = toolStep(rand);
		const id = `call_${call++}`;
		messages.push(assistantCall(rand, id, step, t++));
		const result: ToolResultMessage = {
			role: "toolResult",
			toolCallId: id,
			toolName: step.name,
			content: [{ type: "text", text: step.result }],
			isError: step.isError,
			timestamp: t++,
		};
		messages.push(result);
	};
	const tail = Math.min(SEGMENT_ROUNDS, Math.floor((count - 1) / 2));
	const head = count - 1 - 2 * tail;
	while (messages.length < head) {
		messages.push(userMessage(rand, t++));
		for (let rounds = int(rand, 3, 24); rounds > 0; rounds--) round();
		messages.push(assistantText(rand, t++));
	}
	messages.length = head;
	// A turn cut after a tool call would leave it unanswered: close it with an answer instead.
	if (messages[head - 1]?.role === "assistant") messages[head - 1] = assistantText(rand, t++);
	messages.push(userMessage(rand, t++));
	for (let i = 0; i < tail; i++) round();
	return messages;
}

let toolCache: Tool[] | undefined;

/** pi's own implementation tools (the default `tools.implementation` set), as the model sees them. */
export function piTools(): Tool[] {
	toolCache ??= [
		createReadTool("/work/app"),
		createBashTool("/work/app"),
		createEditTool("/work/app"),
		createWriteTool("/work/app"),
		createGrepTool("/work/app"),
		createFindTool("/work/app"),
		createLsTool("/work/app"),
	].map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
	return toolCache;
}

/** A system prompt of the size pi sends (its base prompt, tool guidelines and a project AGENTS.md): ~9 KB. */
export function systemPrompt(): string {
	const rand = prng(7);
	const guidelines: string[] = [];
	for (let i = 0; i < 40; i++) {
		guidelines.push(
			`- ${pick(rand, ["Prefer", "Avoid", "Always", "Never"])} ${pick(rand, IDENTS)} ${pick(rand, ["changes", "reads", "edits"])} that ${pick(rand, ["touch", "skip", "duplicate"])} the ${pick(rand, IDENTS)} module; ${codeLine(rand).trim()}`,
		);
	}
	return [
		"You are an expert coding assistant operating inside pi, a coding agent harness. You help users by reading files, executing commands, editing code, and writing new files.",
		"Available tools: read, bash, edit, write, grep, find, ls.",
		"Guidelines:",
		...guidelines,
		"# Project Context",
		"## /work/app/AGENTS.md",
		codeBlock(rand, 40, false),
		"Current date: 2025-11-25",
		"Current working directory: /work/app",
	].join("\n");
}

export function sessionContext(count: number, seed = 1): Context {
	return { systemPrompt: systemPrompt(), messages: sessionMessages(count, seed), tools: piTools() };
}
