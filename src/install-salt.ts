/**
 * A random per-install salt for the prompt-cache key, kept in the agent dir (`plan-stepdown.salt`, mode 0600):
 * without it the key is a plain hash of user name and path, which a dictionary of likely names reverses in seconds.
 * Never throws: if the file cannot be read or written, a per-process salt is used (the cache key then changes
 * between runs, which only costs cache hits).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readConfigFile } from "./config.ts";

export const SALT_FILE = "plan-stepdown.salt";
const SALT = /^[0-9a-f]{64}$/;

let processSalt: string | undefined;

export function installSalt(agentDir: string): string {
	const path = join(agentDir, SALT_FILE);
	try {
		const existing = readConfigFile(path, 1024);
		const text = existing.text?.trim();
		if (text && SALT.test(text)) return text;
		if (existing.text === undefined && existing.error === undefined) {
			const salt = randomBytes(32).toString("hex");
			mkdirSync(agentDir, { recursive: true });
			// "wx": never overwrite a salt another pi process wrote meanwhile; read that one instead.
			try {
				writeFileSync(path, `${salt}\n`, { mode: 0o600, flag: "wx" });
				return salt;
			} catch (error) {
				if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
				const raced = readConfigFile(path, 1024).text?.trim();
				if (raced && SALT.test(raced)) return raced;
			}
		}
	} catch {
		// fall through to the per-process salt
	}
	processSalt ??= randomBytes(32).toString("hex");
	return processSalt;
}
