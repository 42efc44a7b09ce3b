/** `npm run schema`: regenerate plan-stepdown.schema.json from the TypeBox schema (a unit test keeps it current). */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { jsonSchema, SCHEMA_FILE } from "../../src/schema.ts";

const path = fileURLToPath(new URL(`../../${SCHEMA_FILE}`, import.meta.url));
writeFileSync(path, `${JSON.stringify(jsonSchema(), null, "\t")}\n`);
console.log(`wrote ${path}`);
