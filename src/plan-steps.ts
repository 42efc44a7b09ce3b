/**
 * The approved plan as numbered steps, and the progress the agent reports on them. Pure: text in, data out.
 *
 * Steps come from the plan's top-level list, in the shapes planners write: `1.`, `1)`, `- [ ]`/`* [ ]` checkboxes, or
 * plain bullets under a "Plan:" heading when there is no numbered list. Nested items (indented deeper than the first
 * item) belong to the step above them. Progress is a tool call (`plan_progress { step, status }`), not prose: a claim
 * the model makes in text does not mark anything done.
 */

export const STEPS_TYPE = "plan-stepdown:steps";
export const PROGRESS_TYPE = "plan-stepdown:progress";
export const PROGRESS_TOOL = "plan_progress";

export interface PlanStep {
	/** 1-based, as the plan numbers it. */
	n: number;
	text: string;
}

export type StepStatus = "in_progress" | "done" | "skipped";

export interface StepProgress {
	v: 1;
	step: number;
	status: StepStatus;
	/** The rung and provider/id of the call that reported it. */
	rung: number;
	model: string;
}

interface Item {
	indent: number;
	kind: "number" | "check" | "bullet";
	text: string;
}

const ITEM = /^(\s*)(?:(\d+)[.)]|[-*+]\s+\[[ xX]\]|[-*+])\s+(.*\S)\s*$/;

function items(text: string): Item[] {
	const out: Item[] = [];
	for (const line of text.split(/\r?\n/)) {
		const m = ITEM.exec(line);
		if (!m) continue;
		const indent = m[1].replace(/\t/g, "    ").length;
		const kind = m[2] !== undefined ? "number" : /^\s*[-*+]\s+\[[ xX]\]/.test(line) ? "check" : "bullet";
		out.push({ indent, kind, text: m[3].replace(/\*\*/g, "").trim() });
	}
	return out;
}

/** The plan's steps: the outermost numbered (else checkbox, else bullet) items; nested ones join their step. */
export function extractSteps(plan: string): PlanStep[] {
	const all = items(plan);
	for (const kind of ["number", "check", "bullet"] as const) {
		const top = all.filter((i) => i.kind === kind);
		if (top.length === 0) continue;
		const indent = Math.min(...top.map((i) => i.indent));
		const steps: PlanStep[] = [];
		for (const item of all) {
			if (item.kind === kind && item.indent === indent) steps.push({ n: steps.length + 1, text: item.text });
			else if (steps.length > 0 && item.indent > indent) {
				const last = steps[steps.length - 1];
				last.text = `${last.text}; ${item.text}`;
			}
		}
		return steps;
	}
	return [];
}

export interface StepView extends PlanStep {
	status: StepStatus | "todo";
	rung?: number;
	model?: string;
}

/** Each step with its latest reported status (in the order reported), for the widget, /stepdown and the review. */
export function stepViews(steps: readonly PlanStep[], progress: readonly StepProgress[]): StepView[] {
	return steps.map((s) => {
		const last = [...progress].reverse().find((p) => p.step === s.n);
		return last ? { ...s, status: last.status, rung: last.rung, model: last.model } : { ...s, status: "todo" };
	});
}

const MARK: Record<StepView["status"], string> = { todo: "☐", in_progress: "▸", done: "☑", skipped: "–" };

/** The widget's lines: one per step, a check for done steps and the rung/model that did it. */
export function progressLines(views: readonly StepView[]): string[] {
	const done = views.filter((v) => v.status === "done").length;
	return [
		`plan: ${done}/${views.length} steps done`,
		...views.map((v) => `${MARK[v.status]} ${v.n}. ${v.text}${v.model ? `  [${v.rung}] ${v.model}` : ""}`),
	];
}

/** Why a plan_progress call is refused, or undefined. */
export function progressError(steps: readonly PlanStep[], step: unknown, status: unknown): string | undefined {
	if (steps.length === 0) return "there is no approved plan with numbered steps";
	if (typeof step !== "number" || !Number.isInteger(step) || step < 1 || step > steps.length) {
		return `step must be a whole number from 1 to ${steps.length}`;
	}
	if (status !== "in_progress" && status !== "done" && status !== "skipped") {
		return 'status must be "in_progress", "done" or "skipped"';
	}
	return undefined;
}

/** The text of the branch's last assistant answer (the plan, when the dialog approves it). */
export function lastAnswer(branch: readonly EntryLike[]): string | undefined {
	for (let i = branch.length - 1; i >= 0; i--) {
		const m = (branch[i] as { message?: { role?: string; content?: unknown } }).message;
		if (branch[i].type !== "message" || m?.role !== "assistant" || !Array.isArray(m.content)) continue;
		return (m.content as { type?: string; text?: string }[])
			.map((c) => (c.type === "text" && typeof c.text === "string" ? c.text : ""))
			.join("");
	}
	return undefined;
}

interface EntryLike {
	type: string;
	customType?: string;
	data?: unknown;
}

const isStep = (s: unknown): s is PlanStep => {
	const d = s as Partial<PlanStep> | undefined;
	return typeof d?.n === "number" && typeof d.text === "string";
};

export const isProgress = (p: unknown): p is StepProgress => {
	const d = p as Partial<StepProgress> | undefined;
	return (
		d?.v === 1 &&
		typeof d.step === "number" &&
		(d.status === "in_progress" || d.status === "done" || d.status === "skipped") &&
		typeof d.rung === "number" &&
		typeof d.model === "string"
	);
};

/** The branch's latest approved plan's steps and the progress reported on them since (follows /tree, forks). */
export function restoreSteps(branch: readonly EntryLike[]): { steps: PlanStep[]; progress: StepProgress[] } {
	let steps: PlanStep[] = [];
	let progress: StepProgress[] = [];
	for (const entry of branch) {
		if (entry.type !== "custom") continue;
		if (entry.customType === STEPS_TYPE) {
			const data = entry.data as { steps?: unknown } | undefined;
			steps = Array.isArray(data?.steps) ? data.steps.filter(isStep) : [];
			progress = [];
		} else if (entry.customType === PROGRESS_TYPE && isProgress(entry.data)) {
			progress.push(entry.data);
		}
	}
	return { steps, progress };
}
