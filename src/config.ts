/**
 * Config layers: built-in defaults < ~/.pi/agent/plan-stepdown.json < <cwd>/.pi/plan-stepdown.json < --stepdown-config.
 * Objects merge, arrays replace. Every value remembers which layer set it, for `/stepdown`.
 * Parsing, validation and merging are pure; `readLayers` is the only function that touches the disk.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TSchema } from "typebox";
import { Value } from "typebox/value";
import { patternProblem } from "./safe-regex.ts";
import { type Config, ConfigSchema } from "./schema.ts";

export const CONFIG_FILE_NAME = "plan-stepdown.json";
/** The JSON Schema shipped with the package, as a local path: `$schema` works offline, whatever the install. */
export const SCHEMA_FILE = fileURLToPath(new URL("../plan-stepdown.schema.json", import.meta.url));
export const DEFAULTS_SOURCE = "built-in defaults";

/** Larger config files are refused unread: a config is a few hundred bytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Deeper JSON is refused before validation, whose recursion would otherwise overflow the stack. */
export const MAX_DEPTH = 32;
/** Issues reported per layer; a file with thousands of wrong items gets a count, not thousands of lines. */
export const MAX_ISSUES = 20;

/** One config layer as read from disk: `text` undefined means the file does not exist. */
export interface LayerInput {
	source: string;
	text: string | undefined;
	/** Why the file exists but could not be read (a FIFO, a directory, EACCES, a symlink loop, too large). */
	error?: string;
	/** A layer the user named explicitly (--stepdown-config): a missing file is an error. */
	required?: boolean;
	/**
	 * The project's own file (<cwd>/.pi/plan-stepdown.json) may only narrow plan mode: a cloned repository must not
	 * unlock writes. Its planBash.allow, planBash.sandbox "off" and planBash.network true are ignored with a warning.
	 */
	project?: boolean;
}

export interface ConfigIssue {
	source: string;
	/** JSON pointer into the file, "" for the whole file. */
	path: string;
	message: string;
}

