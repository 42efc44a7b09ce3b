/**
 * Runs the real pi binary (node_modules/.bin/pi) in an isolated sandbox against the mock LLM server.
 *
 * Isolation:
 * - `PI_CODING_AGENT_DIR` = `<sandbox>/agent` (models.json, settings.json, sessions/ live here)
 * - `HOME` / `USERPROFILE` / `XDG_*` = `<sandbox>/home` so nothing can reach the real ~/.pi
 * - cwd = `<sandbox>/project`
 * - the child gets an allowlisted environment (no API keys, tokens, cloud credentials or proxies), plus
 *   `PI_OFFLINE=1` (skips version check, package update checks, install telemetry and tool downloads),
 *   `PI_SKIP_VERSION_CHECK=1`, `PI_TELEMETRY=0`, `CI=true` and `NO_PROXY=127.0.0.1,localhost`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
	cpSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	realpathSync,
	rmSync,
	writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { fileURLToPath } from "node:url";
import type { MockLlm, MockProvider } from "./mock-llm.js";
import { PI_HOST } from "./pi-line.ts";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The JS entry point of the pi line under test (PI_LINE), and the node binary that runs it. */
export const PI_CLI = PI_HOST.cli;
export const PI_NODE = PI_HOST.node;

/** Agent-level retries fast, SDK-level retries off: a retryable fault costs ~20 ms and exactly one extra request. */
export const FAST_RETRY_SETTINGS = {
	retry: { enabled: true, maxRetries: 3, baseDelayMs: 20, provider: { maxRetries: 0 } },
} as const;

// ---------------------------------------------------------------------------------------------
// sandbox
// ---------------------------------------------------------------------------------------------

export interface SandboxOptions {
	/** The mock server whose providers go into agent/models.json. */
	mock?: Pick<MockLlm, "providers" | "baseUrl">;
	/** Restrict models.json to these providers (default: all providers of `mock`). */
	providers?: MockProvider[];
	/** Written verbatim to agent/models.json instead of the generated file. */
	modelsJson?: unknown;
	/** Written to agent/settings.json (e.g. defaultProvider, defaultModel, defaultThinkingLevel, retry). */
	settings?: Record<string, unknown>;
	/** Written to project/.pi/plan-stepdown.json. */
	planConfig?: unknown;
	/** Extra files, paths relative to project/. */
	files?: Record<string, string>;
	/** Extra files, paths relative to agent/. */
	agentFiles?: Record<string, string>;
}

export interface Sandbox {
	root: string;
	agentDir: string;
	homeDir: string;
	projectDir: string;
	cleanup(): void;
}

function writeFile(path: string, content: string): void {
	mkdirSync(dirname(path), { recursive: true });
	writeFileSync(path, content);
}

function writeJson(path: string, value: unknown): void {
	writeFile(path, `${JSON.stringify(value, null, "\t")}\n`);
}

export function modelsJsonFor(mock: Pick<MockLlm, "baseUrl">, providers: MockProvider[]): unknown {
	const entries = providers.map((provider) => [
		provider.name,
		{
			baseUrl: mock.baseUrl(provider.name),
			api: provider.api,
			apiKey: provider.apiKey,
			...provider.extra,
			models: provider.models,
		},
	]);
	return { providers: Object.fromEntries(entries) };
}

/**
 * The scenarios written before the review turn on rung 0 (issue 12) script every call of their runs: their project
 * config turns the review off unless it says otherwise. test/e2e/safety-net.test.ts tests the review itself.
 */
function withoutReview(config: unknown): unknown {
	if (typeof config !== "object" || config === null || Array.isArray(config) || "review" in config) return config;
	return { ...config, review: { enabled: false } };
}

