/**
 * User regular expressions (planBash.allow/deny) under a time bound. JavaScript's backtracking engine cannot be
 * interrupted, so the bound is structural: a pattern is accepted only without the constructs that backtrack
 * exponentially (a quantified group that itself contains a quantifier or an alternation, backreferences,
 * lookaround), with at most 2 unbounded quantifiers (`*`, `+`, `{n,}`). Such a pattern costs at most about
 * n^(k+1) steps on n characters, so each is run only on input up to a length that keeps that below ~10^7 steps.
 */

export const MAX_PATTERN_LENGTH = 200;
export const MAX_UNBOUNDED = 2;
/** Longest input per number of unbounded quantifiers: n^(k+1) ≤ ~10^7. */
const INPUT_CAP = [20_000, 3_000, 200];

export interface SafePattern {
	source: string;
	regex: RegExp;
	/** Inputs longer than this are not matched (the caller decides what that means: deny refuses, allow ignores). */
	maxInput: number;
}

/** Why a pattern is not accepted, or undefined. Invalid syntax is reported with the engine's message. */
export function patternProblem(source: string): string | undefined {
	if (source.length > MAX_PATTERN_LENGTH) return `longer than ${MAX_PATTERN_LENGTH} characters`;
	try {
		new RegExp(source);
	} catch (error) {
		return `invalid regular expression: ${(error as Error).message}`;
	}
	const shape = analyse(source);
	if (shape.problem) return shape.problem;
	if (shape.unbounded > MAX_UNBOUNDED) {
		return `more than ${MAX_UNBOUNDED} unbounded quantifiers (*, +, {n,}) could make a check take minutes`;
	}
	return undefined;
}

export function compilePattern(source: string): SafePattern | undefined {
	if (patternProblem(source)) return undefined;
	const shape = analyse(source);
	return { source, regex: new RegExp(source), maxInput: INPUT_CAP[shape.unbounded] ?? 0 };
}

/** true/false when the pattern could be run, undefined when the input is over its cap. */
export function safeTest(pattern: SafePattern, input: string): boolean | undefined {
	if (input.length > pattern.maxInput) return undefined;
	return pattern.regex.test(input);
}

interface Shape {
	unbounded: number;
	problem?: string;
}

/** One pass over the pattern: groups are tracked on a stack with whether they hold a quantifier or a `|`. */
function analyse(source: string): Shape {
	const stack: { quantified: boolean; alternation: boolean }[] = [{ quantified: false, alternation: false }];
	let unbounded = 0;
	// What the last atom was: a group just closed (with its inner flags) or a plain atom.
	let lastGroup: { quantified: boolean; alternation: boolean } | undefined;
	for (let i = 0; i < source.length; i++) {
		const c = source[i];
		if (c === "\\") {
			const next = source[i + 1] ?? "";
			if (/[1-9]/.test(next) || next === "k") return { unbounded, problem: "backreferences are not allowed" };
			i++;
			lastGroup = undefined;
			continue;
		}
		if (c === "[") {
			i++;
			if (source[i] === "^") i++;
			if (source[i] === "]") i++;
			while (i < source.length && source[i] !== "]") {
				if (source[i] === "\\") i++;
				i++;
			}
			lastGroup = undefined;
			continue;
		}
		if (c === "(") {
			if (/^\(\?(=|!|<=|<!)/.test(source.slice(i))) return { unbounded, problem: "lookaround is not allowed" };
			stack.push({ quantified: false, alternation: false });
			lastGroup = undefined;
			continue;
		}
		if (c === ")") {
			const inner = stack.pop() ?? { quantified: false, alternation: false };
			if (stack.length === 0) stack.push({ quantified: false, alternation: false });
			const top = stack[stack.length - 1];
			top.quantified ||= inner.quantified;
			top.alternation ||= inner.alternation;
			lastGroup = inner;
			continue;
		}
		if (c === "|") {
			stack[stack.length - 1].alternation = true;
			lastGroup = undefined;
			continue;
		}
		const brace = c === "{" ? /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i)) : null;
		if (c === "*" || c === "+" || c === "?" || brace) {
			const isUnbounded = c === "*" || c === "+" || (brace !== null && brace[2] !== undefined && brace[3] === "");
			if (lastGroup && (lastGroup.quantified || lastGroup.alternation) && (isUnbounded || brace)) {
				return { unbounded, problem: "a quantified group containing a quantifier or | (catastrophic backtracking)" };
			}
			if (isUnbounded) unbounded++;
			stack[stack.length - 1].quantified = true;
			if (brace) i += brace[0].length - 1;
			if (source[i + 1] === "?") i++; // lazy
			lastGroup = undefined;
			continue;
		}
		lastGroup = undefined;
	}
	return { unbounded };
}
