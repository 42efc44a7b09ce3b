/**
 * `/stepdown [replay [FILE] [--stepping per-call|cache-aware]]`: the arguments, and the replay of the current branch
 * on another config as text. The same core as the replay CLI (replay.ts); this file only reads what the command
 * asked for. Pure: the caller reads the config layers and the branch, and prints.
 */
import { isAbsolute, join } from "node:path";
import { formatIssue, type ResolvedConfig } from "./config.ts";
import { type PriceLookup, replayBranch, replayLines } from "./replay.ts";
import type { SessionFileEntry } from "./session-reader.ts";
import type { Stepping } from "./stepping.ts";

export const STEPDOWN_USAGE = "usage: /stepdown [replay [FILE] [--stepping per-call|cache-aware]]";

export type StepdownCommand =
	| { kind: "report" }
	| { kind: "replay"; file: string | undefined; stepping: Stepping | undefined }
	| { kind: "invalid"; message: string };

/** Words of the argument string; "…" and '…' keep spaces (a path with a space). */
export function splitArgs(args: string): string[] {
	const words: string[] = [];
	const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
	for (let m = re.exec(args); m; m = re.exec(args)) words.push(m[1] ?? m[2] ?? m[3] ?? "");
	return words;
}

export function parseStepdownArgs(args: string): StepdownCommand {
	const words = splitArgs(args);
	if (words.length === 0) return { kind: "report" };
	if (words[0] !== "replay") return { kind: "invalid", message: `unknown argument "${words[0]}"\n${STEPDOWN_USAGE}` };
	let file: string | undefined;
	let stepping: Stepping | undefined;
	for (let i = 1; i < words.length; i++) {
		const w = words[i] as string;
		if (w === "--stepping") {
			const v = words[++i];
			if (v !== "per-call" && v !== "cache-aware") {
				return { kind: "invalid", message: `--stepping: expected per-call or cache-aware, found ${v ?? "nothing"}` };
			}
			stepping = v;
		} else if (w.startsWith("--")) return { kind: "invalid", message: `unknown option ${w}\n${STEPDOWN_USAGE}` };
		else if (file !== undefined) return { kind: "invalid", message: `one config file, found "${file}" and "${w}"` };
		else file = w;
	}
	return { kind: "replay", file, stepping };
}

/** The config file as the replay reads it: relative to the session's working directory. */
export const replayConfigPath = (file: string, cwd: string): string => (isAbsolute(file) ? file : join(cwd, file));

export interface ReplayCommandResult {
	ok: boolean;
	lines: string[];
}

/**
 * The branch replayed on `resolved` (the config layers with FILE on top, validated by the config loader): the CLI's
 * lines, or why it cannot replay.
 */
export function replayCommand(
	branch: readonly SessionFileEntry[],
	resolved: ResolvedConfig,
	prices: PriceLookup,
	options: { stepping: Stepping | undefined; sessionThinking: string; label: string },
): ReplayCommandResult {
	if (resolved.issues.length > 0) {
		return {
			ok: false,
			lines: ["/stepdown replay: config errors:", ...resolved.issues.map((i) => `  ✗ ${formatIssue(i)}`)],
		};
	}
	const result = replayBranch(branch, resolved.config, prices, {
		stepping: options.stepping,
		sessionThinking: options.sessionThinking,
	});
	if (result.problems.length > 0) return { ok: false, lines: [`/stepdown ${replayLines(result)[0]}`] };
	if (result.calls === 0) return { ok: false, lines: ["/stepdown replay: no LLM calls on this branch yet"] };
	return { ok: true, lines: replayLines(result, options.label) };
}
