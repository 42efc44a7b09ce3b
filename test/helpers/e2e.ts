/**
 * Small assertions helpers shared by the e2e tests that drive pi through rpc, print and tmux: per-call wire labels,
 * the extension's session records, and order-independent event lookups on a running rpc process.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AssistantMessage } from "@mariozechner/pi-ai";
import type { Summary } from "../../src/accounting.ts";
import type { AdviceData } from "../../src/advice.ts";
import {
	CALL_TYPE,
	type CallEntry,
	isCallEntry,
	isRecord,
	isStateEntry,
	STATE_TYPE,
	type StateEntry,
	SUMMARY_TYPE,
} from "../../src/state.ts";
import type { RecordedRequest } from "./mock-llm.js";
import type { PiEvent, PiRpc, Sandbox, SessionEntry } from "./pi-harness.js";
import { readSessionEntries } from "./pi-harness.js";

/** `provider/model:effort` as the request reached the wire (effort "-" when the payload sets none). */
export const wireLabel = (req: RecordedRequest): string => `${req.provider}/${req.model}:${req.effort ?? "-"}`;

export const wireLabels = (requests: readonly RecordedRequest[]): string[] => requests.map(wireLabel);

/** The request body as text, e.g. to look for the planning block in the system prompt. */
export const bodyText = (req: RecordedRequest): string =>
	typeof req.body === "string" ? req.body : JSON.stringify(req.body);

/** Whether the planning block ("PLAN MODE") is in the request (it lives in the system prompt only). */
export const hasPlanBlock = (req: RecordedRequest): boolean => bodyText(req).includes("PLAN MODE");

export { isRecord };

/** The entries of the single session pi wrote in this sandbox (fails loudly if there is not exactly one). */
export function onlySession(sandbox: Sandbox): { file: string; entries: SessionEntry[] } {
	const sessions = readSessionEntries(sandbox);
	if (sessions.length !== 1) {
		throw new Error(`expected exactly one session file, found ${sessions.map((s) => s.file).join(", ") || "none"}`);
	}
	return sessions[0];
}

export function customData(entries: readonly SessionEntry[], customType: string): unknown[] {
	return entries.filter((e) => e.type === "custom" && e.customType === customType).map((e) => e.data);
}

/** The extension's call records; each must pass the extension's own validation (a malformed one fails the test). */
export function callRecords(entries: readonly SessionEntry[]): CallEntry[] {
	return customData(entries, CALL_TYPE).map((data) => {
		assert.ok(isCallEntry(data), `a valid call entry: ${JSON.stringify(data)}`);
		return data;
	});
}

/** The extension's mode records, validated as the extension reads them back. */
export function stateRecords(entries: readonly SessionEntry[]): StateEntry[] {
	return customData(entries, STATE_TYPE).map((data) => {
		assert.ok(isStateEntry(data), `a valid state entry: ${JSON.stringify(data)}`);
		return data;
	});
}

/** The headless summary entry as written: the accounting summary without its text table. */
export type SummaryRecord = Omit<Summary, "table"> & { v: number; advice?: AdviceData };

export function summaryRecords(entries: readonly SessionEntry[]): SummaryRecord[] {
	return customData(entries, SUMMARY_TYPE) as SummaryRecord[];
}

export interface AssistantRecord {
	provider: string;
	model: string;
	stopReason: string;
	errorMessage?: string;
	text: string;
}

/** The text parts of a message's content, joined ("" when there is no content array). */
function textOf(content: unknown): string {
	if (!Array.isArray(content)) return "";
	return content
		.filter((c): c is { type: "text"; text: string } => isRecord(c) && c.type === "text" && typeof c.text === "string")
		.map((c) => c.text)
		.join("");
}

export const isAssistantMessage = (message: unknown): message is AssistantMessage =>
	isRecord(message) && message.role === "assistant";

/** Every assistant message pi recorded, in order, as pi wrote it (usage, cost, api…). */
export function assistantMessages(entries: readonly SessionEntry[]): AssistantMessage[] {
	return entries.map((e) => e.message).filter(isAssistantMessage);
}

/** Every assistant message pi recorded, in order. */
export function assistantRecords(entries: readonly SessionEntry[]): AssistantRecord[] {
	const out: AssistantRecord[] = [];
	for (const entry of entries) {
		if (entry.type !== "message" || !isRecord(entry.message) || entry.message.role !== "assistant") continue;
		const m = entry.message;
		const text = textOf(m.content);
		out.push({
			provider: String(m.provider),
			model: String(m.model),
			stopReason: String(m.stopReason),
			errorMessage: typeof m.errorMessage === "string" ? m.errorMessage : undefined,
			text,
		});
	}
	return out;
}

