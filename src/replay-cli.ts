/**
 * `pi-plan-stepdown replay <session.jsonl|dir> [--config FILE] [--stepping cache-aware|per-call] [--json]`: price a
 * ladder on recorded pi sessions. The thin shell around replay.ts: reads files, resolves the config layers as the
 * extension does (global, project, --config), prices with pi-ai's built-in model table.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { getModels, getProviders } from "@mariozechner/pi-ai";
import { formatIssue, readLayers, resolveConfig } from "./config.ts";
import { type PriceLookup, type ReplayResult, replayBranch, replayLines } from "./replay.ts";
import { currentBranch, parseSession } from "./session-reader.ts";
import type { Stepping } from "./stepping.ts";

export const USAGE = `usage: pi-plan-stepdown replay <session.jsonl|dir> [--config FILE] [--stepping cache-aware|per-call] [--json]

Replays every LLM call of the session (the branch the file ends on; every .jsonl under a directory) on the configured
ladder, bump rules and stepping, on the same tokens, and prints per-rung calls, tokens, cost, the prompt cache lost to
rung switches and the flat-rung-0 comparison. Config: ~/.pi/agent/plan-stepdown.json < ./.pi/plan-stepdown.json <
--config FILE. Prices: pi-ai's built-in model table.`;

export interface CliArgs {
	paths: string[];
	config: string | undefined;
	stepping: Stepping | undefined;
	json: boolean;
}

export function parseCliArgs(argv: readonly string[]): CliArgs | string {
	if (argv[0] !== "replay") return USAGE;
	const args: CliArgs = { paths: [], config: undefined, stepping: undefined, json: false };
	for (let i = 1; i < argv.length; i++) {
		const a = argv[i] as string;
		if (a === "--config") args.config = argv[++i];
		else if (a === "--json") args.json = true;
		else if (a === "--stepping") {
			const v = argv[++i];
			if (v !== "cache-aware" && v !== "per-call") return `--stepping: expected cache-aware or per-call, found ${v}`;
			args.stepping = v;
		} else if (a === "--help" || a === "-h") return USAGE;
		else if (a.startsWith("--")) return `unknown option ${a}\n\n${USAGE}`;
		else args.paths.push(a);
	}
	if (args.paths.length === 0 || (argv.includes("--config") && !args.config)) return USAGE;
	return args;
}

/** Every .jsonl file a path names: itself, or those under a directory (sorted). */
export function sessionFiles(path: string): string[] {
	if (!statSync(path).isDirectory()) return [path];
	return readdirSync(path, { recursive: true, encoding: "utf8" })
		.filter((f) => f.endsWith(".jsonl"))
		.sort()
		.map((f) => join(path, f));
}

export function piAiPrices(): PriceLookup {
	const table = new Map<
		string,
		{ cost: { input: number; output: number; cacheRead: number; cacheWrite: number }; api: string }
	>();
	for (const provider of getProviders()) {
		for (const m of getModels(provider)) table.set(`${m.provider}/${m.id}`, { cost: m.cost, api: m.api });
	}
	return (ref) => table.get(ref);
}

export function main(argv: readonly string[], out: (line: string) => void = console.log): number {
	const args = parseCliArgs(argv);
	if (typeof args === "string") {
		out(args);
		return argv[0] === "replay" && (argv.includes("--help") || argv.includes("-h")) ? 0 : 2;
	}
	const agentDir = process.env.PI_CODING_AGENT_DIR ?? join(homedir(), ".pi", "agent");
	const resolved = resolveConfig(readLayers(agentDir, process.cwd(), args.config));
	if (resolved.issues.length > 0) {
		for (const issue of resolved.issues) out(formatIssue(issue));
		return 2;
	}
	const prices = piAiPrices();
	const results: { file: string; result: ReplayResult }[] = [];
	for (const path of args.paths) {
		for (const file of sessionFiles(path)) {
			const session = parseSession(readFileSync(file, "utf8"));
			const result = replayBranch(currentBranch(session.entries), resolved.config, prices, {
				stepping: args.stepping,
				sessionThinking: session.header?.thinkingLevel,
			});
			results.push({ file, result });
		}
	}
	if (args.json) {
		out(JSON.stringify(results, null, "\t"));
		return results.some((r) => r.result.problems.length > 0) ? 1 : 0;
	}
	for (const { file, result } of results) {
		out(file);
		for (const line of replayLines(result, args.config ?? "the configured ladder")) out(line);
	}
	if (results.length > 1) {
		const sum = (f: (r: ReplayResult) => number) => results.reduce((s, r) => s + f(r.result), 0);
		out(
			`all ${results.length} sessions: $${sum((r) => r.cost).toFixed(4)}; flat rung 0: $${sum((r) => r.flatCost).toFixed(4)}; ${sum((r) => r.calls)} calls`,
		);
	}
	return results.some((r) => r.result.problems.length > 0) ? 1 : 0;
}
