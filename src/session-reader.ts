/**
 * pi's session files (`.jsonl`), read as plain data: the header, the entries, and the branch the file ends on.
 * Both the current format (v2/v3: entries linked by id/parentId, a tree) and the early id-less one (v1: one line per
 * entry, in order) are read. Pure: text in, entries out; no pi import.
 */

export interface SessionHeader {
	type: "session";
	version?: number;
	id?: string;
	timestamp?: string;
	cwd?: string;
	provider?: string;
	modelId?: string;
	thinkingLevel?: string;
}

export interface SessionFileEntry {
	type: string;
	id?: string;
	parentId?: string | null;
	timestamp?: string;
	customType?: string;
	data?: unknown;
	thinkingLevel?: string;
	provider?: string;
	modelId?: string;
	message?: {
		role?: string;
		content?: unknown;
		provider?: string;
		model?: string;
		stopReason?: string;
		timestamp?: number;
		toolCallId?: string;
		toolName?: string;
		isError?: boolean;
		customType?: string;
		usage?: { input?: number; output?: number; cacheRead?: number; cacheWrite?: number };
	};
}

export interface SessionFile {
	header: SessionHeader | undefined;
	entries: SessionFileEntry[];
	/** Lines that were not JSON objects (a torn last line), by 1-based number. */
	badLines: number[];
}

export function parseSession(text: string): SessionFile {
	let header: SessionHeader | undefined;
	const entries: SessionFileEntry[] = [];
	const badLines: number[] = [];
	text.split("\n").forEach((line, i) => {
		if (!line.trim()) return;
		let value: unknown;
		try {
			value = JSON.parse(line);
		} catch {
			badLines.push(i + 1);
			return;
		}
		if (!value || typeof value !== "object" || typeof (value as { type?: unknown }).type !== "string") {
			badLines.push(i + 1);
			return;
		}
		const entry = value as SessionFileEntry;
		if (entry.type === "session") header ??= entry as SessionHeader;
		else entries.push(entry);
	});
	return { header, entries, badLines };
}

/**
 * The branch the session is on: from the last entry up its parents to the root (pi appends the current leaf last).
 * Id-less files are one line of history: every entry, in order.
 */
export function currentBranch(entries: readonly SessionFileEntry[]): SessionFileEntry[] {
	if (!entries.some((e) => typeof e.id === "string")) return [...entries];
	const byId = new Map(entries.filter((e) => e.id).map((e) => [e.id as string, e]));
	const branch: SessionFileEntry[] = [];
	const seen = new Set<string>();
	for (let e = entries.at(-1); e?.id && !seen.has(e.id); e = e.parentId ? byId.get(e.parentId) : undefined) {
		seen.add(e.id);
		branch.push(e);
	}
	return branch.reverse();
}

/** One LLM call of the branch, as the replay and the bench need it. */
export interface SessionCall {
	/** Index of the assistant entry in the branch. */
	entry: number;
	model: string;
	stopReason: string;
	usage: { input: number; output: number; cacheRead: number; cacheWrite: number };
	at: number | undefined;
	toolCalls: { id: string; name: string; command?: string }[];
}

export function sessionCalls(branch: readonly SessionFileEntry[]): SessionCall[] {
	const out: SessionCall[] = [];
	branch.forEach((e, i) => {
		const m = e.message;
		if (e.type !== "message" || m?.role !== "assistant") return;
		const u = m.usage ?? {};
		const content = Array.isArray(m.content) ? (m.content as { type?: string; id?: string; name?: string }[]) : [];
		out.push({
			entry: i,
			model: `${m.provider ?? "?"}/${m.model ?? "?"}`,
			stopReason: m.stopReason ?? "stop",
			usage: { input: u.input ?? 0, output: u.output ?? 0, cacheRead: u.cacheRead ?? 0, cacheWrite: u.cacheWrite ?? 0 },
			at: m.timestamp ?? (e.timestamp ? Date.parse(e.timestamp) : undefined),
			toolCalls: content
				.filter((b) => b?.type === "toolCall" && typeof b.name === "string")
				.map((b) => {
					const args = (b as { arguments?: { command?: unknown } }).arguments;
					return {
						id: String(b.id ?? ""),
						name: b.name as string,
						...(b.name === "bash" && typeof args?.command === "string" ? { command: args.command } : {}),
					};
				}),
		});
	});
	return out;
}