export const settingsBytes = (sandbox: Sandbox): Buffer => readFileSync(join(sandbox.agentDir, "settings.json"));

/** agent/settings.json is byte-identical to `before` (on a difference, the assertion shows the text diff). */
export function assertSettingsUnchanged(sandbox: Sandbox, before: Buffer): void {
	const after = settingsBytes(sandbox);
	if (after.equals(before)) return;
	assert.equal(after.toString("utf8"), before.toString("utf8"), "agent/settings.json changed during the session");
	assert.fail("agent/settings.json changed during the session (same text, different bytes)");
}

// ---------------------------------------------------------------------------------------------
// rpc events, looked up from a mark (index into rpc.events) rather than the harness' shared cursor
// ---------------------------------------------------------------------------------------------

/** Resolves with the first event at index >= from matching `predicate` (polls; never moves the harness cursor). */
export async function eventAfter(
	rpc: PiRpc,
	from: number,
	predicate: (event: PiEvent) => boolean,
	what: string,
	timeoutMs = 15_000,
): Promise<PiEvent> {
	const deadline = Date.now() + timeoutMs;
	let scanned = from;
	for (;;) {
		for (; scanned < rpc.events.length; scanned++) {
			const event = rpc.events[scanned];
			if (event && predicate(event)) return event;
		}
		if (rpc.child.exitCode !== null || rpc.child.signalCode !== null) {
			throw new Error(`pi exited before ${what}; stderr:\n${rpc.stderr()}`);
		}
		if (Date.now() > deadline) {
			const recent = rpc.events
				.slice(from)
				.slice(-20)
				.map((e) => e.type + (typeof e.method === "string" ? `:${e.method}` : ""))
				.join(", ");
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events since mark: [${recent}]`);
		}
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

export interface UiEvent extends PiEvent {
	type: "extension_ui_request";
	id: string;
	method: string;
	title?: string;
	message?: string;
	options?: string[];
	statusKey?: string;
	statusText?: string;
}

const isUi = (event: PiEvent): event is UiEvent => event.type === "extension_ui_request";

export async function uiAfter(
	rpc: PiRpc,
	from: number,
	method: string,
	predicate: (event: UiEvent) => boolean = () => true,
	timeoutMs?: number,
): Promise<UiEvent> {
	const event = await eventAfter(
		rpc,
		from,
		(e) => isUi(e) && e.method === method && predicate(e),
		`extension_ui_request ${method}`,
		timeoutMs,
	);
	return event as UiEvent;
}

/** The text of the last assistant message of an `agent_end` event. */
export function lastAssistantText(event: PiEvent): string | undefined {
	const messages = Array.isArray(event.messages) ? event.messages : [];
	for (let i = messages.length - 1; i >= 0; i--) {
		const m: unknown = messages[i];
		if (!isRecord(m) || m.role !== "assistant") continue;
		return textOf(m.content);
	}
	return undefined;
}

/** The `agent_end` (at index >= from) whose last assistant message says `text`. */
export const agentEndWith = (rpc: PiRpc, from: number, text: string, timeoutMs?: number): Promise<PiEvent> =>
	eventAfter(
		rpc,
		from,
		(e) => e.type === "agent_end" && lastAssistantText(e) === text,
		`agent_end with "${text}"`,
		timeoutMs,
	);

/** Sends a prompt (a command or a message) and checks pi accepted it; does not wait for the run. */
export async function send(rpc: PiRpc, message: string): Promise<void> {
	const response = await rpc.request({ type: "prompt", message });
	if (response.success !== true)
		throw new Error(`prompt ${JSON.stringify(message)} rejected: ${JSON.stringify(response)}`);
}

/** Tool executions (tool_execution_end) at index >= from. */
export function toolEnds(
	rpc: PiRpc,
	from = 0,
): { toolName: string; isError: boolean; text: string; toolCallId: string }[] {
	return rpc.events
		.slice(from)
		.filter((e) => e.type === "tool_execution_end")
		.map((e) => {
			const result = isRecord(e.result) ? e.result : {};
			const text = textOf(result.content);
			return {
				toolName: String(e.toolName),
				isError: e.isError === true,
				text,
				toolCallId: String(e.toolCallId),
			};
		});
}

/** Waits until pi reports it is not streaming (after a dialog answer the run's end is processed asynchronously). */
export async function idle(rpc: PiRpc, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const state = await rpc.request({ type: "get_state" });
		const data = state.data as { isStreaming?: boolean } | undefined;
		if (data?.isStreaming === false) return;
		if (Date.now() > deadline) throw new Error("pi still streaming");
		await new Promise((resolve) => setTimeout(resolve, 30));
	}
}
