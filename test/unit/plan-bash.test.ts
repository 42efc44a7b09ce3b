import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { checkPlanBash } from "../../src/bash-guard.ts";
import { checkAllowList, MAX_PARSED_COMMAND, sedScriptProblem, staticWord } from "../../src/plan-allowlist.ts";
import {
	type PlanBashConfig,
	planBashBlockReason,
	planBashDecision,
	planBashResultNote,
	planProtection,
	protectionLabel,
	protectionNote,
} from "../../src/plan-bash.ts";
import { bwrapArgs, sandboxExecProfile, sandboxedCommand, sandboxFor, shellQuote } from "../../src/plan-sandbox.ts";
import { compilePattern, safeTest } from "../../src/safe-regex.ts";

const config: PlanBashConfig = { allow: [], deny: [], sandbox: "auto", network: false };
const sandbox = { kind: "sandbox", sandbox: "bubblewrap" } as const;
const parser = { kind: "parser" } as const;
const none = { allow: [], deny: [] };

describe("the sandbox command", () => {
	test("bubblewrap: / read-only, private /tmp, fresh /dev and /proc, no network, cwd kept", () => {
		assert.equal(
			sandboxedCommand("bubblewrap", "ls 'a b'", { network: false }),
			`bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --ro-bind "$PWD" "$PWD" --chdir "$PWD" --unshare-net --cap-drop ALL --die-with-parent -- /bin/bash -c 'ls '\\''a b'\\'''`,
		);
		assert.ok(!bwrapArgs({ network: true }).includes("--unshare-net"), "network kept on request");
	});
	test("sandbox-exec: a profile that denies writes outside the temp dirs and the network", () => {
		const profile = sandboxExecProfile({ network: false });
		assert.match(
			profile,
			/^\(version 1\) \(allow default\) \(deny file-write\*\) \(allow file-write\* \(subpath "\/private\/tmp"\)/,
		);
		assert.match(profile, /\(deny network\*\)$/);
		assert.doesNotMatch(sandboxExecProfile({ network: true }), /network/);
		assert.equal(
			sandboxedCommand("sandbox-exec", "ls", { network: true }),
			`/usr/bin/sandbox-exec -p ${shellQuote(sandboxExecProfile({ network: true }))} /bin/bash -c 'ls'`,
		);
	});
	test("quoting survives every character", () => {
		assert.equal(shellQuote(`a'b"c$d\`e\\`), `'a'\\''b"c$d\`e\\'`);
	});
	test("platforms", () => {
		assert.equal(sandboxFor("linux"), "bubblewrap");
		assert.equal(sandboxFor("darwin"), "sandbox-exec");
		assert.equal(sandboxFor("win32"), undefined);
	});
});

describe("planBashDecision", () => {
	test("sandbox: the command runs wrapped, whatever it is", () => {
		const d = planBashDecision("rm -rf /", config, sandbox);
		assert.deepEqual(d, { action: "run", command: sandboxedCommand("bubblewrap", "rm -rf /", { network: false }) });
	});
	test("sandbox: deny patterns still refuse", () => {
		const d = planBashDecision("curl https://x", { ...config, deny: ["^curl\\b"] }, sandbox);
		assert.deepEqual(d, { action: "block", reason: "it matches planBash.deny /^curl\\b/" });
	});
	test("parser: read-only runs unchanged, writes are blocked", () => {
		assert.deepEqual(planBashDecision("git log -3", config, parser), { action: "run", command: "git log -3" });
		assert.equal(planBashDecision("git branch evil", config, parser).action, "block");
	});
	test("protection: the sandbox when it starts and is not turned off", () => {
		assert.deepEqual(planProtection({ sandbox: "auto" }, { kind: "bubblewrap" }), sandbox);
		assert.deepEqual(planProtection({ sandbox: "off" }, { kind: "bubblewrap" }), {
			kind: "parser",
			why: "planBash.sandbox is off",
		});
		assert.deepEqual(planProtection({ sandbox: "auto" }, { kind: undefined, reason: "bwrap cannot start" }), {
			kind: "parser",
			why: "bwrap cannot start",
		});
		assert.equal(protectionLabel(sandbox), "sandbox: bubblewrap");
		assert.equal(protectionLabel(parser), "parser allow-list");
		assert.equal(protectionNote(sandbox), "plan-mode bash: sandbox: bubblewrap");
		assert.equal(
			protectionNote({ kind: "parser", why: "bubblewrap cannot start: no namespaces" }),
			"plan-mode bash: parser allow-list (bubblewrap cannot start: no namespaces)",
		);
	});
	test("the block reason and the read-only note", () => {
		assert.match(planBashBlockReason("x", "rm a"), /^plan-stepdown: refused while planning: x\. .*\nCommand: rm a$/s);
		assert.match(
			String(planBashResultNote("touch: cannot touch 'x': Read-only file system")),
			/plan mode is read-only/,
		);
		assert.equal(planBashResultNote("ok"), undefined);
	});
	test("a deny pattern is never run on more input than its budget", () => {
		const d = planBashDecision(`echo ${"a".repeat(500)}`, { ...config, deny: ["a.*b.*c"] }, parser);
		assert.equal(d.action, "block");
		assert.match((d as { reason: string }).reason, /longer than planBash\.deny/);
	});
});

// No wall-clock assertions here (timings live in `npm run bench`): what keeps these fast is structural, a length cap
// before the parser and a step budget per pattern, and that is what the tests pin.
describe("no stalls", () => {
	test("the sed -i check: a 160 KB command is refused by the length cap before any parsing", () => {
		assert.match(
			String((checkPlanBash(`sed -n ${"p;".repeat(80_000)} f`, none) as { reason: string }).reason),
			/longer than 16384/,
		);
		assert.equal(checkPlanBash(`sed ${"-n ".repeat(50_000)}-i f`, none).ok, false);
		assert.equal(checkPlanBash(`sed -n ${"p;".repeat(MAX_PARSED_COMMAND / 2 - 10)} f`, none).ok, false);
		assert.equal(checkPlanBash(`sed -n '${"p;".repeat(MAX_PARSED_COMMAND / 2 - 10)}' f`, none).ok, true);
	});
	test("the worst accepted pattern runs only on input within its step budget", () => {
		const p = compilePattern("a.*a.*b");
		assert.ok(p);
		assert.equal(safeTest(p, "a".repeat(p.maxInput)), false);
		assert.equal(safeTest(p, "a".repeat(p.maxInput + 1)), undefined, "longer input is not run at all");
	});
});

describe("the parsed allow-list", () => {
	test("static words resolve quotes and escapes; globs, braces, $'…' and expansions are dynamic", () => {
		const word = (src: string) => {
			let out: string | undefined | null = null;
			checkAllowList(`echo ${src}`, (text) => {
				out ??= text; // the first call is the outer command; substitutions come after
				return true;
			});
			return out;
		};
		assert.equal(word(`'-de'"lete"`), "echo -delete");
		assert.equal(word("-\\delete"), "echo -delete");
		for (const dynamic of ["*.ts", "{a,b}", "$'\\x2d'", "$x", "$(pwd)", "a?"])
			assert.equal(word(dynamic), "echo ?", dynamic);
		assert.equal(typeof staticWord, "function");
	});
	test("sed scripts", () => {
		assert.equal(sedScriptProblem("1,20p"), undefined);
		assert.equal(sedScriptProblem("/^a/,/b$/{p;q}"), undefined);
		assert.equal(sedScriptProblem("s/a/b/g"), undefined);
		assert.equal(sedScriptProblem("s|w|e|"), undefined, "w and e inside the pattern are text");
		assert.match(String(sedScriptProblem("s/a/b/w f")), /w and e flags/);
		assert.match(String(sedScriptProblem("1e date")), /e command/);
		assert.match(String(sedScriptProblem("$!N;W f")), /W command/);
		assert.match(String(sedScriptProblem("s/a/b")), /unterminated/);
	});
	test("arithmetic, function definitions and exports are refused", () => {
		// biome-ignore lint/suspicious/noTemplateCurlyInString: bash syntax, not a template
		const indexed = "echo ${a[$i]}";
		for (const c of ["(( x ))", "echo $((1+2))", "f() { ls; }", "export PAGER=x", "[[ $x -eq 1 ]]", indexed]) {
			assert.equal(checkAllowList(c).ok, false, c);
		}
	});
	test("a syntax error is refused with the parser's message", () => {
		assert.deepEqual(checkAllowList("echo 'open"), {
			ok: false,
			reason: "the command does not parse (1:6: reached EOF without closing quote ')",
		});
	});
});

test("refusals are prose: no internal pattern shows in any reason of the corpus (only the user's own deny patterns)", () => {
	const corpus = JSON.parse(readFileSync(new URL("../fixtures/plan-bash-corpus.json", import.meta.url), "utf8")) as {
		mutating: Record<string, string[]>;
		readOnly: Record<string, string[]>;
	};
	const commands = [...Object.values(corpus.mutating), ...Object.values(corpus.readOnly)].flat();
	assert.ok(commands.length > 600, `the corpus: ${commands.length} commands`);
	const regexLike = /\\[bdswBSW]|\(\?|\[\^|\/\^|\$\/|\.\*/;
	for (const command of commands) {
		const decision = planBashDecision(command, { ...config, sandbox: "off" }, parser);
		if (decision.action !== "block") continue;
		// A reason may quote the command (a sed script, say): only the words the extension adds count.
		const added = command
			.split(/\s+/)
			.map((w) => w.replace(/^['"]|['"]$/g, ""))
			.reduce((text, word) => (word ? text.split(word).join("") : text), decision.reason);
		assert.doesNotMatch(added, regexLike, `${command}: ${decision.reason}`);
	}
	const denied = planBashDecision("terraform plan", { ...config, deny: ["\\bterraform\\b"] }, parser);
	assert.equal(denied.action === "block" && denied.reason, "it matches planBash.deny /\\bterraform\\b/");
});