export interface ResolvedConfig {
	config: Config;
	/** Settings that were ignored (a project file widening plan mode): reported, but the mode still works. */
	warnings: ConfigIssue[];
	/** JSON pointer of every leaf (arrays are leaves) → the layer that set it. */
	origins: Record<string, string>;
	/** Layers that exist and were applied, lowest first. */
	sources: string[];
	issues: ConfigIssue[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

export function defaultConfig(): Config {
	return Value.Default(ConfigSchema, {}) as Config;
}

/** Parse and validate one layer. Returns the layer's own (partial) object, or issues. */
export function parseLayer(layer: LayerInput): { value?: JsonObject; issues: ConfigIssue[] } {
	if (layer.error !== undefined) {
		return { issues: [{ source: layer.source, path: "", message: `cannot read: ${layer.error}` }] };
	}
	if (layer.text === undefined) {
		return layer.required
			? { issues: [{ source: layer.source, path: "", message: "file not found" }] }
			: { issues: [] };
	}
	let parsed: unknown;
	try {
		// Editors on Windows save a byte-order mark, which JSON.parse rejects.
		parsed = JSON.parse(layer.text.replace(/^\uFEFF/, ""));
	} catch (error) {
		const reason = error instanceof Error ? error.message : String(error);
		return { issues: [{ source: layer.source, path: "", message: `invalid JSON: ${reason}` }] };
	}
	if (!isObject(parsed)) {
		return {
			issues: [{ source: layer.source, path: "", message: `expected a JSON object, found ${describeValue(parsed)}` }],
		};
	}
	if (tooDeep(parsed, MAX_DEPTH)) {
		return { issues: [{ source: layer.source, path: "", message: `nested deeper than ${MAX_DEPTH} levels` }] };
	}
	// Unknown fields first, on the file as written: defaults filled into `__proto__` or a huge array are never run.
	const found: Omit<ConfigIssue, "source">[] = [];
	schemaIssues(ConfigSchema, parsed, "", found, { defaulted: false });
	if (found.length === 0) {
		// Defaults fill what the layer leaves out, so a partial file validates; the defaults themselves are valid.
		const withDefaults = Value.Default(ConfigSchema, structuredClone(parsed));
		schemaIssues(ConfigSchema, withDefaults, "", found, { defaulted: true });
	}
	if (found.length < MAX_ISSUES) found.push(...rungIssues(parsed), ...patternIssues(parsed));
	const issues = capIssues(found).map((i) => ({ ...i, source: layer.source }));
	return issues.length > 0 ? { issues } : { value: parsed, issues: [] };
}

function capIssues(issues: Omit<ConfigIssue, "source">[]): Omit<ConfigIssue, "source">[] {
	if (issues.length <= MAX_ISSUES) return issues;
	const shown = issues.slice(0, MAX_ISSUES);
	shown.push({ path: "", message: `and more problems (only the first ${MAX_ISSUES} are shown)` });
	return shown;
}

/** Iterative, so a 100,000-level file cannot overflow the stack while being measured. */
function tooDeep(value: unknown, max: number): boolean {
	const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
	while (stack.length > 0) {
		const { v, depth } = stack.pop() as { v: unknown; depth: number };
		if (typeof v !== "object" || v === null) continue;
		if (depth >= max) return true;
		for (const child of Object.values(v))
			if (typeof child === "object" && child !== null) stack.push({ v: child, depth: depth + 1 });
	}
	return false;
}

/** planBash patterns: valid, and safe to run on every command (see safe-regex.ts). */
function patternIssues(layer: JsonObject): Omit<ConfigIssue, "source">[] {
	const planBash = layer.planBash;
	if (!isObject(planBash)) return [];
	const issues: Omit<ConfigIssue, "source">[] = [];
	for (const field of ["allow", "deny"] as const) {
		const patterns = planBash[field];
		if (!Array.isArray(patterns)) continue;
		patterns.forEach((p, i) => {
			const problem = typeof p === "string" ? patternProblem(p) : undefined;
			if (problem) issues.push({ path: `/planBash/${field}/${i}`, message: `${JSON.stringify(p)}: ${problem}` });
		});
	}
	return issues;
}

/** What a project file may not set: it would widen plan mode. Returns the layer without those fields. */
export function narrowProject(value: JsonObject, source: string): { value: JsonObject; warnings: ConfigIssue[] } {
	const planBash = value.planBash;
	if (!isObject(planBash)) return { value, warnings: [] };
	const warnings: ConfigIssue[] = [];
	const kept: JsonObject = { ...planBash };
	const drop = (field: string, why: string) => {
		delete kept[field];
		warnings.push({ source, path: `/planBash/${field}`, message: `ignored: ${why}` });
	};
	if (Array.isArray(planBash.allow) && planBash.allow.length > 0) {
		drop("allow", "a project file may only narrow plan mode (deny), never widen it; set allow in your own config");
	}
	if (planBash.sandbox === "off") drop("sandbox", "a project file cannot turn the plan-mode sandbox off");
	if (planBash.network === true) drop("network", "a project file cannot give the plan-mode sandbox the network");
	return { value: { ...value, planBash: kept }, warnings };
}

/** Merge layers over the defaults. Objects merge key by key; arrays and scalars replace. */
export function resolveConfig(layers: LayerInput[]): ResolvedConfig {
	let merged = defaultConfig() as unknown as JsonObject;
	const origins: Record<string, string> = {};
	recordOrigins(merged, "", DEFAULTS_SOURCE, origins);
	const sources: string[] = [DEFAULTS_SOURCE];
	const issues: ConfigIssue[] = [];
	const warnings: ConfigIssue[] = [];
	for (const layer of layers) {
		const parsed = parseLayer(layer);
		issues.push(...parsed.issues);
		if (!parsed.value) continue;
		sources.push(layer.source);
		const { $schema: _ignored, ...own } = parsed.value;
		let value: JsonObject = own;
		if (layer.project) {
			const narrowed = narrowProject(own, layer.source);
			value = narrowed.value;
			warnings.push(...narrowed.warnings);
		}
		merged = mergeObjects(merged, value);
		recordOrigins(value, "", layer.source, origins);
	}
	const config = merged as unknown as Config;
	issues.push(...crossLayerIssues(config, origins));
	return { config, origins, sources, issues, warnings };
}

function mergeObjects(base: JsonObject, over: JsonObject): JsonObject {
	const out: JsonObject = { ...base };
	for (const [key, value] of Object.entries(over)) {
		if (key === "__proto__") continue; // validation refuses it; never let a merge set a prototype
		const prev = Object.hasOwn(out, key) ? out[key] : undefined;
		out[key] = isObject(prev) && isObject(value) ? mergeObjects(prev, value) : value;
	}
	return out;
}

function recordOrigins(value: Json, pointer: string, source: string, origins: Record<string, string>): void {
	if (isObject(value)) {
		for (const [key, child] of Object.entries(value)) recordOrigins(child, `${pointer}/${key}`, source, origins);
		return;
	}
	// An array or scalar replaces whatever was below this pointer.
	for (const key of Object.keys(origins)) if (key.startsWith(`${pointer}/`)) delete origins[key];
	origins[pointer] = source;
}

/** Rung checks the schema cannot express: which form names the model, and that it can be resolved. */
function rungIssues(layer: JsonObject): Omit<ConfigIssue, "source">[] {
	const ladder = layer.ladder;
	if (!Array.isArray(ladder)) return [];
	const issues: Omit<ConfigIssue, "source">[] = [];
	ladder.forEach((rung, i) => {
		if (!isObject(rung)) return;
		const path = `/ladder/${i}`;
		if (typeof rung.model === "string" && !/^[^/\s]+\/\S+$/.test(rung.model)) {
			issues.push({
				path: `${path}/model`,
				message: `expected "provider/id", found ${describeValue(rung.model)}`,
			});
		}
		if (rung.model === undefined && rung.modelId === undefined) {
			issues.push({ path, message: 'expected "model": "provider/id" or "modelId", found neither' });
		}
	});
	return issues;
}

/** Checks that need the merged result: a modelId rung may take its provider from another layer. */
function crossLayerIssues(config: Config, origins: Record<string, string>): ConfigIssue[] {
	const issues: ConfigIssue[] = [];
	config.ladder.forEach((rung, i) => {
		if (rung.model === undefined && rung.modelId !== undefined && !rung.provider && !config.provider) {
			issues.push({
				source: origins["/ladder"] ?? DEFAULTS_SOURCE,
				path: `/ladder/${i}/modelId`,
				message: `modelId ${JSON.stringify(rung.modelId)} needs a provider: set "provider" (top level or on the rung), or use "model": "provider/id"`,
			});
		}
	});
	return issues;
}

/**
 * Walk the schema and the value together: unknown fields by name, every other mismatch as
 * "expected <what the schema says>, found <value>". Leaves are checked with TypeBox, so the schema stays the rule.
 */
export function schemaIssues(
	schema: TSchema,
	value: unknown,
	pointer = "",
	out: Omit<ConfigIssue, "source">[] = [],
	options: { defaulted: boolean } = { defaulted: true },
): Omit<ConfigIssue, "source">[] {
	if (out.length > MAX_ISSUES) return out;
	const node = schema as SchemaNode;
	if (node.type === "object" && node.properties && isObject(value)) {
		const allowed = Object.keys(node.properties);
		for (const [key, child] of Object.entries(value)) {
			// Own properties only: "__proto__", "constructor" and "toString" are fields like any other misspelling.
			const sub = Object.hasOwn(node.properties, key) ? node.properties[key] : undefined;
			if (!sub) {
				out.push({
					path: `${pointer}/${key}`,
					message: `unknown field ${JSON.stringify(key)}${suggest(key, allowed)}; expected one of ${allowed.join(", ")}`,
				});
			} else {
				schemaIssues(sub as TSchema, child, `${pointer}/${key}`, out, options);
			}
			if (out.length > MAX_ISSUES) return out;
		}
		return out;
	}
	if (node.type === "array" && node.items && Array.isArray(value)) {
		for (let i = 0; i < value.length && out.length <= MAX_ISSUES; i++) {
			schemaIssues(node.items as TSchema, value[i], `${pointer}/${i}`, out, options);
		}
		return out;
	}
	// The first pass (on the file as written) looks for unknown fields only; values are checked once defaulted.
	if (!options.defaulted) return out;
	if (Value.Check(schema, value)) return out;
	out.push({ path: pointer, message: `expected ${describeSchema(node)}, found ${describeValue(value)}` });
	return out;
}

interface SchemaNode {
	type?: string;
	const?: unknown;
	anyOf?: SchemaNode[];
	items?: SchemaNode;
	properties?: Record<string, SchemaNode>;
	minLength?: number;
}

export function describeSchema(node: SchemaNode): string {
	if (node.anyOf) {
		if (node.anyOf.every((n) => n.const !== undefined || n.type === "null")) {
			return `one of ${node.anyOf.map((n) => (n.type === "null" ? "null" : JSON.stringify(n.const))).join(", ")}`;
		}
		return node.anyOf.map(describeSchema).join(" or ");
	}
	if (node.const !== undefined) return JSON.stringify(node.const);
	if (node.type === "array") return `an array of ${node.items ? plural(describeSchema(node.items)) : "values"}`;
	if (node.type === "object") return "an object";
	if (node.type === "string" && node.minLength) return "a non-empty string";
	if (node.type === "boolean") return "true or false";
	return node.type ? `a ${node.type}` : "a valid value";
}

const plural = (s: string) => s.replace(/^an? /, "").replace(/string$/, "strings");

export function describeValue(value: unknown): string {
	if (value === undefined) return "nothing";
	if (Array.isArray(value)) return "an array";
	if (value === null) return "null";
	if (typeof value === "object") return "an object";
	const text = JSON.stringify(value);
	return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Closest candidates by edit distance, for "did you mean" hints. */
export function closest(name: string, candidates: readonly string[], max = 3): string[] {
	const scored = candidates
		.map((c) => ({ c, d: editDistance(name.toLowerCase(), c.toLowerCase()) }))
		.filter(({ c, d }) => d <= Math.max(2, Math.floor(Math.max(name.length, c.length) / 3)))
		.sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
	return scored.slice(0, max).map(({ c }) => c);
}

function suggest(name: string, candidates: readonly string[]): string {
	const best = closest(name, candidates, 1);
	return best.length > 0 ? ` (did you mean ${JSON.stringify(best[0])}?)` : "";
}

export function editDistance(a: string, b: string): number {
	let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
	for (let i = 1; i <= a.length; i++) {
		const cur = [i];
		for (let j = 1; j <= b.length; j++) {
			cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
		}
		prev = cur;
	}
	return prev[b.length];
}

export function formatIssue(issue: ConfigIssue): string {
	return `${issue.source}${issue.path ? ` ${issue.path}` : ""}: ${issue.message}`;
}

/** Where the layers live. `agentDir` is pi's agent dir (PI_CODING_AGENT_DIR or ~/.pi/agent). */
export function layerPaths(agentDir: string, cwd: string, cliFile: string | undefined) {
	return {
		global: join(agentDir, CONFIG_FILE_NAME),
		project: join(cwd, ".pi", CONFIG_FILE_NAME),
		cli: cliFile,
	};
}

/** The only I/O here: read the three layer files (a missing file is simply absent). */
export function readLayers(agentDir: string, cwd: string, cliFile: string | undefined): LayerInput[] {
	const paths = layerPaths(agentDir, cwd, cliFile);
	const layers: LayerInput[] = [
		{ source: paths.global, ...readConfigFile(paths.global) },
		{ source: paths.project, ...readConfigFile(paths.project), project: true },
	];
	if (paths.cli) layers.push({ source: paths.cli, ...readConfigFile(paths.cli), required: true });
	return layers;
}

/**
 * Reads a regular file of at most `maxBytes`, never blocking: opened non-blocking (a FIFO cannot hang the open),
 * then fstat'ed on the descriptor (no race with a swapped path) before a single bounded read.
 * A missing file is `text: undefined`; anything else that cannot be read is `error` with the system's reason.
 */
export function readConfigFile(
	path: string,
	maxBytes = MAX_CONFIG_BYTES,
): { text: string | undefined; error?: string } {
	let fd: number | undefined;
	try {
		fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
		const stat = fstatSync(fd);
		if (!stat.isFile()) return { text: undefined, error: `not a regular file (${fileKind(stat)})` };
		if (stat.size > maxBytes) return { text: undefined, error: `larger than ${maxBytes} bytes (${stat.size})` };
		const buffer = Buffer.alloc(maxBytes + 1);
		let length = 0;
		while (length <= maxBytes) {
			const n = readSync(fd, buffer, length, maxBytes + 1 - length, null);
			if (n === 0) break;
			length += n;
		}
		if (length > maxBytes) return { text: undefined, error: `larger than ${maxBytes} bytes` };
		return { text: buffer.subarray(0, length).toString("utf8") };
	} catch (error) {
		const e = error as NodeJS.ErrnoException;
		if (e.code === "ENOENT") return { text: undefined };
		return { text: undefined, error: e.code ? `${e.code}: ${e.message}` : String(e.message) };
	} finally {
		if (fd !== undefined) closeSync(fd);
	}
}

function fileKind(stat: import("node:fs").Stats): string {
	if (stat.isDirectory()) return "a directory";
	if (stat.isFIFO()) return "a FIFO";
	if (stat.isCharacterDevice()) return "a character device";
	if (stat.isBlockDevice()) return "a block device";
	if (stat.isSocket()) return "a socket";
	return "not a file";
}
