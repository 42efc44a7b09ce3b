import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { jsonSchema, SCHEMA_FILE } from "../../src/schema.ts";

const root = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

test("the published JSON Schema is generated from the TypeBox schema (run `npm run schema`)", () => {
	const committed = JSON.parse(readFileSync(root(SCHEMA_FILE), "utf8"));
	assert.deepEqual(committed, jsonSchema());
});

test("the schema documents every field", () => {
	const schema = jsonSchema() as {
		properties: Record<string, { description?: string; properties?: Record<string, { description?: string }> }>;
	};
	for (const [name, prop] of Object.entries(schema.properties)) {
		if (prop.properties) {
			for (const [inner, p] of Object.entries(prop.properties))
				assert.ok(p.description, `${name}.${inner} has a description`);
		} else {
			assert.ok(prop.description, `${name} has a description`);
		}
	}
});
