/**
 * Shell for the plan's steps (plan-steps.ts decides): the `plan_progress` tool the agent reports steps with, the
 * session entries that keep steps and progress on the branch, and the widget that shows them (TUI, and RPC clients
 * through pi's extension UI protocol).
 */
import type { ExtensionAPI, ExtensionContext } from "@mariozechner/pi-coding-agent";
import { Type } from "typebox";
import {
	extractSteps,
	type PlanStep,
	PROGRESS_TOOL,
	PROGRESS_TYPE,
	progressError,
	progressLines,
	restoreSteps,
	STEPS_TYPE,
	type StepProgress,
	stepViews,
} from "./plan-steps.ts";
import { stepLines } from "./report.ts";
import { stepCosts, stepsData } from "./step-costs.ts";

const WIDGET_KEY = "plan-stepdown";

export interface ProgressDeps {
	/** The rung and provider/id of the call being answered (the one that called the tool). */
	current(): { rung: number; model: string };
}

export function createProgress(pi: ExtensionAPI, deps: ProgressDeps) {
	let steps: PlanStep[] = [];
	let progress: StepProgress[] = [];
	let ctxRef: ExtensionContext | undefined;

	const show = () => {
		if (!ctxRef?.hasUI) return;
		ctxRef.ui.setWidget(WIDGET_KEY, steps.length > 0 ? progressLines(stepViews(steps, progress)) : undefined);
	};

	pi.registerTool({
		name: PROGRESS_TOOL,
		label: "Plan progress",
		description:
			"Report progress on a numbered step of the approved plan: call it when you start a step (in_progress) and when you finish it (done), or skip it with a reason in your answer (skipped).",
		parameters: Type.Object({
			step: Type.Integer({ minimum: 1, description: "The step's number in the approved plan" }),
			status: Type.Union([Type.Literal("in_progress"), Type.Literal("done"), Type.Literal("skipped")]),
		}),
		async execute(_id, params) {
			const error = progressError(steps, params.step, params.status);
			if (error) throw new Error(`plan_progress: ${error}`);
			const entry: StepProgress = { v: 1, step: params.step, status: params.status, ...deps.current() };
			progress.push(entry);
			pi.appendEntry(PROGRESS_TYPE, entry);
			show();
			const done = stepViews(steps, progress).filter((v) => v.status === "done").length;
			return {
				content: [{ type: "text", text: `Step ${params.step}: ${params.status} (${done}/${steps.length} done).` }],
				details: {},
			};
		},
	});

	return {
		/** The approved plan: its steps are stored with the session (nothing when it has no list). */
		approve(planText: string | undefined) {
			steps = planText ? extractSteps(planText) : [];
			progress = [];
			if (steps.length > 0) pi.appendEntry(STEPS_TYPE, { v: 1, steps });
			show();
		},
		/** The branch's plan and progress (session start, /tree). */
		restore(ctx: ExtensionContext) {
			ctxRef = ctx;
			({ steps, progress } = restoreSteps(ctx.sessionManager.getBranch()));
			show();
		},
		/** For the review turn: the steps not reported done, or "" when there are none (or no plan). */
		openStepsNote(): string {
			const open = stepViews(steps, progress).filter((v) => v.status !== "done" && v.status !== "skipped");
			if (open.length === 0) return "";
			return `\n\nSteps of the plan not marked done:\n${open.map((v) => `${v.n}. ${v.text}`).join("\n")}`;
		},
		/** Lines for /stepdown (with each step's cost, from the branch); none without a plan. */
		lines: (branch: Branch): string[] => stepLines(stepViews(steps, progress), stepCosts(branch)),
		/** The summary entry's data; the summary line reads its done and total. */
		data: (branch: Branch) => stepsData(stepViews(steps, progress), stepCosts(branch)),
	};
}

type Branch = Parameters<typeof stepCosts>[0];
