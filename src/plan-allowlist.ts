/**
 * The plan-mode fallback when no OS sandbox can start: an allow-list decided on the parsed command (mvdan/sh's
 * parser, pure JS), never on the text. Every simple command, redirection, substitution, assignment and wrapper is
 * checked; anything the walker does not know is refused. Pure: no I/O, no pi imports.
 *
 * Soundness rules, each closing a hole a text rule left open:
 * - a word is "static" only when its value is known without running anything (quotes and backslashes resolved);
 *   globs, brace expansion, `$'…'`, parameter and command substitutions make it dynamic;
 * - commands with option rules (sed, find, git, sort…) get static arguments only, since a glob or a variable could
 *   expand to `-i`, `-delete` or `--output=f` (a repository can commit a file named `-delete`);
 * - arithmetic anywhere is refused: bash evaluates `a[$(cmd)]` inside variable values it does arithmetic on.
 */
import { createRequire } from "node:module";

export type AllowVerdict = { ok: true } | { ok: false; reason: string };

/** One simple command as the checks see it. `text` is undefined for a dynamic word. */
interface Arg {
	text: string | undefined;
}

/** Extra per-command permission from the user's `planBash.allow` (global/CLI layers only). */
export type AllowHook = (commandText: string) => boolean;

// ------------------------------------------------------------------ mvdan-sh, loaded on first use

interface ShNode {
	readonly [field: string]: unknown;
}
interface ShSyntax {
	NewParser(): { Parse(src: string, name: string): ShNode };
	Walk(node: ShNode, visit: (node: ShNode | null) => boolean): void;
	NodeType(node: ShNode): string;
}

let syntax: ShSyntax | undefined;
function sh(): ShSyntax {
	// Loaded lazily: 1.5 MB of JS that only the fallback needs (the sandbox path never parses).
	syntax ??= (createRequire(import.meta.url)("mvdan-sh") as { syntax: ShSyntax }).syntax;
	return syntax;
}

/** Parses a command; undefined with the parser's message when it is not valid bash. */
export function parseBash(command: string): { file?: ShNode; error?: string } {
	try {
		return { file: sh().NewParser().Parse(command, "") };
	} catch (error) {
		const e = error as { Error?: () => string; message?: string };
		return { error: typeof e?.Error === "function" ? e.Error() : String(e?.message ?? error) };
	}
}

// ------------------------------------------------------------------ node shapes (mvdan-sh's Go field names)

const get = (node: unknown, field: string): unknown => (node as ShNode | null | undefined)?.[field];
const list = (node: unknown, field: string): ShNode[] => {
	const value = get(node, field);
	return Array.isArray(value) ? (value as ShNode[]) : [];
};

/** Redirection operators by mvdan-sh's token numbers. */
const RDR = { out: 54, append: 55, in: 56, inOut: 57, dupIn: 58, dupOut: 59, clobber: 60 } as const;
const RDR_HEREDOC = new Set([61, 62, 63]);
const RDR_ALL_OUT = new Set([64, 65]);
/** [[ … ]] operators that evaluate their operands as arithmetic (-eq…-gt) or a variable name with index (-v). */
const ARITH_TEST_OPS = new Set([110, 116, 117, 118, 119, 120, 121]);

/** Node types that are harmless in themselves; their children are still walked. */
const STRUCTURAL = new Set([
	"File",
	"Stmt",
	"Word",
	"Lit",
	"SglQuoted",
	"DblQuoted",
	"CmdSubst",
	"ProcSubst",
	"BinaryCmd",
	"Subshell",
	"Block",
	"IfClause",
	"WhileClause",
	"ForClause",
	"CaseClause",
	"CaseItem",
	"TimeClause",
	"TestClause",
	"ParenTest",
	"ExtGlob",
	"Comment",
	"ArrayExpr",
	"ArrayElem",
	"BraceExp",
]);

