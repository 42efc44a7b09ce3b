/**
 * What each step of the approved plan cost, from the session branch alone (so it survives resume and fork). A step is
 * charged the implementation calls made since the previous progress report, up to and including the call that
 * reported it: the work that led to the report. Calls after the last report (the closing answer, a step the agent
 * never reported) are "unreported". Pure.
 */
import { readUsage } from "./accounting.ts";
import { isProgress, PROGRESS_TYPE, STEPS_TYPE, type StepView } from "./plan-steps.ts";
import { CALL_TYPE, isCallEntry } from "./state.ts";

export interface StepCosts {
	/** Cost per step number (a step reported twice is charged both spans). */
	perStep: Map<number, number>;
	/** Implementation calls after the last report, charged to no step. */
	unreported: number;
}

interface EntryLike {
	type: string;
	customType?: string;
	data?: unknown;
	message?: { role?: string; usage?: unknown };
}

export function stepCosts(branch: readonly EntryLike[]): StepCosts {
	let perStep = new Map<number, number>();
	let pending = 0;
	let open = false;
	for (const entry of branch) {
		if (entry.type === "custom" && entry.customType === STEPS_TYPE) {
			perStep = new Map();
			pending = 0;
			open = false;
		} else if (entry.type === "custom" && entry.customType === CALL_TYPE && isCallEntry(entry.data)) {
			open = entry.data.phase === "implementing";
		} else if (entry.type === "message" && entry.message?.role === "assistant") {
			if (open) pending += readUsage(entry.message.usage).cost;
			open = false;
		} else if (entry.type === "custom" && entry.customType === PROGRESS_TYPE && isProgress(entry.data)) {
			perStep.set(entry.data.step, (perStep.get(entry.data.step) ?? 0) + pending);
			pending = 0;
		}
	}
	return { perStep, unreported: pending };
}

export interface StepData {
	n: number;
	text: string;
	status: StepView["status"];
	rung?: number;
	model?: string;
	cost: number;
}

/** The steps as the summary entry carries them: done / total, and per step its status, rung/model and cost. */
export function stepsData(
	views: readonly StepView[],
	costs: StepCosts,
): { done: number; total: number; steps: StepData[]; unreported: number } {
	return {
		done: views.filter((v) => v.status === "done").length,
		total: views.length,
		steps: views.map((v) => ({ ...v, cost: costs.perStep.get(v.n) ?? 0 })),
		unreported: costs.unreported,
	};
}
