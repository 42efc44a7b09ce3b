/**
 * Drives an interactive program in a detached tmux session on a private server (its own socket, no user config),
 * for end-to-end tests of pi's TUI: send keys, read the screen with capture-pane, poll until text shows up.
 *
 * The program is started through `env -i` with exactly the environment given, so nothing from the test runner's
 * environment (or the tmux server's global environment) reaches it. `remain-on-exit` keeps the screen readable after
 * the program exits.
 *
 * Exit status: tmux's own `#{pane_dead_status}` proved unreliable (tmux 3.3a sometimes leaves the exited program a
 * zombie for seconds: pane_dead is 1, the status empty), so a wrapper shell, the pane's process, waits for the
 * program and writes its status to a file next to the socket.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

export function tmuxAvailable(): boolean {
	return spawnSync("tmux", ["-V"], { stdio: "ignore" }).status === 0;
}

export interface TmuxOptions {
	/** Path of the server socket (keep it short: unix sockets are limited to ~100 bytes). */
	socket: string;
	cwd: string;
	env: NodeJS.ProcessEnv;
	/** argv of the program. */
	command: string[];
	width?: number;
	height?: number;
}

export interface TmuxPane {
	/** The visible screen as plain text (no escape sequences), trailing blank lines removed. */
	screen(): string;
	/** The scrollback and the screen, as `screen()` formats it. */
	history(): string;
	/** tmux key names (e.g. "Enter", "Down", "Escape", "C-d"), sent as keys. */
	keys(...keys: string[]): void;
	/** Literal text, typed as is. */
	type(text: string): void;
	/** Polls the screen until `match` is on it; returns that screen. Throws with the last screen on timeout. */
	waitFor(match: string | RegExp | ((screen: string) => boolean), what?: string, timeoutMs?: number): Promise<string>;
	/** The program's exit status once it has exited, else undefined. */
	exitStatus(): number | undefined;
	/** Polls until the program has exited; returns its status. */
	waitExit(timeoutMs?: number): Promise<number>;
	/** Kills the tmux server (and with it the program). Idempotent. */
	kill(): void;
}

const TARGET = "pi-e2e";

export function startTmux(opts: TmuxOptions): TmuxPane {
	const base = ["-u", "-S", opts.socket, "-f", "/dev/null"];
	const tmux = (...args: string[]) => execFileSync("tmux", [...base, ...args], { encoding: "utf8" });
	const statusFile = `${opts.socket}.status`;
	const envArgs = Object.entries(opts.env)
		.filter((entry): entry is [string, string] => entry[1] !== undefined)
		.map(([key, value]) => `${key}=${value}`);
	tmux(
		"new-session",
		"-d",
		"-s",
		TARGET,
		"-x",
		String(opts.width ?? 160),
		"-y",
		String(opts.height ?? 50),
		"-c",
		opts.cwd,
		"sh",
		"-c",
		'"$@"; echo "$?" > "$0"',
		statusFile,
		"env",
		"-i",
		...envArgs,
		...opts.command,
		";",
		"set-option",
		"-t",
		TARGET,
		"remain-on-exit",
		"on",
	);
	let killed = false;

	const capture = (...args: string[]) =>
		tmux("capture-pane", "-p", "-t", TARGET, ...args)
			.replace(/\s+$/, "")
			.split("\n")
			.map((line) => line.replace(/\s+$/, ""))
			.join("\n");
	const screen = () => capture();

	const exitStatus = (): number | undefined => {
		if (!existsSync(statusFile)) return undefined;
		const text = readFileSync(statusFile, "utf8");
		return /^\d+\n$/.test(text) ? Number(text) : undefined;
	};

	const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

	return {
		screen,
		history: () => capture("-S", "-"),
		keys(...keys) {
			tmux("send-keys", "-t", TARGET, ...keys);
		},
		type(text) {
			tmux("send-keys", "-t", TARGET, "-l", text);
		},
		async waitFor(match, what, timeoutMs = 15_000) {
			const test =
				typeof match === "function"
					? match
					: typeof match === "string"
						? (s: string) => s.includes(match)
						: (s: string) => match.test(s);
			const deadline = Date.now() + timeoutMs;
			let last = "";
			for (;;) {
				last = screen();
				if (test(last)) return last;
				if (Date.now() > deadline) {
					const label = what ?? String(match);
					throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}; screen:\n${last}`);
				}
				if (exitStatus() !== undefined) {
					throw new Error(`the program exited while waiting for ${what ?? String(match)}; screen:\n${last}`);
				}
				await sleep(50);
			}
		},
		exitStatus,
		async waitExit(timeoutMs = 10_000) {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const status = exitStatus();
				if (status !== undefined) return status;
				if (Date.now() > deadline) throw new Error(`the program did not exit; screen:\n${screen()}`);
				await sleep(50);
			}
		},
		kill() {
			if (killed) return;
			killed = true;
			try {
				tmux("kill-server");
			} catch {
				// already gone
			}
		},
	};
}
