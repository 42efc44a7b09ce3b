/** The bench's command line: `npm run bench [-- options]` (see HELP). */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { REPO_ROOT } from "../helpers/pi-harness.ts";
import { readmeBlock, withBenchBlock } from "./readme-block.ts";
import { type BenchOptions, FULL_OPTIONS, formatReport, QUICK_OPTIONS, runBench } from "./run.ts";
import { readTraceFile } from "./session-trace.ts";
import { steppingRow } from "./stepping-bench.ts";
import { LADDERS } from "./trace.ts";

export const HELP = `npm run bench [-- options]

  --quick          history 10 only, 1 start-up run each, short timing budgets; writes no file unless --out
  --runs N         start-up runs of each variant (default 8; 0 skips the start-up bench)
  --sizes a,b,...  history sizes in messages (default 10,100,1000,10000)
  --budget MS      timing budget per comparison, ms (default 500)
  --out FILE       where to write the results (default test/bench/results.json)
  --no-write       print only
  --trace FILE     replay only FILE (a trace like test/bench/trace.json, or a pi session .jsonl) on the bench
                   ladders, or on --config FILE's ladder, under both stepping modes with the limit; JSON on stdout
  --config FILE    with --trace: a plan-stepdown.json whose ladder to replay
`;

export const DEFAULT_OUT = fileURLToPath(new URL("./results.json", import.meta.url));

export interface CliOptions {
	bench: BenchOptions;
	out: string | undefined;
	help: boolean;
	trace: string | undefined;
	config: string | undefined;
}

export function parseArgs(argv: readonly string[]): CliOptions {
	const quick = argv.includes("--quick");
	const base = quick ? QUICK_OPTIONS : FULL_OPTIONS;
	const bench: BenchOptions = { ...base, timing: { ...base.timing } };
	let out: string | undefined = quick ? undefined : DEFAULT_OUT;
	let help = false;
	let trace: string | undefined;
	let config: string | undefined;
	const value = (i: number, flag: string) => {
		const v = argv[i + 1];
		if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
		return v;
	};
	const count = (text: string, flag: string) => {
		const n = Number(text);
		if (!Number.isInteger(n) || n < 0) throw new Error(`${flag}: not a whole number: ${text}`);
		return n;
	};
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		if (arg === "--quick") continue;
		if (arg === "--help" || arg === "-h") help = true;
		else if (arg === "--no-write") out = undefined;
		else if (arg === "--runs") bench.runs = count(value(i++, arg), arg);
		else if (arg === "--budget") bench.timing.budgetMs = count(value(i++, arg), arg);
		else if (arg === "--out") out = value(i++, arg);
		else if (arg === "--trace") trace = value(i++, arg);
		else if (arg === "--config") config = value(i++, arg);
		else if (arg === "--sizes") {
			bench.sizes = value(i++, arg)
				.split(",")
				.map((s) => count(s.trim(), arg))
				.filter((n) => n > 0);
			if (bench.sizes.length === 0) throw new Error("--sizes: no size");
		} else throw new Error(`unknown option ${arg} (see --help)`);
	}
	if (config && !trace) throw new Error("--config goes with --trace");
	return { bench, out, help, trace, config };
}

/** The project's own formatter, so that `npm run check` stays green on a freshly written results file. */
function formatWithBiome(file: string): void {
	// No bin links in this repo (.npmrc): run Biome's launcher with this node.
	const biome = join(REPO_ROOT, "node_modules", "@biomejs", "biome", "bin", "biome");
	const result = spawnSync(process.execPath, [biome, "format", "--write", file], { encoding: "utf8" });
	if (result.status !== 0) process.stderr.write(`bench: biome format failed, ${file} left unformatted\n`);
}

async function main(): Promise<void> {
	const cli = parseArgs(process.argv.slice(2));
	if (cli.help) {
		process.stdout.write(HELP);
		return;
	}
	if (cli.trace) {
		const trace = readTraceFile(cli.trace);
		const ladders = cli.config
			? [{ name: "config", label: cli.config, config: JSON.parse(readFileSync(cli.config, "utf8")) }]
			: LADDERS;
		const rows = ladders.map((ladder) => steppingRow(basename(cli.trace as string), trace, ladder));
		process.stdout.write(`${JSON.stringify({ trace: cli.trace, description: trace.description, rows }, null, "\t")}\n`);
		return;
	}
	const results = await runBench({ ...cli.bench, log: (line) => process.stderr.write(`${line}\n`) });
	process.stdout.write(`${formatReport(results)}\n`);
	if (cli.out) {
		writeFileSync(cli.out, `${JSON.stringify(results, null, "\t")}\n`);
		formatWithBiome(cli.out);
		process.stderr.write(`results written to ${cli.out}\n`);
		if (cli.out === DEFAULT_OUT) {
			const readme = join(REPO_ROOT, "README.md");
			writeFileSync(readme, withBenchBlock(readFileSync(readme, "utf8"), readmeBlock(results)));
			process.stderr.write(`README bench table updated\n`);
		}
	}
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
	main().catch((error: unknown) => {
		process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
		process.exitCode = 1;
	});
}
