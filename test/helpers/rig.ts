/**
 * The set-up every end-to-end test shares: a mock LLM server, a sandbox whose models.json points at it, and a snapshot
 * of the user's settings.json. `check()` asserts the file is byte-identical; both go away after the test.
 */
import type { TestContext } from "node:test";
import { assertSettingsUnchanged, settingsBytes } from "./e2e.ts";
import { type MockLlm, type MockProvider, type MockScript, startMockLlm } from "./mock-llm.ts";
import {
	makeSandbox,
	type RunOptions,
	type RunResult,
	runPi,
	type Sandbox,
	type SandboxOptions,
} from "./pi-harness.ts";

export interface RigOptions extends Omit<SandboxOptions, "mock"> {
	providers: MockProvider[];
	script?: MockScript;
	/** Assert settings.json is unchanged in the after-hook too (whatever the test did). */
	checkAfter?: boolean;
}

export interface Rig {
	mock: MockLlm;
	sandbox: Sandbox;
	settingsBefore: Buffer;
	/** settings.json is byte-identical to what the test started with. */
	checkSettings(): void;
	/** pi with this repo as the extension (`-e .`), in the sandbox; 20 s unless `opts` says otherwise. */
	run(args: string[], opts?: RunOptions): Promise<RunResult>;
}

export async function startRig(t: TestContext, opts: RigOptions): Promise<Rig> {
	const { providers, script = [], checkAfter = false, ...sandboxOptions } = opts;
	const mock = await startMockLlm({ providers, script });
	const sandbox = makeSandbox({ mock, ...sandboxOptions });
	const settingsBefore = settingsBytes(sandbox);
	const checkSettings = () => assertSettingsUnchanged(sandbox, settingsBefore);
	t.after(async () => {
		try {
			if (checkAfter) checkSettings();
		} finally {
			await mock.close();
			sandbox.cleanup();
		}
	});
	const run = (args: string[], runOpts: RunOptions = {}) =>
		runPi(sandbox, args, { extension: ".", timeoutMs: 20_000, ...runOpts });
	return { mock, sandbox, settingsBefore, checkSettings, run };
}
