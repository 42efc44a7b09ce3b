/**
 * Start-up cost of loading the extension: the real pi binary in an isolated sandbox (agent dir, HOME and cwd in a
 * temp dir; models.json with the mock providers; the harness environment with PI_OFFLINE), the same command without
 * `-e`, with `-e <repo root>`, with `-e` of an empty TypeScript extension (what loading any extension costs) and with
 * `-e` of a copy of the extension whose relative imports name the `.ts` files instead of `.js` (pi loads extensions
 * with jiti, which resolves a `./x.js` specifier to `x.ts` only after a series of failed lookups), interleaved in
 * rotating order, after one unmeasured warm-up run of each.
 *
 * Wall-clock time is the figure; where bash is available the child's CPU time (user + sys, from bash's `times`) is
 * recorded too: it is far less disturbed by other work on the machine.
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { exampleProviders } from "../helpers/mock-llm.ts";
import { makeSandbox, modelsJsonFor, PI_CLI, piEnv, REPO_ROOT, runPi, type Sandbox } from "../helpers/pi-harness.ts";
import { median } from "./timing.ts";

export type Variant = "without" | "with" | "empty" | "tsImports";

export interface StartupOptions {
	/** Measured runs of each variant. */
	runs: number;
	/** pi's arguments (default `--list-models`). */
	args?: string[];
	timeoutMs?: number;
	onRun?: (variant: Variant, ms: number) => void;
}

export interface VariantTimes {
	/** Wall-clock ms per run. */
	wallMs: number[];
	/** Child CPU ms (user + sys) per run; empty where bash is not available. */
	cpuMs: number[];
	medianWallMs: number;
	medianCpuMs: number | undefined;
}

export interface StartupResult {
	command: string;
	runs: number;
	without: VariantTimes;
	/** `-e <repo root>`. */
	with: VariantTimes;
	/** `-e` of a one-line TypeScript extension (`export default function () {}`). */
	empty: VariantTimes;
	/** `-e` of a copy of the repo's src/ whose relative imports end in `.ts` (a what-if, not the shipped code). */
	tsImports: VariantTimes;
	/** Wall-clock: median with / median without (the target figure). */
	ratio: number;
	/** CPU time: median with / median without. */
	cpuRatio: number | undefined;
	/** Wall-clock: median empty extension / median without. */
	emptyRatio: number;
	/** Wall-clock: median tsImports / median without. */
	tsImportsRatio: number;
	/** CPU time: median tsImports / median without. */
	tsImportsCpuRatio: number | undefined;
	/** `pi --help -e <repo>` lists the extension's flag: the extension really loads in this setup. */
	extensionLoaded: boolean;
}

/** Model list only: no request is ever made, the port is never opened. */
const UNUSED_BASE = (provider: string) => `http://127.0.0.1:9/${provider}/v1`;

const EMPTY_EXTENSION = "empty-extension/index.ts";
const TS_IMPORTS_COPY = "ts-imports-copy";

/** A copy of the extension (src/ and package.json) in `dir`, relative imports rewritten from `./x.js` to `./x.ts`. */
export function tsImportsCopy(dir: string): void {
	mkdirSync(join(dir, "src"), { recursive: true });
	copyFileSync(join(REPO_ROOT, "package.json"), join(dir, "package.json"));
	symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"), "dir");
	for (const file of readdirSync(join(REPO_ROOT, "src"))) {
		if (!file.endsWith(".ts")) continue;
		const source = readFileSync(join(REPO_ROOT, "src", file), "utf8");
		writeFileSync(join(dir, "src", file), source.replace(/(from\s+"\.{1,2}\/[^"]+)\.js"/g, '$1.ts"'));
	}
}
const BASH = "/bin/bash";
/** Runs the command with output discarded, then prints the children's CPU times (`times`, second line). */
const TIMES_SCRIPT = '"$@" >/dev/null 2>&1 </dev/null; rc=$?; times; exit $rc';

const seconds = (text: string) => {
	const m = /^(\d+)m([\d.]+)s$/.exec(text);
	return m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
};

/** One run: wall-clock ms, and child CPU ms when measured through bash. */
export function timedRun(
	sandbox: Sandbox,
	piArgs: string[],
	timeoutMs: number,
): Promise<{ wallMs: number; cpuMs?: number }> {
	const viaBash = process.platform !== "win32" && existsSync(BASH);
	const command = viaBash ? BASH : process.execPath;
	const args = viaBash ? ["-c", TIMES_SCRIPT, "bash", process.execPath, PI_CLI, ...piArgs] : [PI_CLI, ...piArgs];
	return new Promise((resolve, reject) => {
		const start = performance.now();
		const child = spawn(command, args, {
			cwd: sandbox.projectDir,
			env: piEnv(sandbox),
			stdio: ["ignore", "pipe", "pipe"],
		});
		let out = "";
		let err = "";
		child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
			out += chunk;
		});
		child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
			err += chunk;
		});
		const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
		child.on("error", (error) => {
			clearTimeout(timer);
			reject(error);
		});
		child.on("close", (code) => {
			clearTimeout(timer);
			const wallMs = performance.now() - start;
			if (code !== 0) {
				reject(new Error(`pi ${piArgs.join(" ")} exited ${code}${err ? `: ${err}` : ""}`));
				return;
			}
			const children = out.trim().split("\n")[1]?.trim().split(/\s+/);
			const cpu = children ? (seconds(children[0] ?? "") + seconds(children[1] ?? "")) * 1000 : Number.NaN;
			resolve(Number.isFinite(cpu) ? { wallMs, cpuMs: cpu } : { wallMs });
		});
	});
}

