/**
 * Which bash commands may run while planning: read-only commands only, like pi's plan-mode example.
 * A command is allowed when no deny pattern matches and every simple command in it starts with an allowed one.
 */

const DENY = [
	/\b(rm|rmdir|mv|cp|mkdir|touch|chmod|chown|chgrp|ln|tee|truncate|dd|shred|install|patch)\b/,
	/(^|[^<>&0-9])>(?!&)/, // redirect into a file (not 2>&1)
	/>>/,
	/\bsed\b[^|;&]*\s-i/, // in-place edit
	/\b(npm|pnpm|yarn|bun)\s+(install|i|add|remove|rm|uninstall|update|up|upgrade|ci|link|publish|run|exec|x|dlx|create|init|test|t)\b/,
	/\bnpx\b/,
	/\bpip3?\s+(install|uninstall)\b/,
	/\bapt(-get)?\s+(install|remove|purge|update|upgrade)\b/,
	/\bbrew\s+(install|uninstall|upgrade)\b/,
	/\bgit\s+(add|commit|push|pull|merge|rebase|reset|checkout|switch|restore|clean|stash|cherry-pick|revert|tag|init|clone|am|apply|fetch)\b/,
	/\bgit\s+branch\s+-[dDmM]/,
	/\b(sudo|su|kill|pkill|killall|reboot|shutdown|systemctl|service)\b/,
	/\b(vi|vim|nvim|nano|emacs|code|subl)\b/,
	/\$\(|`/, // command substitution can run anything
];

const ALLOW = [
	/^(cat|head|tail|less|more|grep|egrep|fgrep|rg|ag|find|fd|ls|tree|pwd|echo|printf|wc|sort|uniq|cut|tr|diff|cmp|file|stat|du|df|which|whereis|type|basename|dirname|realpath|readlink|date|uname|whoami|id|env|printenv|jq|yq|awk|column|nl|od|xxd|hexdump|sha256sum|md5sum|true|false|test)\b/,
	/^sed\s+-n\b/,
	/^git\s+(status|log|diff|show|blame|branch|remote|rev-parse|describe|shortlog|ls-files|ls-tree|grep|config\s+--get)\b/,
	/^(npm|pnpm|yarn)\s+(ls|list|view|info|why|outdated|audit|explain)\b/,
	/^(node|python3?|go|cargo|rustc|java|tsc|deno|bun)\s+(--version|-v|-V|version)\b/,
	/^cd\b/,
];

export interface BashRules {
	allow: readonly string[];
	deny: readonly string[];
}

export type BashVerdict = { ok: true } | { ok: false; reason: string };

export function checkPlanBash(command: string, rules: BashRules): BashVerdict {
	const deny = [...rules.deny.map((p) => new RegExp(p)), ...DENY];
	const hit = deny.find((p) => p.test(command));
	if (hit) return { ok: false, reason: `it may modify the system (matches ${hit})` };
	const allow = [...rules.allow.map((p) => new RegExp(p)), ...ALLOW];
	for (const part of command.split(/&&|\|\||[;|\n]/)) {
		const simple = part.trim().replace(/^([A-Za-z_][A-Za-z0-9_]*=\S*\s+)+/, "");
		if (!simple) continue;
		if (!allow.some((p) => p.test(simple))) {
			return { ok: false, reason: `"${simple.split(/\s+/)[0]}" is not on the read-only list` };
		}
	}
	return { ok: true };
}

/** Invalid user patterns are reported at config load, not thrown at call time. */
export function invalidPatterns(patterns: readonly string[]): string[] {
	return patterns.filter((p) => {
		try {
			new RegExp(p);
			return false;
		} catch {
			return true;
		}
	});
}