const REFUSED_NODES: Record<string, string> = {
	FuncDecl: "function definitions",
	DeclClause: "declare/export/local/readonly (they change the environment of later commands)",
	LetClause: "arithmetic (bash runs code hidden in variables it evaluates)",
	ArithmCmd: "arithmetic (bash runs code hidden in variables it evaluates)",
	ArithmExp: "arithmetic expansion (bash runs code hidden in variables it evaluates)",
	CStyleLoop: "C-style for loops (arithmetic)",
	CoprocClause: "coprocesses",
	TestDecl: "test declarations",
};

// ------------------------------------------------------------------ words

const unescapeUnquoted = (s: string) => s.replace(/\\\n/g, "").replace(/\\(.)/gs, "$1");
const unescapeDouble = (s: string) => s.replace(/\\\n/g, "").replace(/\\([$`"\\])/g, "$1");

/** Unquoted pattern characters: `*`, `?`, a bracket expression, a brace list or sequence (a lone `[` is a command). */
const GLOB = /[*?]|\[.*\]|\{.*(,|\.\.).*\}/s;

/** The value of a word when it is known without expansion, else undefined. */
export function staticWord(word: unknown): string | undefined {
	let out = "";
	for (const part of list(word, "Parts")) {
		const type = sh().NodeType(part);
		if (type === "Lit") {
			const raw = String(get(part, "Value"));
			// Unquoted glob or brace characters expand to names chosen by whoever controls the directory.
			if (GLOB.test(raw.replace(/\\./gs, ""))) return undefined;
			out += unescapeUnquoted(raw);
		} else if (type === "SglQuoted") {
			if (get(part, "Dollar")) return undefined; // $'\x2d…' hides its value behind escapes
			out += String(get(part, "Value"));
		} else if (type === "DblQuoted") {
			if (get(part, "Dollar")) return undefined;
			for (const inner of list(part, "Parts")) {
				if (sh().NodeType(inner) !== "Lit") return undefined;
				out += unescapeDouble(String(get(inner, "Value")));
			}
		} else {
			return undefined;
		}
	}
	return out;
}

// ------------------------------------------------------------------ environment

/** Variables a command may be given: locale and display only. GIT_*, PAGER, EDITOR, LESSOPEN, LD_*, HOME… run code. */
const SAFE_ENV = /^(LANG|LANGUAGE|LC_[A-Z]+|TZ|COLUMNS|LINES|NO_COLOR|FORCE_COLOR|CLICOLOR|TERM)$/;
/** Shell-local names (loop variables, scratch values): lower case, never an exported tool setting. */
const LOCAL_NAME = /^[a-z_][a-z0-9_]*$/;

function checkName(name: string, exported: boolean): string | undefined {
	if (SAFE_ENV.test(name)) return undefined;
	if (!exported && LOCAL_NAME.test(name) && !/^(http|https|ftp|no|all)_proxy$/.test(name)) return undefined;
	return `setting ${name} is refused (environment variables can make tools run code)`;
}

// ------------------------------------------------------------------ per-command rules

type Rule = (args: readonly Arg[], hook: AllowHook | undefined) => string | undefined;

/** Commands with no option that writes, deletes or runs code: any arguments, even dynamic ones. */
const ANY_ARGS = new Set(
	(
		"cat head tail wc ls echo grep egrep fgrep cut tr nl basename dirname realpath readlink stat du df which whereis " +
		"type pwd true false : printenv md5sum sha1sum sha256sum sha512sum b2sum cksum cmp diff comm join paste fold " +
		"fmt expand unexpand rev tac column od hexdump strings base64 seq sleep whoami id uname nproc arch ps free " +
		"uptime locale getconf tty groups cd pushd popd dirs jq wait"
	).split(" "),
);

const isOption = (a: Arg) => a.text?.startsWith("-") === true;
const allStatic = (args: readonly Arg[]) => args.every((a) => a.text !== undefined);
const needStatic = (name: string, args: readonly Arg[]) =>
	allStatic(args) ? undefined : `${name} needs literal arguments in plan mode (a glob or variable could add an option)`;

/** Refuses options matching `bad` (a long option also matches in its --opt=value form). */
function refuseOptions(name: string, args: readonly Arg[], bad: RegExp): string | undefined {
	for (const a of args) {
		if (a.text === "--") break;
		if (a.text !== undefined && bad.test(a.text)) return `${name} ${a.text} can write or run commands`;
	}
	return undefined;
}

const RULES: Record<string, Rule> = {
	sed: (args) => needStatic("sed", args) ?? sedRule(args),
	awk: (args) => needStatic("awk", args) ?? awkRule(args),
	gawk: (args) => needStatic("awk", args) ?? awkRule(args),
	mawk: (args) => needStatic("awk", args) ?? awkRule(args),
	find: (args) =>
		needStatic("find", args) ??
		refuseOptions("find", args, /^-(delete|exec|execdir|ok|okdir|fprint|fprint0|fprintf|fls)$/),
	fd: (args) => needStatic("fd", args) ?? refuseOptions("fd", args, /^(-x|-X|--exec|--exec-batch|-[a-zA-Z]*[xX])/),
	rg: (args) => needStatic("rg", args) ?? refuseOptions("rg", args, /^--pre/),
	ag: (args) => needStatic("ag", args) ?? refuseOptions("ag", args, /^--pager/),
	sort: (args) =>
		needStatic("sort", args) ??
		refuseOptions("sort", args, /^(-o|--output|--compress-program|-T|--temporary-directory|-[a-zA-Z]*[oT])/),
	uniq: (args) =>
		needStatic("uniq", args) ?? (operands(args).length > 1 ? "uniq writes its second operand" : undefined),
	xxd: (args) =>
		needStatic("xxd", args) ??
		refuseOptions("xxd", args, /^-(r|revert)/) ??
		(operands(args).length > 1 ? "xxd writes its second operand" : undefined),
	tree: (args) => needStatic("tree", args) ?? refuseOptions("tree", args, /^(-o|--output)/),
	file: (args) => needStatic("file", args) ?? refuseOptions("file", args, /^(-C|--compile|-[a-zA-Z]*C)/),
	less: (args) => needStatic("less", args) ?? refuseOptions("less", args, /^(-|\+)/),
	more: (args) => needStatic("more", args) ?? refuseOptions("more", args, /^(-|\+)/),
	date: (args) => needStatic("date", args) ?? refuseOptions("date", args, /^(-s|--set|-[a-zA-Z]*s)/),
	printf: (args) => needStatic("printf", args) ?? refuseOptions("printf", args, /^-v/),
	hostname: (args) => (args.length === 0 ? undefined : "hostname with arguments can change the host name"),
	yq: (args) => needStatic("yq", args) ?? refuseOptions("yq", args, /^(-i|--inplace|-[a-zA-Z]*i)/),
	test: (args) => testRule(args),
	read: (args) => readRule(args),
	"[": (args) => testRule(args),
	git: (args) => gitRule(args),
};

/**
 * Only `--version`: interpreters and build tools run code, and package managers write (npm ls still writes its
 * debug log under ~/.npm/_logs; npm view and outdated go to the network). The sandbox runs them all read-only.
 */
const VERSION_ONLY = new Set(
	"node python python3 go cargo rustc java javac tsc deno bun ruby perl php gcc clang make cmake docker npm pnpm yarn npx".split(
		" ",
	),
);

const operands = (args: readonly Arg[]) => args.filter((a) => !isOption(a));

/** read: into shell-local names only (an exported PAGER or GIT_* read from a file would run code later). */
function readRule(args: readonly Arg[]): string | undefined {
	for (let i = 0; i < args.length; i++) {
		const a = args[i].text;
		if (a === undefined) return "read needs literal arguments in plan mode";
		if (/^-[dnNpt]$/.test(a)) i++;
		else if (/^-[rs]+$/.test(a)) continue;
		else if (a.startsWith("-")) return `read ${a} is not on the read-only list`;
		else if (checkName(a, true) && !LOCAL_NAME.test(a))
			return `read into ${a} is refused (environment variables can make tools run code)`;
	}
	return undefined;
}

function testRule(args: readonly Arg[]): string | undefined {
	const bad = args.find((a) => a.text !== undefined && /^-(eq|ne|lt|le|gt|ge|v)$/.test(a.text));
	return bad ? `test ${bad.text} evaluates arithmetic (bash runs code hidden in variables)` : undefined;
}

/** sed: no in-place edit, no script file, no w/W/e commands or s///w, s///e flags (a small parser for scripts). */
function sedRule(args: readonly Arg[]): string | undefined {
	const scripts: string[] = [];
	let sawScript = false;
	for (let i = 0; i < args.length; i++) {
		const a = args[i].text ?? "";
		if (a === "--") break;
		if (/^(-i|--in-place|-[a-zA-Z]*i)/.test(a) || /^-[a-zA-Z]*i/.test(a)) return `sed ${a} edits files in place`;
		if (/^(-f|--file)/.test(a) || /^-[a-zA-Z]*f/.test(a)) return "sed -f runs a script file";
		if (a === "-e" || a === "--expression") {
			scripts.push(args[++i]?.text ?? "");
			sawScript = true;
		} else if (a.startsWith("--expression=")) {
			scripts.push(a.slice(13));
			sawScript = true;
		} else if (/^-e./.test(a)) {
			scripts.push(a.slice(2));
			sawScript = true;
		} else if (a.startsWith("-")) {
			if (
				!/^(-[nErsuzl0-9]+|--quiet|--silent|--posix|--regexp-extended|--separate|--null-data|--debug|--sandbox)$/.test(
					a,
				)
			)
				return `sed option ${a} is not on the read-only list`;
		} else if (!sawScript) {
			scripts.push(a);
			sawScript = true;
		}
	}
	for (const script of scripts) {
		const why = sedScriptProblem(script);
		if (why) return `sed script ${JSON.stringify(script.slice(0, 40))}: ${why}`;
	}
	return undefined;
}

/** Walks a sed script command by command; any construct it cannot follow is refused. */
export function sedScriptProblem(script: string): string | undefined {
	let i = 0;
	const n = script.length;
	const skipBlank = () => {
		while (i < n && /[\s;]/.test(script[i])) i++;
	};
	const readDelimited = (delim: string): boolean => {
		while (i < n && script[i] !== delim) {
			if (script[i] === "\\") i++;
			if (script[i] === "\n") return false;
			i++;
		}
		if (i >= n) return false;
		i++;
		return true;
	};
	const readAddress = (): boolean => {
		if (/[0-9$]/.test(script[i] ?? "")) {
			while (i < n && /[0-9$~+]/.test(script[i])) i++;
			return true;
		}
		if (script[i] === "/" || script[i] === "\\") {
			const delim = script[i] === "\\" ? script[i + 1] : "/";
			i += script[i] === "\\" ? 2 : 1;
			if (!readDelimited(delim)) return false;
			while (/[IM]/.test(script[i] ?? "")) i++;
		}
		return true;
	};
	while (true) {
		skipBlank();
		if (i >= n) return undefined;
		if (!readAddress()) return "unterminated address";
		if (script[i] === ",") {
			i++;
			if (!readAddress()) return "unterminated address";
		}
		while (script[i] === " " || script[i] === "!") i++;
		const cmd = script[i++];
		if (cmd === undefined) return "missing command";
		if ("wWe".includes(cmd)) return `the ${cmd} command writes or runs commands`;
		if (cmd === "s" || cmd === "y") {
			const delim = script[i++];
			if (!delim || delim === "\\" || delim === "\n") return "bad delimiter";
			if (!readDelimited(delim) || !readDelimited(delim)) return "unterminated s or y command";
			if (cmd === "s") {
				const flags = /^[0-9gpiImM]*/.exec(script.slice(i))?.[0] ?? "";
				i += flags.length;
				if (/^[we]/.test(script.slice(i))) return "the w and e flags of s write or run commands";
			}
		} else if ("aicrRbtTv:".includes(cmd)) {
			// Text, label or file name up to the end of the line (r/R only read).
			while (i < n && script[i] !== "\n") i++;
		} else if (!"{}=dDgGhHlnNpPqQxzF#".includes(cmd)) {
			return `unknown command ${JSON.stringify(cmd)}`;
		} else if (cmd === "#") {
			while (i < n && script[i] !== "\n") i++;
		} else if ((cmd === "q" || cmd === "Q" || cmd === "l") && /[0-9]/.test(script[i] ?? "")) {
			while (/[0-9]/.test(script[i] ?? "")) i++;
		}
	}
}

/** awk: the program may only read and print to stdout; -f, -i, -l, -E, -o, -d, -p and @load are refused. */
function awkRule(args: readonly Arg[]): string | undefined {
	let program: string | undefined;
	for (let i = 0; i < args.length; i++) {
		const a = args[i].text ?? "";
		if (a === "-F" || a === "-v") {
			i++;
			continue;
		}
		if (/^-F./.test(a) || /^-v./.test(a)) continue;
		if (a === "--") continue;
		if (a.startsWith("-")) return `awk option ${a} is not on the read-only list`;
		program ??= a;
		if (program !== undefined) break;
	}
	if (program === undefined) return "awk without a program";
	// Output redirection and pipes (print > f, print | "cmd", "cmd" | getline), system() and extensions.
	if (/system|getline|[|>]|@|\bfflush\b|\bclose\b|PROCINFO/.test(program)) {
		return "awk program may write files or run commands (system, getline, >, |)";
	}
	return undefined;
}

/** git: read-only subcommands with their listing forms only; config, pager and output options refused. */
function gitRule(args: readonly Arg[]): string | undefined {
	let i = 0;
	for (; i < args.length; i++) {
		const a = args[i].text;
		if (a === undefined) return "git needs a literal subcommand in plan mode";
		if (a === "-C") {
			i++;
			continue;
		}
		if (!a.startsWith("-")) break;
		if (!/^(--no-pager|-P|--no-optional-locks|--literal-pathspecs|--no-replace-objects|--version)$/.test(a)) {
			return `git ${a} is refused in plan mode (it can change git's configuration or run a pager)`;
		}
	}
	const sub = args[i]?.text;
	if (sub === undefined) return args.some((a) => a.text === "--version") ? undefined : "git without a subcommand";
	const rest = args.slice(i + 1);
	const dashdash = rest.findIndex((a) => a.text === "--");
	const beforeDash = dashdash < 0 ? rest : rest.slice(0, dashdash);
	if (!allStatic(beforeDash)) return "git needs literal arguments before -- in plan mode";
	const texts = beforeDash.map((a) => a.text ?? "");
	const bad = texts.find((t) =>
		/^(--output|--ext-diff|--upload-pack|--receive-pack|--exec|--open-files-in-pager)/.test(t),
	);
	if (bad) return `git ${sub} ${bad} can write files or run commands`;
	const positional = texts.filter((t) => !t.startsWith("-"));
	const has = (re: RegExp) => texts.some((t) => re.test(t));
	switch (sub) {
		case "status":
		case "log":
		case "show":
		case "diff":
		case "blame":
		case "annotate":
		case "shortlog":
		case "describe":
		case "rev-parse":
		case "rev-list":
		case "ls-files":
		case "ls-tree":
		case "show-ref":
		case "for-each-ref":
		case "merge-base":
		case "name-rev":
		case "show-branch":
		case "whatchanged":
		case "range-diff":
		case "cherry":
		case "count-objects":
		case "check-ignore":
		case "check-attr":
		case "diff-tree":
		case "diff-files":
		case "diff-index":
		case "var":
		case "version":
			return undefined;
		case "cat-file":
			return has(/^--(filters|textconv|batch-command)/) ? "git cat-file --filters/--textconv runs filters" : undefined;
		case "grep":
			return has(/^-[a-zA-Z]*O/) ? "git grep -O opens files in a pager command" : undefined;
		case "reflog":
			return /^(expire|delete|drop|write)$/.test(positional[0] ?? "")
				? `git reflog ${positional[0]} writes`
				: undefined;
		case "stash":
			return /^(list|show)$/.test(positional[0] ?? "") ? undefined : "only git stash list/show are read-only";
		case "worktree":
			return positional[0] === "list" ? undefined : "only git worktree list is read-only";
		case "notes":
			return /^(list|show)$/.test(positional[0] ?? "") ? undefined : "only git notes list/show are read-only";
		case "remote":
			if (positional.length === 0)
				return texts.every((t) => /^(-v|--verbose)$/.test(t)) ? undefined : "git remote option";
			return /^(get-url|show)$/.test(positional[0]) ? undefined : `git remote ${positional[0]} writes`;
		case "config":
			if (/^(get|list)$/.test(positional[0] ?? "") && !has(/^--(file|blob)/)) return undefined;
			if (
				has(/^(--get|--get-all|--get-regexp|--get-urlmatch|--list|-l)$/) &&
				!has(/^(--add|--unset|--replace|--rename|--remove|-e|--edit)/)
			)
				return undefined;
			return "only git config --get/--list read";
		case "branch":
			return listingOnly("branch", texts, positional);
		case "tag":
			return listingOnly("tag", texts, positional);
		case "symbolic-ref":
			return positional.length <= 1 && !has(/^(-d|--delete)$/) ? undefined : "git symbolic-ref with a target writes";
		default:
			return `git ${sub} is not on the read-only list`;
	}
}

const LISTING_FLAG =
	/^(-a|--all|-r|--remotes|-v|-vv|--verbose|-l|--list|--show-current|-n[0-9]*|-i|--ignore-case|--column|--no-column|--no-color|--color(=.*)?|--abbrev(=.*)?|--no-abbrev|--omit-empty|(--sort|--format|--contains|--no-contains|--merged|--no-merged|--points-at)(=.*)?)$/;
const LISTING_MODE = /^(-l|--list|--contains|--no-contains|--merged|--no-merged|--points-at)(=.*)?$/;

function listingOnly(sub: string, texts: readonly string[], positional: readonly string[]): string | undefined {
	const bad = texts.find((t) => t.startsWith("-") && !LISTING_FLAG.test(t));
	if (bad) return `git ${sub} ${bad} is not a listing option`;
	if (positional.length > 0 && !texts.some((t) => LISTING_MODE.test(t))) return `git ${sub} <name> creates a ${sub}`;
	return undefined;
}

// ------------------------------------------------------------------ wrappers

type Checked = string | undefined;

/** A command and its arguments after wrappers (env, command, exec, timeout, nice, stdbuf, xargs) are peeled off. */
function checkCommand(args: readonly Arg[], hook: AllowHook | undefined, dynamicTail: boolean): Checked {
	const name = args[0]?.text;
	if (name === undefined) return "the command name must be literal in plan mode";
	const rest = args.slice(1);
	const textOf = () => args.map((a) => a.text ?? "?").join(" ");
	if (hook?.(textOf())) return undefined;
	switch (name) {
		case "env":
			return envWrapper(rest, hook, dynamicTail);
		case "command":
		case "builtin":
			if (rest[0]?.text === "-v" || rest[0]?.text === "-V") return undefined;
			return rest.length === 0
				? undefined
				: checkCommand(rest[0]?.text === "-p" ? rest.slice(1) : rest, hook, dynamicTail);
		case "exec":
			return rest.length === 0 ? undefined : checkCommand(rest, hook, dynamicTail);
		case "time":
			return checkCommand(rest[0]?.text === "-p" ? rest.slice(1) : rest, hook, dynamicTail);
		case "timeout":
			return skipThen(
				rest,
				/^(-s|-k|--signal|--kill-after)$/,
				/^(--preserve-status|--foreground|-v|--verbose|(--signal|--kill-after)=.*)$/,
				1,
				hook,
				dynamicTail,
			);
		case "nice":
			return skipThen(rest, /^(-n|--adjustment)$/, /^(-[0-9]+|--adjustment=.*)$/, 0, hook, dynamicTail);
		case "stdbuf":
			return skipThen(rest, /^(-i|-o|-e)$/, /^(-[ioe].+|--(input|output|error)=.*)$/, 0, hook, dynamicTail);
		case "xargs":
			return xargsWrapper(rest, hook);
		case "sudo":
		case "doas":
		case "su":
		case "runuser":
		case "chroot":
		case "unshare":
		case "nsenter":
		case "setsid":
		case "nohup":
		case "eval":
		case "source":
		case ".":
		case "sh":
		case "bash":
		case "zsh":
		case "dash":
		case "ksh":
			return `${name} is refused in plan mode (it runs code the check cannot see)`;
	}
	if (dynamicTail && !ANY_ARGS.has(name)) {
		return `${name} cannot take arguments from xargs in plan mode (they could add an option)`;
	}
	if (ANY_ARGS.has(name)) return undefined;
	const rule = RULES[name];
	if (rule) return rule(rest, hook);
	if (VERSION_ONLY.has(name)) {
		const only = rest.map((a) => a.text);
		if (only.length === 1 && /^(--version|-v|-V|version)$/.test(only[0] ?? "")) return undefined;
		return `${name} runs code; only ${name} --version is allowed in plan mode`;
	}
	return `"${name}" is not on the read-only list`;
}

/** Skips options (those in `withValue` take the next argument), then `positional` fixed arguments, then a command. */
function skipThen(
	args: readonly Arg[],
	withValue: RegExp,
	flag: RegExp,
	positional: number,
	hook: AllowHook | undefined,
	dynamicTail: boolean,
): Checked {
	let i = 0;
	for (; i < args.length; i++) {
		const a = args[i].text;
		if (a === undefined) return "wrapper arguments must be literal in plan mode";
		if (a === "--") {
			i++;
			break;
		}
		if (withValue.test(a)) i++;
		else if (!flag.test(a)) break;
	}
	i += positional;
	const inner = args.slice(i);
	return inner.length === 0 ? undefined : checkCommand(inner, hook, dynamicTail);
}

function envWrapper(args: readonly Arg[], hook: AllowHook | undefined, dynamicTail: boolean): Checked {
	let i = 0;
	for (; i < args.length; i++) {
		const a = args[i].text;
		if (a === undefined) return "env arguments must be literal in plan mode";
		if (a === "-u" || a === "--unset" || a === "-C" || a === "--chdir") {
			i++;
			continue;
		}
		if (a === "--") {
			i++;
			break;
		}
		if (/^(-i|--ignore-environment|-0|--null|--unset=.*|--chdir=.*|-)$/.test(a)) continue;
		if (a.startsWith("-")) return `env ${a} is refused in plan mode`;
		break;
	}
	for (; i < args.length; i++) {
		const a = args[i].text ?? "";
		const eq = a.indexOf("=");
		if (eq <= 0) break;
		const why = checkName(a.slice(0, eq), true);
		if (why) return why;
	}
	const inner = args.slice(i);
	return inner.length === 0 ? undefined : checkCommand(inner, hook, dynamicTail);
}

function xargsWrapper(args: readonly Arg[], hook: AllowHook | undefined): Checked {
	let i = 0;
	for (; i < args.length; i++) {
		const a = args[i].text;
		if (a === undefined) return "xargs arguments must be literal in plan mode";
		if (/^(-n|-L|-P|-s|-d|-a|-I|-E|--max-args|--max-lines|--max-procs|--delimiter|--arg-file)$/.test(a)) {
			i++;
			continue;
		}
		if (/^(-0|--null|-r|--no-run-if-empty|-t|--verbose|-x|--exit|-[nLPsdaIE].+|--[a-z-]+=.*)$/.test(a)) continue;
		if (a.startsWith("-")) return `xargs ${a} is not on the read-only list`;
		break;
	}
	const inner = args.slice(i);
	return inner.length === 0 ? undefined : checkCommand(inner, hook, true); // xargs runs echo by default
}

// ------------------------------------------------------------------ the walk

/** Bounds the parse and walk (about 0.5 s for the worst 16 KB); a planner's commands are far shorter. */
export const MAX_PARSED_COMMAND = 16 * 1024;

/** Decides a whole command line. `hook` widens single commands (the user's global planBash.allow). */
export function checkAllowList(command: string, hook?: AllowHook): AllowVerdict {
	if (command.length > MAX_PARSED_COMMAND) {
		return {
			ok: false,
			reason: `the command is longer than ${MAX_PARSED_COMMAND} characters, the most the check reads`,
		};
	}
	const parsed = parseBash(command);
	if (!parsed.file) return { ok: false, reason: `the command does not parse (${parsed.error})` };
	let reason: string | undefined;
	const api = sh();
	api.Walk(parsed.file, (node) => {
		if (!node || reason) return false;
		reason = checkNode(api.NodeType(node), node, hook);
		return reason === undefined;
	});
	return reason ? { ok: false, reason } : { ok: true };
}

function checkNode(type: string, node: ShNode, hook: AllowHook | undefined): string | undefined {
	if (REFUSED_NODES[type]) return `${REFUSED_NODES[type]} are refused in plan mode`;
	switch (type) {
		case "CallExpr":
			return checkCall(node, hook);
		case "Redirect":
			return checkRedirect(node);
		case "Assign":
			return undefined; // checked with its CallExpr
		case "ParamExp":
			if (get(node, "Slice") || get(node, "Index") || get(node, "Excl")) {
				return "indexed, sliced or indirect expansions are refused in plan mode (they evaluate arithmetic)";
			}
			return undefined;
		case "BinaryTest":
		case "UnaryTest":
			return ARITH_TEST_OPS.has(Number(get(node, "Op")))
				? "arithmetic tests are refused in plan mode (bash runs code hidden in variables)"
				: undefined;
		case "WordIter": {
			const name = String(get(get(node, "Name"), "Value"));
			return checkName(name, false);
		}
		case "CaseClause":
			return undefined;
	}
	if (STRUCTURAL.has(type)) return undefined;
	return `${type} is not understood by the plan-mode check`;
}

function checkCall(node: ShNode, hook: AllowHook | undefined): string | undefined {
	const words = list(node, "Args");
	for (const assign of list(node, "Assigns")) {
		if (get(assign, "Index")) return "array index assignments are refused in plan mode (arithmetic)";
		const why = checkName(String(get(get(assign, "Name"), "Value")), words.length > 0);
		if (why) return why;
	}
	if (words.length === 0) return undefined;
	return checkCommand(
		words.map((w) => ({ text: staticWord(w) })),
		hook,
		false,
	);
}

function checkRedirect(node: ShNode): string | undefined {
	const op = Number(get(node, "Op"));
	const target = staticWord(get(node, "Word"));
	if (op === RDR.in || RDR_HEREDOC.has(op)) return undefined;
	if (op === RDR.dupIn || op === RDR.dupOut) {
		// >&2, 2>&1, <&- duplicate descriptors; >&file writes the file.
		return target !== undefined && /^([0-9]+-?|-)$/.test(target) ? undefined : "redirecting output to a file";
	}
	if (op === RDR.out || op === RDR.append || op === RDR.clobber || RDR_ALL_OUT.has(op)) {
		return target === "/dev/null" ? undefined : "output redirection to a file is refused in plan mode";
	}
	if (op === RDR.inOut) return "<> opens a file for writing";
	return "unknown redirection";
}