function summary(wallMs: number[], cpuMs: number[]): VariantTimes {
	return {
		wallMs,
		cpuMs,
		medianWallMs: median(wallMs),
		medianCpuMs: cpuMs.length === wallMs.length && cpuMs.length > 0 ? median(cpuMs) : undefined,
	};
}

export async function runStartupBench(opts: StartupOptions): Promise<StartupResult> {
	const piArgs = opts.args ?? ["--list-models"];
	const sandbox = makeSandbox({
		modelsJson: modelsJsonFor({ baseUrl: UNUSED_BASE }, exampleProviders()),
		files: { [EMPTY_EXTENSION]: "export default function () {}\n" },
	});
	const timeoutMs = opts.timeoutMs ?? 60_000;
	tsImportsCopy(join(sandbox.root, TS_IMPORTS_COPY));
	const extensionArgs: Record<Variant, string[]> = {
		without: [],
		with: ["-e", resolve(REPO_ROOT)],
		empty: ["-e", join(sandbox.projectDir, EMPTY_EXTENSION)],
		tsImports: ["-e", join(sandbox.root, TS_IMPORTS_COPY)],
	};
	try {
		const help = await runPi(sandbox, ["--help"], { extension: ".", timeoutMs });
		const extensionLoaded = help.code === 0 && /--plan-auto-approve/.test(help.stdout + help.stderr);
		const variants: Variant[] = ["without", "with", "empty", "tsImports"];
		const run = (variant: Variant) => timedRun(sandbox, [...extensionArgs[variant], ...piArgs], timeoutMs);
		for (const variant of variants) await run(variant); // warm-up: file cache, jiti's transpile cache
		const wall: Record<Variant, number[]> = { without: [], with: [], empty: [], tsImports: [] };
		const cpu: Record<Variant, number[]> = { without: [], with: [], empty: [], tsImports: [] };
		for (let i = 0; i < opts.runs; i++) {
			// Rotate the order, so that no variant always runs first or right after the same one.
			for (let k = 0; k < variants.length; k++) {
				const variant = variants[(i + k) % variants.length] as Variant;
				const result = await run(variant);
				wall[variant].push(result.wallMs);
				if (result.cpuMs !== undefined) cpu[variant].push(result.cpuMs);
				opts.onRun?.(variant, result.wallMs);
			}
		}
		const without = summary(wall.without, cpu.without);
		const withExt = summary(wall.with, cpu.with);
		const empty = summary(wall.empty, cpu.empty);
		const tsImports = summary(wall.tsImports, cpu.tsImports);
		const cpuRatio = (v: VariantTimes) =>
			v.medianCpuMs !== undefined && without.medianCpuMs !== undefined
				? v.medianCpuMs / without.medianCpuMs
				: undefined;
		return {
			command: `pi ${piArgs.join(" ")}`,
			runs: opts.runs,
			without,
			with: withExt,
			empty,
			tsImports,
			ratio: withExt.medianWallMs / without.medianWallMs,
			cpuRatio: cpuRatio(withExt),
			emptyRatio: empty.medianWallMs / without.medianWallMs,
			tsImportsRatio: tsImports.medianWallMs / without.medianWallMs,
			tsImportsCpuRatio: cpuRatio(tsImports),
			extensionLoaded,
		};
	} finally {
		sandbox.cleanup();
	}
}
