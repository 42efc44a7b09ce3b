// Dogfooding: `pi` started inside a clone of this repo loads the extension straight from src/.
// `pi -e .` there loads the package as well, and pi refuses a second extension registering the same flags (it
// exits 1), so this copy steps aside when `-e`/`--extension` already names the clone.
import { fileURLToPath } from "node:url";
import { loadedByFlag } from "../../src/cli.ts";
import planStepdown from "../../src/index.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const targets = [root, `${root}src`, `${root}src/index.ts`];

export default loadedByFlag(process.argv, process.cwd(), targets) ? () => {} : planStepdown;