export function makeSandbox(opts: SandboxOptions = {}): Sandbox {
	const root = realpathSync(mkdtempSync(join(tmpdir(), "pi-e2e-")));
	const agentDir = join(root, "agent");
	const homeDir = join(root, "home");
	const projectDir = join(root, "project");
	for (const dir of [agentDir, homeDir, projectDir]) mkdirSync(dir, { recursive: true });

	if (opts.modelsJson !== undefined) {
		writeJson(join(agentDir, "models.json"), opts.modelsJson);
	} else if (opts.mock) {
		writeJson(join(agentDir, "models.json"), modelsJsonFor(opts.mock, opts.providers ?? opts.mock.providers));
	}
	if (opts.settings) writeJson(join(agentDir, "settings.json"), opts.settings);
	if (opts.planConfig !== undefined)
		writeJson(join(projectDir, ".pi", "plan-stepdown.json"), withoutReview(opts.planConfig));
	for (const [path, content] of Object.entries(opts.files ?? {})) writeFile(join(projectDir, path), content);
	for (const [path, content] of Object.entries(opts.agentFiles ?? {})) writeFile(join(agentDir, path), content);

	return {
		root,
		agentDir,
		homeDir,
		projectDir,
		cleanup() {
			// PI_E2E_KEEP_SESSIONS=<dir>: keep the session files pi wrote (fixtures for the replay), one folder per sandbox.
			const keep = process.env.PI_E2E_KEEP_SESSIONS;
			const sessions = join(agentDir, "sessions");
			if (keep && existsSync(sessions)) cpSync(sessions, join(keep, basename(root)), { recursive: true });
			rmSync(root, { recursive: true, force: true });
		},
	};
}

// ---------------------------------------------------------------------------------------------
// environment
// ---------------------------------------------------------------------------------------------

const PASSTHROUGH_ENV = [
	"PATH",
	"Path",
	"LANG",
	"LANGUAGE",
	"LC_ALL",
	"LC_CTYPE",
	"TZ",
	"TMPDIR",
	"TMP",
	"TEMP",
	"SYSTEMROOT",
	"SystemRoot",
	"COMSPEC",
	"PATHEXT",
	"WINDIR",
];

const SECRET_ENV =
	/(_API_KEY|_TOKEN|_SECRET|_SECRET_ACCESS_KEY|_ACCESS_KEY_ID|_PASSWORD)$|^AWS_|^GOOGLE_APPLICATION_CREDENTIALS$/i;

/** The environment the pi child process gets. `extra` values of `undefined` delete a variable. */
export function piEnv(sandbox: Sandbox, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const key of PASSTHROUGH_ENV) {
		const value = process.env[key];
		if (value !== undefined && !SECRET_ENV.test(key)) env[key] = value;
	}
	Object.assign(env, {
		PI_CODING_AGENT_DIR: sandbox.agentDir,
		HOME: sandbox.homeDir,
		USERPROFILE: sandbox.homeDir,
		XDG_CONFIG_HOME: join(sandbox.homeDir, ".config"),
		XDG_DATA_HOME: join(sandbox.homeDir, ".local", "share"),
		XDG_CACHE_HOME: join(sandbox.homeDir, ".cache"),
		PI_OFFLINE: "1",
		PI_SKIP_VERSION_CHECK: "1",
		PI_TELEMETRY: "0",
		CI: "true",
		NO_COLOR: "1",
		TERM: "dumb",
		NO_PROXY: "127.0.0.1,localhost",
		no_proxy: "127.0.0.1,localhost",
	});
	for (const [key, value] of Object.entries(extra)) {
		if (value === undefined) delete env[key];
		else env[key] = value;
	}
	return env;
}

// ---------------------------------------------------------------------------------------------
// one-shot runs
// ---------------------------------------------------------------------------------------------

export interface RunOptions {
	/** Kill pi and reject with PiTimeoutError after this long (default 30 s). */
	timeoutMs?: number;
	/** Text piped to stdin (pi prepends it to the prompt). stdin is always closed. */
	input?: string;
	/** Extension file(s) passed as `-e`; relative paths resolve against the repo root. */
	extension?: string | string[];
	/** Extra environment; `undefined` removes a variable. */
	env?: Record<string, string | undefined>;
	/** Working directory (default: sandbox.projectDir). */
	cwd?: string;
}

