/**
 * The OS sandbox for plan-mode bash: the filesystem is read-only (a private writable /tmp), the network is off by
 * default. Linux: bubblewrap called directly; macOS: sandbox-exec with a profile. The builders are pure (text in,
 * text out); `probeSandbox` is the only function that runs anything, once per process.
 */
import { spawnSync } from "node:child_process";

export type SandboxKind = "bubblewrap" | "sandbox-exec";

export interface SandboxOptions {
	/** Keep the network (planBash.network: true); off by default. */
	network: boolean;
}

/** Single-quotes a string for bash: nothing inside is expanded. */
export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * bwrap arguments, in order (later mounts go on top of earlier ones): `/` read-only, fresh /dev and /proc, a private
 * tmpfs on /tmp, then the working directory bound read-only again in case it lives under /tmp.
 */
export function bwrapArgs(options: SandboxOptions): string[] {
	return [
		"--ro-bind",
		"/",
		"/",
		"--dev",
		"/dev",
		"--proc",
		"/proc",
		"--tmpfs",
		"/tmp",
		"--ro-bind",
		'"$PWD"',
		'"$PWD"',
		"--chdir",
		'"$PWD"',
		...(options.network ? [] : ["--unshare-net"]),
		// Run as root, bwrap keeps root's capabilities: without this, `date -s`, `hostname` or `mount` change the
		// machine from inside the read-only view (a corpus run set this machine's clock to 2000).
		"--cap-drop",
		"ALL",
		"--die-with-parent",
	];
}

/** A sandbox-exec profile: everything allowed but writing outside the temporary directories, and the network. */
export function sandboxExecProfile(options: SandboxOptions): string {
	return [
		"(version 1)",
		"(allow default)",
		"(deny file-write*)",
		'(allow file-write* (subpath "/private/tmp") (subpath "/private/var/folders") (literal "/dev/null") (literal "/dev/tty") (regex #"^/dev/fd/"))',
		...(options.network ? [] : ["(deny network*)"]),
	].join(" ");
}

/**
 * The command pi's bash tool runs instead of `command`: the original runs in bash inside the sandbox, from the same
 * working directory ("$PWD" is expanded by the outer shell, which pi starts in the session's cwd).
 */
export function sandboxedCommand(kind: SandboxKind, command: string, options: SandboxOptions): string {
	if (kind === "bubblewrap") return `bwrap ${bwrapArgs(options).join(" ")} -- /bin/bash -c ${shellQuote(command)}`;
	return `/usr/bin/sandbox-exec -p ${shellQuote(sandboxExecProfile(options))} /bin/bash -c ${shellQuote(command)}`;
}

/** Which sandbox this platform would use, before probing it. */
export function sandboxFor(platform: NodeJS.Platform): SandboxKind | undefined {
	if (platform === "linux") return "bubblewrap";
	if (platform === "darwin") return "sandbox-exec";
	return undefined;
}

export interface ProbeResult {
	kind: SandboxKind | undefined;
	/** Why no sandbox is used (bwrap missing, user namespaces off…), for /plan and /stepdown. */
	reason?: string;
}

let probed: ProbeResult | undefined;

/**
 * Starts the sandbox once with `true` and caches the answer: a missing bwrap, a kernel without unprivileged user
 * namespaces or a container that forbids them all show up here, not in the middle of a plan.
 */
export function probeSandbox(platform: NodeJS.Platform = process.platform): ProbeResult {
	if (probed) return probed;
	const kind = sandboxFor(platform);
	if (!kind) {
		probed = { kind: undefined, reason: `no sandbox on ${platform}` };
		return probed;
	}
	const command = sandboxedCommand(kind, "true", { network: false });
	try {
		const run = spawnSync("/bin/bash", ["-c", command], { timeout: 5_000, encoding: "utf8", stdio: "pipe" });
		if (run.status === 0) probed = { kind };
		else {
			const why = (run.stderr || run.error?.message || `exit ${run.status}`).trim().split("\n")[0];
			probed = { kind: undefined, reason: `${kind} cannot start: ${why}` };
		}
	} catch (error) {
		probed = { kind: undefined, reason: `${kind} cannot start: ${(error as Error).message}` };
	}
	return probed;
}

/** Tests only: forget the cached probe. */
export function resetSandboxProbe(): void {
	probed = undefined;
}
