/**
 * Failover on rate limits and overload, as pure functions. pi retries a failed call by itself; this decides which
 * rung the retry uses. The first transient fault is retried on the same rung (its prompt cache stays warm); the
 * `afterFailures`-th in a row on that rung, or a provider asking to wait longer than `maxRetryAfterSeconds`, moves
 * the retry to the rung's `fallback` or else the nearest rung on another provider (the stronger side on a tie).
 * Key and request errors (400, 401, 403) are never a failover: another rung would not fix them.
 */
import type { Decision } from "./ladder.ts";
import { rungRef } from "./resolve.ts";
import type { Config } from "./schema.ts";
import { CALL_TYPE, type CallEntry } from "./state.ts";

export interface FailoverSettings {
	/** Transient faults in a row on one rung before its retry goes to another rung. 0: never fail over. */
	afterFailures: number;
	/** A provider asking to wait longer than this fails over at once. */
	maxRetryAfterSeconds: number;
}

export type FaultKind = "rate-limit" | "overloaded";

export interface Fault {
	kind: FaultKind;
	status?: number;
	retryAfterSeconds?: number;
}

export interface Failover {
	/** The rung the call was decided for. */
	from: number;
	cause: string;
	/** A later retry staying on the rung an earlier failover of the same call moved to (not a new failover). */
	kept?: true;
}

const NOT_TRANSIENT =
	/\b(400|401|403|404)\b|api[ _-]?key|unauthori[sz]ed|authentication|invalid[ _]request|permission/i;
const RATE_LIMIT = /\b429\b|rate[ _-]?limit|too many requests|quota|usage limit/i;
const OVERLOADED = /\b(529|503)\b|overloaded|service unavailable/i;
/**
 * How long the provider asks to wait, as error texts say it: "retry-after: 3600", OpenAI's "Please try again in
 * 20s", Gemini's "Please retry in 54.1s", pi 1.x's "Server requested 3600s retry delay".
 */
const RETRY_AFTER =
	/(?:retry[ _-]?after|try again in|retry in|requested)\D{0,5}?(\d+(?:\.\d+)?)\s*(ms|s|sec|seconds?|m|min|minutes?|h|hours?)?\b/i;
const UNIT_SECONDS: Record<string, number> = {
	ms: 0.001,
	m: 60,
	min: 60,
	minute: 60,
	minutes: 60,
	h: 3600,
	hour: 3600,
	hours: 3600,
};

/** A provider's error as a transient capacity fault, or undefined (not ours to fail over). */
export function classifyFault(errorMessage: string | undefined): Fault | undefined {
	if (!errorMessage || NOT_TRANSIENT.test(errorMessage)) return undefined;
	const kind: FaultKind | undefined = RATE_LIMIT.test(errorMessage)
		? "rate-limit"
		: OVERLOADED.test(errorMessage)
			? "overloaded"
			: undefined;
	if (!kind) return undefined;
	const status = /\b(429|529|503)\b/.exec(errorMessage)?.[1];
	const after = RETRY_AFTER.exec(errorMessage);
	const seconds = after ? Number(after[1]) * (UNIT_SECONDS[after[2]?.toLowerCase() ?? ""] ?? 1) : undefined;
	return {
		kind,
		...(status ? { status: Number(status) } : {}),
		...(seconds !== undefined ? { retryAfterSeconds: seconds } : {}),
	};
}

/** One failed call at the end of the branch: the rung it was routed to and pi's error text. */
export interface FailedCall {
	rung: number;
	error: string;
}

interface BranchEntryLike {
	type: string;
	customType?: string;
	data?: unknown;
	message?: { role?: string; stopReason?: string; errorMessage?: string };
}

/**
 * The calls that failed since the last answer, newest first, read from the session branch (pi keeps the failed
 * messages there, though it drops them from the next request): each failed assistant message with the rung of the
 * call record before it. Stops at the first answer or user message.
 */
export function trailingFailures(branch: readonly BranchEntryLike[], callType: string): FailedCall[] {
	const out: FailedCall[] = [];
	let error: string | undefined;
	for (let i = branch.length - 1; i >= 0; i--) {
		const e = branch[i];
		if (e.type === "message") {
			if (e.message?.role !== "assistant" || e.message.stopReason !== "error") break;
			error = e.message.errorMessage ?? "";
		} else if (e.type === "custom" && e.customType === callType && error !== undefined) {
			const rung = (e.data as Partial<CallEntry> | undefined)?.rung;
			if (typeof rung === "number") out.push({ rung, error });
			error = undefined;
		} else if (e.type === "custom_message") {
			break;
		}
	}
	return out;
}

export interface RetryInput {
	/** The provider of each rung. */
	providers: readonly string[];
	/** A configured fallback rung per rung, if any. */
	fallbacks: readonly (number | undefined)[];
	/** The rung the ladder decided for the retry (the failed call's rung). */
	rung: number;
	/** The calls that failed since the last answer, newest first. */
	failures: readonly FailedCall[];
	settings: FailoverSettings;
}