export interface RunResult {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
}

export class PiTimeoutError extends Error {
	constructor(
		message: string,
		readonly stdout: string,
		readonly stderr: string,
	) {
		super(`${message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
		this.name = "PiTimeoutError";
	}
}

function extensionArgs(extension: string | string[] | undefined): string[] {
	if (extension === undefined) return [];
	const list = Array.isArray(extension) ? extension : [extension];
	return list.flatMap((path) => ["-e", resolve(REPO_ROOT, path)]);
}

function spawnPi(sandbox: Sandbox, args: string[], opts: Omit<RunOptions, "input" | "timeoutMs">): ChildProcess {
	return spawn(PI_NODE, [PI_CLI, ...extensionArgs(opts.extension), ...args], {
		cwd: opts.cwd ?? sandbox.projectDir,
		env: piEnv(sandbox, opts.env),
		stdio: ["pipe", "pipe", "pipe"],
		// Own process group, so a timeout can also kill the shells pi spawned for tools.
		detached: process.platform !== "win32",
	});
}

function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
	if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
	try {
		if (process.platform !== "win32") process.kill(-child.pid, signal);
		else child.kill(signal);
	} catch {
		child.kill(signal);
	}
}

export function runPi(sandbox: Sandbox, args: string[], opts: RunOptions = {}): Promise<RunResult> {
	const timeoutMs = opts.timeoutMs ?? 30_000;
	return new Promise((resolvePromise, rejectPromise) => {
		const child = spawnPi(sandbox, args, opts);
		let stdout = "";
		let stderr = "";
		child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
			stdout += chunk;
		});
		child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
			stderr += chunk;
		});
		child.stdin?.on("error", () => {
			// pi may exit before reading stdin
		});
		child.stdin?.end(opts.input ?? "");
		const timer = setTimeout(() => {
			killTree(child, "SIGKILL");
			rejectPromise(new PiTimeoutError(`pi ${args.join(" ")} timed out after ${timeoutMs} ms`, stdout, stderr));
		}, timeoutMs);
		child.on("error", (error) => {
			clearTimeout(timer);
			rejectPromise(error);
		});
		child.on("close", (code, signal) => {
			clearTimeout(timer);
			resolvePromise({ code, signal, stdout, stderr });
		});
	});
}

/** Parses JSONL output (e.g. `--mode json` stdout). Non-JSON lines throw. */
export function parseJsonLines(text: string): PiEvent[] {
	return text
		.split("\n")
		.map((line) => line.replace(/\r$/, ""))
		.filter((line) => line.trim().length > 0)
		.map((line) => JSON.parse(line) as PiEvent);
}

// ---------------------------------------------------------------------------------------------
// RPC mode
// ---------------------------------------------------------------------------------------------

export interface PiEvent {
	type: string;
	[key: string]: unknown;
}

export interface UiRequest extends PiEvent {
	type: "extension_ui_request";
	id: string;
	method: string;
}

export type UiReply = { value: string } | { confirmed: boolean } | { cancelled: true };

export interface RpcOptions extends Omit<RunOptions, "input" | "timeoutMs"> {
	/**
	 * Answers dialog requests (select / confirm / input / editor) automatically.
	 * Return undefined to leave the request unanswered (answer later with respondUi).
	 */
	onUiRequest?: (request: UiRequest) => UiReply | undefined;
	/** Default timeout for waitFor / request / prompt (default 15 s). */
	timeoutMs?: number;
}

export interface PiRpc {
	child: ChildProcess;
	/** Every parsed stdout record so far (non-JSON lines appear as `{ type: "non_json", line }`). */
	events: PiEvent[];
	stderr(): string;
	send(command: Record<string, unknown>): void;
	/** Sends a command with a fresh id and resolves with its `response` record. */
	request(command: Record<string, unknown>, timeoutMs?: number): Promise<PiEvent>;
	/** Sends a prompt and resolves with the next `agent_end` event. */
	prompt(message: string, timeoutMs?: number): Promise<PiEvent>;
	/**
	 * Resolves with the first event after the cursor matching `predicate`, then moves the cursor past it.
	 * The cursor starts at 0, so events that arrived before the call are not missed.
	 */
	waitFor(predicate: (event: PiEvent) => boolean, timeoutMs?: number): Promise<PiEvent>;
	respondUi(id: string, reply: UiReply): void;
	/** Iterates events from the cursor (advancing it) until the process exits. */
	[Symbol.asyncIterator](): AsyncIterator<PiEvent>;
	exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
	close(): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

const DIALOG_METHODS = new Set(["select", "confirm", "input", "editor"]);

function isUiRequest(event: PiEvent): event is UiRequest {
	return event.type === "extension_ui_request" && typeof event.id === "string" && typeof event.method === "string";
}

export function startPiRpc(sandbox: Sandbox, args: string[], opts: RpcOptions = {}): PiRpc {
	const defaultTimeout = opts.timeoutMs ?? 15_000;
	const child = spawnPi(sandbox, ["--mode", "rpc", ...args], opts);
	const events: PiEvent[] = [];
	const listeners = new Set<() => void>();
	let stderr = "";
	let cursor = 0;
	let nextId = 0;
	let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

	const notify = () => {
		for (const listener of [...listeners]) listener();
	};

	const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
		child.on("close", (code, signal) => {
			exitInfo = { code, signal };
			resolveExit(exitInfo);
			notify();
		});
		child.on("error", (error) => {
			stderr += `\n[spawn error] ${error.message}`;
			exitInfo = { code: null, signal: null };
			resolveExit(exitInfo);
			notify();
		});
	});

	const send = (command: Record<string, unknown>) => {
		if (child.stdin?.writable) child.stdin.write(`${JSON.stringify(command)}\n`);
	};
	const respondUi = (id: string, reply: UiReply) => send({ type: "extension_ui_response", id, ...reply });

	const onLine = (line: string) => {
		if (line.trim().length === 0) return;
		let event: PiEvent;
		try {
			const parsed: unknown = JSON.parse(line);
			event =
				typeof parsed === "object" && parsed !== null && typeof (parsed as PiEvent).type === "string"
					? (parsed as PiEvent)
					: { type: "non_json", line };
		} catch {
			event = { type: "non_json", line };
		}
		events.push(event);
		if (isUiRequest(event) && DIALOG_METHODS.has(event.method) && opts.onUiRequest) {
			const reply = opts.onUiRequest(event);
			if (reply) respondUi(event.id, reply);
		}
		notify();
	};

	// Strict JSONL: split on LF only (readline would also split on U+2028/U+2029).
	const decoder = new StringDecoder("utf8");
	let buffer = "";
	child.stdout?.on("data", (chunk: Buffer) => {
		buffer += decoder.write(chunk);
		let newline = buffer.indexOf("\n");
		while (newline !== -1) {
			onLine(buffer.slice(0, newline).replace(/\r$/, ""));
			buffer = buffer.slice(newline + 1);
			newline = buffer.indexOf("\n");
		}
	});
	child.stdout?.on("end", () => {
		buffer += decoder.end();
		if (buffer.length > 0) onLine(buffer.replace(/\r$/, ""));
		buffer = "";
	});
	child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
		stderr += chunk;
	});
	child.stdin?.on("error", () => {
		// pi exited; writes are dropped
	});

	const describe = () => {
		const recent = events
			.slice(-15)
			.map((e) => e.type)
			.join(", ");
		return `recent events: [${recent}]\n--- stderr ---\n${stderr}`;
	};

	/** Finds the first event at index >= from matching predicate; waits for more events if needed. */
	const find = (predicate: (event: PiEvent) => boolean, from: number, timeoutMs: number) =>
		new Promise<number>((resolveFind, rejectFind) => {
			let scanned = from;
			let timer: NodeJS.Timeout | undefined;
			const finish = (fn: () => void) => {
				listeners.delete(check);
				if (timer) clearTimeout(timer);
				fn();
			};
			function check() {
				for (; scanned < events.length; scanned++) {
					const event = events[scanned];
					if (event && predicate(event)) {
						const index = scanned;
						return finish(() => resolveFind(index));
					}
				}
				if (exitInfo) {
					finish(() => rejectFind(new Error(`pi exited (code ${exitInfo?.code}) before event; ${describe()}`)));
				}
			}
			timer = setTimeout(() => {
				finish(() => rejectFind(new Error(`timed out after ${timeoutMs} ms waiting for event; ${describe()}`)));
			}, timeoutMs);
			listeners.add(check);
			check();
		});

	const waitFor = async (predicate: (event: PiEvent) => boolean, timeoutMs = defaultTimeout) => {
		const index = await find(predicate, cursor, timeoutMs);
		cursor = Math.max(cursor, index + 1);
		return events[index] as PiEvent;
	};

	const request = async (command: Record<string, unknown>, timeoutMs = defaultTimeout) => {
		const id = `harness-${++nextId}`;
		const from = events.length;
		send({ ...command, id });
		const index = await find((e) => e.type === "response" && e.id === id, from, timeoutMs);
		return events[index] as PiEvent;
	};

	const prompt = async (message: string, timeoutMs = defaultTimeout) => {
		const from = events.length;
		const response = await request({ type: "prompt", message }, timeoutMs);
		if (response.success !== true) throw new Error(`prompt rejected: ${JSON.stringify(response)}`);
		const index = await find((e) => e.type === "agent_end", from, timeoutMs);
		cursor = Math.max(cursor, index + 1);
		return events[index] as PiEvent;
	};

	const close = async () => {
		if (!exitInfo) {
			child.stdin?.end();
			const graceful = await Promise.race([exited, delay(1500).then(() => undefined)]);
			if (!graceful) {
				killTree(child, "SIGTERM");
				const terminated = await Promise.race([exited, delay(2000).then(() => undefined)]);
				if (!terminated) killTree(child, "SIGKILL");
			}
		}
		const info = await exited;
		return { ...info, stderr };
	};

	return {
		child,
		events,
		stderr: () => stderr,
		send,
		request,
		prompt,
		waitFor,
		respondUi,
		[Symbol.asyncIterator](): AsyncIterator<PiEvent> {
			return {
				next: async (): Promise<IteratorResult<PiEvent>> => {
					try {
						const event = await waitFor(() => true, 2 ** 31 - 1);
						return { value: event, done: false };
					} catch {
						return { value: undefined, done: true };
					}
				},
			};
		},
		exited,
		close,
	};
}

function delay(ms: number): Promise<void> {
	return new Promise((resolveDelay) => setTimeout(resolveDelay, ms));
}

// ---------------------------------------------------------------------------------------------
// sessions
// ---------------------------------------------------------------------------------------------

export interface SessionEntry {
	type: string;
	[key: string]: unknown;
}

export interface SessionFile {
	file: string;
	entries: SessionEntry[];
}

function listJsonl(dir: string): string[] {
	if (!existsSync(dir)) return [];
	return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) return listJsonl(path);
		return entry.isFile() && entry.name.endsWith(".jsonl") ? [path] : [];
	});
}

/** Parses every session .jsonl pi wrote under `<agentDir>/sessions` (or `dir`), oldest file name first. */
export function readSessionEntries(sandbox: Sandbox, dir = join(sandbox.agentDir, "sessions")): SessionFile[] {
	return listJsonl(dir)
		.sort((a, b) => a.localeCompare(b))
		.map((file) => ({
			file,
			entries: readFileSync(file, "utf8")
				.split("\n")
				.filter((line) => line.trim().length > 0)
				.map((line) => JSON.parse(line) as SessionEntry),
		}));
}
