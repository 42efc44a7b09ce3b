// Dogfooding: `pi` started inside a clone of this repo loads the extension straight from src/.
// (Do not also pass `-e .` there, or the commands are registered twice.)
export { default } from "../../src/index.ts";
