/**
 * Config layers: built-in defaults < ~/.pi/agent/plan-stepdown.json < <cwd>/.pi/plan-stepdown.json < --stepdown-config.
 * Objects merge, arrays replace. Every value remembers which layer set it, for `/stepdown`.
 * Parsing, validation and merging are pure; `readLayers` is the only function that touches the disk.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TSchema } from "typebox";
import { Value } from "typebox/value";
import { type Config, ConfigSchema } from "./schema.ts";

export const CONFIG_FILE_NAME = "plan-stepdown.json";
export const DEFAULTS_SOURCE = "built-in defaults";

/** One config layer as read from disk: `text` undefined means the file does not exist. */
export interface LayerInput {
	source: string;
	text: string | undefined;
	/** A layer the user named explicitly (--stepdown-config): a missing file is an error. */
	required?: boolean;
}

export interface ConfigIssue {
	source: string;
	/** JSON pointer into the file, "" for the whole file. */
	path: string;
	message: string;
}

export interface ResolvedConfig {
	config: Config;
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
	if (layer.text === undefined) {
		return layer.required
			? { issues: [{ source: layer.source, path: "", message: "file not found" }] }
			: { issues: [] };
	}
	let parsed: unknown;
	try {
		parsed = JSON.parse(layer.text);
	} catch (error) {
		const reason = error instanceof Error ? error.message : String(error);
		return { issues: [{ source: layer.source, path: "", message: `invalid JSON: ${reason}` }] };
	}
	if (!isObject(parsed)) {
		return {
			issues: [{ source: layer.source, path: "", message: `expected a JSON object, found ${describeValue(parsed)}` }],
		};
	}
	// Defaults fill what the layer leaves out, so a partial file validates; the defaults themselves are valid.
	const withDefaults = Value.Default(ConfigSchema, structuredClone(parsed));
	const issues = schemaIssues(ConfigSchema, withDefaults).map((i) => ({ ...i, source: layer.source }));
	issues.push(...rungIssues(parsed).map((i) => ({ ...i, source: layer.source })));
	return issues.length > 0 ? { issues } : { value: parsed, issues: [] };
}

/** Merge layers over the defaults. Objects merge key by key; arrays and scalars replace. */
export function resolveConfig(layers: LayerInput[]): ResolvedConfig {
	let merged = defaultConfig() as unknown as JsonObject;
	const origins: Record<string, string> = {};
	recordOrigins(merged, "", DEFAULTS_SOURCE, origins);
	const sources: string[] = [DEFAULTS_SOURCE];
	const issues: ConfigIssue[] = [];
	for (const layer of layers) {
		const parsed = parseLayer(layer);
		issues.push(...parsed.issues);
		if (!parsed.value) continue;
		sources.push(layer.source);
		const { $schema: _ignored, ...value } = parsed.value;
		merged = mergeObjects(merged, value);
		recordOrigins(value, "", layer.source, origins);
	}
	const config = merged as unknown as Config;
	issues.push(...crossLayerIssues(config, origins));
	return { config, origins, sources, issues };
}

function mergeObjects(base: JsonObject, over: JsonObject): JsonObject {
	const out: JsonObject = { ...base };
	for (const [key, value] of Object.entries(over)) {
		const prev = out[key];
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
export function schemaIssues(schema: TSchema, value: unknown, pointer = ""): Omit<ConfigIssue, "source">[] {
	const node = schema as SchemaNode;
	if (node.type === "object" && node.properties && isObject(value)) {
		const allowed = Object.keys(node.properties);
		const issues: Omit<ConfigIssue, "source">[] = [];
		for (const [key, child] of Object.entries(value)) {
			const sub = node.properties[key];
			if (!sub) {
				issues.push({
					path: `${pointer}/${key}`,
					message: `unknown field ${JSON.stringify(key)}${suggest(key, allowed)}; expected one of ${allowed.join(", ")}`,
				});
				continue;
			}
			issues.push(...schemaIssues(sub as TSchema, child, `${pointer}/${key}`));
		}
		return issues;
	}
	if (node.type === "array" && node.items && Array.isArray(value)) {
		return value.flatMap((item, i) => schemaIssues(node.items as TSchema, item, `${pointer}/${i}`));
	}
	if (Value.Check(schema, value)) return [];
	return [{ path: pointer, message: `expected ${describeSchema(node)}, found ${describeValue(value)}` }];
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
		{ source: paths.global, text: readOptional(paths.global) },
		{ source: paths.project, text: readOptional(paths.project) },
	];
	if (paths.cli) layers.push({ source: paths.cli, text: readOptional(paths.cli), required: true });
	return layers;
}

function readOptional(path: string): string | undefined {
	try {
		return readFileSync(path, "utf8");
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
		return JSON.stringify({ __unreadable__: (error as Error).message });
	}
}
