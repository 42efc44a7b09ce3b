import { resolve } from "node:path";

/**
 * pi parses `--flag value` for every extension flag before it knows the flag is boolean, then drops the value:
 * `pi -p --plan-auto-approve "task"` runs nothing and exits 0. The swallowed task is still in argv; find it.
 */
export function swallowedValue(argv: readonly string[], flag: string): string | undefined {
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		if (arg === "--") return undefined;
		if (arg.startsWith(`--${flag}=`)) {
			const value = arg.slice(flag.length + 3);
			return value === "true" || value === "false" ? undefined : value;
		}
		if (arg === `--${flag}`) {
			const next = argv[i + 1];
			return next !== undefined && !next.startsWith("-") && !next.startsWith("@") ? next : undefined;
		}
	}
	return undefined;
}

export const flagOrderMessage = (flag: string, task: string) =>
	`plan-stepdown: --${flag} takes no value, so pi read ${JSON.stringify(task)} as the flag's value and has no task to run.\nPut the task first: pi -p ${JSON.stringify(task)} --${flag}`;

/** pi's `--mode` (text, json, rpc) as its parser reads it: the last `--mode <value>` wins; undefined when absent. */
export function outputMode(argv: readonly string[]): string | undefined {
	let mode: string | undefined;
	for (let i = 0; i < argv.length - 1; i++) if (argv[i] === "--mode") mode = argv[i + 1];
	return mode;
}

/** Whether pi's `-e`/`--extension` arguments name one of `targets` (absolute paths; values resolve against `cwd`). */
export function loadedByFlag(argv: readonly string[], cwd: string, targets: readonly string[]): boolean {
	const wanted = new Set(targets.map((t) => resolve(t)));
	for (let i = 0; i < argv.length - 1; i++) {
		if (argv[i] === "--") return false;
		if ((argv[i] === "-e" || argv[i] === "--extension") && wanted.has(resolve(cwd, argv[i + 1]))) return true;
	}
	return false;
}

/** Whether `promise` settles within `ms`. */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<false>((resolve) => {
		timer = setTimeout(() => resolve(false), ms);
	});
	try {
		return await Promise.race([promise.then(() => true), timeout]);
	} finally {
		clearTimeout(timer);
	}
}

/**
 * Write to the real stdout. In its non-interactive modes pi points `process.stdout.write` at stderr so that only
 * its own output reaches stdout; the stream's own write method still writes to stdout, in order with pi's output.
 */
export function writeRealStdout(text: string): void {
	const write = (Object.getPrototypeOf(process.stdout) as { write: typeof process.stdout.write }).write;
	write.call(process.stdout, text);
}