/** Which rung a retry uses, and why it moved, if it did. */
export function retryRung(input: RetryInput): { rung: number; failover?: Failover } {
	const { rung, failures, settings } = input;
	const stay = { rung };
	const latest = failures[0];
	if (!latest || settings.afterFailures <= 0) return stay;
	const fault = classifyFault(latest.error);
	if (!fault) return stay;
	// The retry follows the rung that failed last: after a failover that is the fallback, not the decided rung.
	const failed = latest.rung;
	let inARow = 0;
	for (const f of failures) {
		if (f.rung !== failed || !classifyFault(f.error)) break;
		inARow++;
	}
	const wait = fault.retryAfterSeconds;
	const tooLong = wait !== undefined && wait > settings.maxRetryAfterSeconds;
	// Already moved by an earlier failover in this chain: the retry stays there until that rung fails over too.
	const kept =
		failed === rung
			? stay
			: { rung: failed, failover: { from: rung, cause: `kept rung ${failed}`, kept: true as const } };
	if (inARow < settings.afterFailures && !tooLong) return kept;
	// Rungs that already failed with a transient fault in this retry chain are not tried again.
	const avoid = new Set(failures.filter((f) => classifyFault(f.error)).map((f) => f.rung));
	const to = fallbackRung(input.providers, input.fallbacks, failed, avoid);
	if (to === undefined) return kept;
	const what = `${fault.status ?? ""}${fault.status ? " " : ""}${fault.kind}`;
	const why = tooLong ? `retry-after ${wait} s > ${settings.maxRetryAfterSeconds} s` : `${inARow} in a row`;
	return { rung: to, failover: { from: failed, cause: `${what} on rung ${failed} (${why})` } };
}

/** The configured fallback, or the nearest rung on another provider; ties go to the stronger (lower) rung. */
export function fallbackRung(
	providers: readonly string[],
	fallbacks: readonly (number | undefined)[],
	from: number,
	avoid: ReadonlySet<number> = new Set(),
): number | undefined {
	const configured = fallbacks[from];
	if (configured !== undefined && configured !== from && configured < providers.length && !avoid.has(configured)) {
		return configured;
	}
	const provider = providers[from];
	for (let d = 1; d < providers.length; d++) {
		for (const j of [from - d, from + d]) {
			if (j >= 0 && j < providers.length && providers[j] !== provider && !avoid.has(j)) return j;
		}
	}
	return undefined;
}

/** The ladder's decision for a call, moved to another rung when it retries a rate-limited or overloaded call. */
export function withFailover(decision: Decision, input: Omit<RetryInput, "rung">): Decision {
	if (input.failures.length === 0) return decision;
	const moved = retryRung({ ...input, rung: decision.rung });
	return moved.failover ? { ...decision, rung: moved.rung, failover: moved.failover } : decision;
}

/** `withFailover` for a call about to be made, from the config and the session branch (pi keeps failed calls there). */
export function failoverFor(decision: Decision, config: Config, branch: readonly BranchEntryLike[]): Decision {
	const failures = trailingFailures(branch, CALL_TYPE);
	if (failures.length === 0) return decision;
	return withFailover(decision, {
		providers: config.ladder.map((r) => rungRef(r, config)?.provider ?? ""),
		fallbacks: config.ladder.map((r) => r.fallback),
		failures,
		settings: config.failover,
	});
}

/** The failover a call record carries, if any (an optional field of `plan-stepdown:call`). */
export function failoverOf(call: CallEntry): Failover | undefined {
	const f = (call as CallEntry & { failover?: Partial<Failover> }).failover;
	if (!f || typeof f.from !== "number" || typeof f.cause !== "string") return undefined;
	return { from: f.from, cause: f.cause, ...(f.kept ? { kept: true as const } : {}) };
}

/**
 * A rung that failed over stays avoided for `coolDownSeconds`: a later call the ladder sends there goes where the
 * failover went instead. `cooling` maps a rung to the time (ms) its cool-down ends; hosts keep it per process.
 */
export function coolingDown(
	decision: Decision,
	cooling: ReadonlyMap<number, number>,
	now: number,
	config: Pick<Config, "ladder" | "provider">,
): Decision {
	const until = cooling.get(decision.rung);
	if (decision.failover || until === undefined || until <= now) return decision;
	const avoid = new Set([...cooling].filter(([, end]) => end > now).map(([rung]) => rung));
	const providers = config.ladder.map((r) => rungRef(r, config)?.provider ?? "");
	const to = fallbackRung(
		providers,
		config.ladder.map((r) => r.fallback),
		decision.rung,
		avoid,
	);
	if (to === undefined) return decision;
	const left = Math.ceil((until - now) / 1000);
	return {
		...decision,
		rung: to,
		failover: { from: decision.rung, cause: `rung ${decision.rung} cooling down (${left} s left)` },
	};
}

/** After a call starts: a failover (not a retry kept on its fallback) starts the cool-down of the rung it left. */
export function noteFailover(
	cooling: Map<number, number>,
	decision: Decision,
	now: number,
	coolDownSeconds: number,
): void {
	const f = decision.failover;
	if (f && !f.kept && coolDownSeconds > 0 && !f.cause.includes("cooling down")) {
		cooling.set(f.from, now + coolDownSeconds * 1000);
	}
}
