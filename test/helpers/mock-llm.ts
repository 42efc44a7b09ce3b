/**
 * Scripted mock LLM server for end-to-end tests of the real pi binary.
 *
 * One node:http server on 127.0.0.1 (random port) speaks the streaming (SSE) wire formats that
 * pi-ai 0.73.1 parses for six APIs. Each provider gets its own base path on the server:
 *
 * | api                    | models.json baseUrl          | request pi sends                                             | auth header            |
 * |------------------------|------------------------------|--------------------------------------------------------------|------------------------|
 * | openai-completions     | `{url}/{provider}/v1`        | `POST /{provider}/v1/chat/completions`                       | `Authorization: Bearer` |
 * | openai-responses       | `{url}/{provider}/v1`        | `POST /{provider}/v1/responses`                              | `Authorization: Bearer` |
 * | azure-openai-responses | `{url}/{provider}/openai/v1` | `POST /{provider}/openai/v1/responses?api-version=v1` (Responses stream) | `api-key`      |
 * | mistral-conversations  | `{url}/{provider}`           | `POST /{provider}/v1/chat/completions` (Mistral's chunk shape) | `Authorization: Bearer` |
 * | anthropic-messages     | `{url}/{provider}`           | `POST /{provider}/v1/messages` (the SDK appends `/v1/messages`) | `x-api-key`            |
 * | google-generative-ai   | `{url}/{provider}/v1beta`    | `POST /{provider}/v1beta/models/{id}:streamGenerateContent?alt=sse` | `x-goog-api-key`  |
 *
 * Every request is recorded (`requests`), including ones the mock rejects itself without consuming the script:
 * unknown provider or path (404), body that is not a JSON object (400), wrong fake key (401), script threw (500);
 * errors use the provider's own error body format. Array scripts are consumed in order and answer `DONE_REPLY`
 * ("done") once exhausted; function scripts see the recorded request (with tool results already extracted).
 *
 * Retries: with pi's default settings the OpenAI and Anthropic SDKs retry 429/5xx themselves (2 retries,
 * honouring `retry-after`) before pi's own agent-level retry (baseDelayMs 2000) kicks in; the Google SDK never
 * retries. Use FAST_RETRY_SETTINGS from pi-harness.ts to make one fault cost exactly one extra request and ~20 ms.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type MockApi =
	| "openai-completions"
	| "openai-responses"
	| "azure-openai-responses"
	| "mistral-conversations"
	| "anthropic-messages"
	| "google-generative-ai";

export interface MockModelCost {
	input: number;
	output: number;
	cacheRead: number;
	cacheWrite: number;
}

export interface MockModel {
	id: string;
	reasoning?: boolean;
	cost?: MockModelCost;
	contextWindow?: number;
	maxTokens?: number;
	/** Any other models.json model field (name, input, thinkingLevelMap, compat, ...) is passed through. */
	[key: string]: unknown;
}

export interface MockProvider {
	name: string;
	api: MockApi;
	apiKey: string;
	models: MockModel[];
	/** Extra provider-level models.json fields (compat, headers, ...). */
	extra?: Record<string, unknown>;
}

export interface MockToolCall {
	name: string;
	arguments: Record<string, unknown>;
}

export interface MockUsage {
	input: number;
	output: number;
	cacheRead?: number;
}

export interface MockReply {
	text?: string;
	thinking?: string;
	toolCalls?: MockToolCall[];
	usage?: MockUsage;
	/** Defaults to "stop" ("toolUse" whenever toolCalls are present). "length" maps to max_tokens / incomplete. */
	stopReason?: "stop" | "length";
}

export type MockFault =
	| { fault: "http"; status: number; retryAfterSeconds?: number; message?: string }
	| { fault: "cut"; afterEvents?: number }
	| { fault: "slow"; delayMs: number; reply: MockReply };

export type MockAnswer = MockReply | MockFault;

export type MockScript = MockAnswer[] | ((req: RecordedRequest, all: RecordedRequest[]) => MockAnswer);

export interface MockToolResult {
	name?: string;
	text: string;
	isError?: boolean;
}

export interface RecordedRequest {
	index: number;
	provider: string;
	api: MockApi;
	path: string;
	apiKey: string | undefined;
	headers: Record<string, string>;
	/** Parsed JSON body, or the raw text when it was not valid JSON. */
	body: unknown;
	model: string;
	effort: string | undefined;
	toolNames: string[];
	webSearch: { search_context_size?: string; [key: string]: unknown } | undefined;
	promptCacheKey: string | undefined;
	promptCacheRetention: string | null | undefined;
	lastUserText: string | undefined;
	toolResults: MockToolResult[];
	/** The answer the mock gave (absent when the mock rejected the request itself). */
	answer?: MockAnswer;
	/** Set when the mock answered with its own error instead of the script (bad JSON, wrong path, wrong key...). */
	rejected?: { status: number; reason: string };
	/**
	 * How the exchange ended: "completed" (full stream or scripted HTTP error sent), "client-closed" (pi went away
	 * mid-stream, e.g. after an abort), "cut" (cut fault), "rejected" (see `rejected`). Unset while in flight.
	 */
	outcome?: "completed" | "client-closed" | "cut" | "rejected";
}

export interface MockLlm {
	url: string;
	providers: MockProvider[];
	baseUrl(provider: string): string;
	requests: RecordedRequest[];
	setScript(script: MockScript): void;
	/** Resolves once no request is in flight (every recorded request has an outcome). */
	settled(): Promise<void>;
	close(): Promise<void>;
}

export const DONE_REPLY: MockReply = { text: "done" };

const DEFAULT_USAGE: Required<MockUsage> = { input: 10, output: 5, cacheRead: 0 };

export function isFault(answer: MockAnswer): answer is MockFault {
	return "fault" in answer;
}

export function mockBaseUrl(serverUrl: string, provider: MockProvider): string {
	switch (provider.api) {
		case "openai-completions":
		case "openai-responses":
			return `${serverUrl}/${provider.name}/v1`;
		case "azure-openai-responses":
			return `${serverUrl}/${provider.name}/openai/v1`;
		case "mistral-conversations":
			return `${serverUrl}/${provider.name}`;
		case "anthropic-messages":
			return `${serverUrl}/${provider.name}`;
		case "google-generative-ai":
			return `${serverUrl}/${provider.name}/v1beta`;
	}
}

/** One provider per API with reasoning and non-reasoning models; handy default for tests. */
export function exampleProviders(): MockProvider[] {
	const cost = { input: 1, output: 2, cacheRead: 0.1, cacheWrite: 0 };
	return [
		{
			name: "mock-chat",
			api: "openai-completions",
			apiKey: "mock-chat-key",
			models: [
				{ id: "chat-mini", reasoning: false, cost, contextWindow: 128000, maxTokens: 8192 },
				{ id: "chat-reasoner", reasoning: true, cost, contextWindow: 128000, maxTokens: 8192 },
			],
		},
		{
			name: "mock-oai",
			api: "openai-responses",
			apiKey: "mock-oai-key",
			models: [
				{ id: "gpt-mock-mini", reasoning: false, cost, contextWindow: 200000, maxTokens: 16384 },
				{ id: "gpt-mock", reasoning: true, cost, contextWindow: 200000, maxTokens: 16384 },
			],
		},
		{
			name: "mock-mistral",
			api: "mistral-conversations",
			apiKey: "mock-mistral-key",
			models: [
				{ id: "mistral-mock-small", reasoning: false, cost, contextWindow: 128000, maxTokens: 8192 },
				// pi-ai sends reasoning_effort to these ids and prompt_mode "reasoning" to other reasoning models.
				{ id: "mistral-small-latest", reasoning: true, cost, contextWindow: 128000, maxTokens: 8192 },
				{ id: "magistral-mock", reasoning: true, cost, contextWindow: 128000, maxTokens: 8192 },
			],
		},
		{
			name: "mock-azure",
			api: "azure-openai-responses",
			apiKey: "mock-azure-key",
			models: [{ id: "gpt-mock-azure", reasoning: true, cost, contextWindow: 200000, maxTokens: 16384 }],
		},
		{
			name: "mock-anthropic",
			api: "anthropic-messages",
			apiKey: "mock-anthropic-key",
			models: [
				// "sonnet-4-6" in the id switches pi-ai to adaptive thinking (output_config.effort).
				// pi-ai 1.x reads compat.forceAdaptiveThinking instead (0.73.1 ignores the key).
				{
					id: "claude-mock-sonnet-4-6",
					reasoning: true,
					cost,
					contextWindow: 200000,
					maxTokens: 32000,
					compat: { forceAdaptiveThinking: true },
				},
				// Any other id uses budget thinking (thinking.budget_tokens).
				{ id: "claude-mock-haiku", reasoning: true, cost, contextWindow: 200000, maxTokens: 32000 },
			],
		},
		{
			name: "mock-google",
			api: "google-generative-ai",
			apiKey: "mock-google-key",
			models: [
				// "gemini-3-pro" in the id switches pi-ai to thinkingLevel; other ids use thinkingBudget.
				{ id: "gemini-3-pro-mock", reasoning: true, cost, contextWindow: 1000000, maxTokens: 16384 },
				{ id: "gemini-2.5-flash-mock", reasoning: true, cost, contextWindow: 1000000, maxTokens: 16384 },
			],
		},
	];
}

// ---------------------------------------------------------------------------------------------
// small JSON helpers (request bodies are unknown; narrow defensively)
// ---------------------------------------------------------------------------------------------

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
	return Array.isArray(value) ? value : [];
}

function asString(value: unknown): string | undefined {
	return typeof value === "string" ? value : undefined;
}

function get(value: unknown, ...path: string[]): unknown {
	let current = value;
	for (const key of path) {
		if (!isObject(current)) return undefined;
		current = current[key];
	}
	return current;
}

/** Text from an OpenAI/Anthropic style content value: a string or an array of {type, text} parts. */
function contentText(content: unknown, textTypes: readonly string[]): string | undefined {
	if (typeof content === "string") return content;
	const texts = asArray(content)
		.filter((part) => isObject(part) && textTypes.includes(String(part.type)) && typeof part.text === "string")
		.map((part) => String(get(part, "text")));
	return texts.length > 0 ? texts.join("\n") : undefined;
}

// ---------------------------------------------------------------------------------------------
// request analysis per API
// ---------------------------------------------------------------------------------------------

interface RequestInfo {
	model: string;
	effort: string | undefined;
	toolNames: string[];
	webSearch: RecordedRequest["webSearch"];
	promptCacheKey: string | undefined;
	promptCacheRetention: string | null | undefined;
	lastUserText: string | undefined;
	toolResults: MockToolResult[];
}

function cacheRetention(body: unknown): string | null | undefined {
	const value = get(body, "prompt_cache_retention");
	if (value === null) return null;
	return asString(value);
}

function analyzeCompletions(body: unknown): RequestInfo {
	const tools = asArray(get(body, "tools"));
	const messages = asArray(get(body, "messages"));
	const webSearchOptions = get(body, "web_search_options");
	const hostedSearch = tools.find((t) => isObject(t) && String(t.type).startsWith("web_search"));
	let lastAssistant = -1;
	let lastUserText: string | undefined;
	messages.forEach((message, i) => {
		if (get(message, "role") === "assistant") lastAssistant = i;
		if (get(message, "role") === "user") {
			const text = contentText(get(message, "content"), ["text"]);
			if (text !== undefined) lastUserText = text;
		}
	});
	const callNames = new Map<string, string>();
	for (const call of asArray(get(messages[lastAssistant], "tool_calls"))) {
		const id = asString(get(call, "id"));
		const name = asString(get(call, "function", "name"));
		if (id && name) callNames.set(id, name);
	}
	const toolResults = messages
		.slice(lastAssistant + 1)
		.filter((m) => get(m, "role") === "tool")
		.map((m) => ({
			name: callNames.get(String(get(m, "tool_call_id"))) ?? asString(get(m, "name")),
			text: contentText(get(m, "content"), ["text"]) ?? "",
		}));
	return {
		model: asString(get(body, "model")) ?? "",
		effort: completionsEffort(body),
		toolNames: tools
			.filter((t) => get(t, "type") === "function")
			.map((t) => asString(get(t, "function", "name")))
			.filter((n): n is string => n !== undefined),
		webSearch: isObject(hostedSearch) ? hostedSearch : isObject(webSearchOptions) ? webSearchOptions : undefined,
		promptCacheKey: asString(get(body, "prompt_cache_key")),
		promptCacheRetention: cacheRetention(body),
		lastUserText,
		toolResults,
	};
}

function analyzeResponses(body: unknown): RequestInfo {
	const tools = asArray(get(body, "tools"));
	const input = get(body, "input");
	const items = typeof input === "string" ? [{ role: "user", content: input }] : asArray(input);
	const hostedSearch = tools.find((t) => isObject(t) && String(t.type).startsWith("web_search"));
	let lastAssistant = -1;
	let lastUserText: string | undefined;
	const callNames = new Map<string, string>();
	items.forEach((item, i) => {
		const type = get(item, "type");
		const role = get(item, "role");
		if (role === "assistant" || type === "function_call" || type === "reasoning") lastAssistant = i;
		if (type === "function_call") {
			const callId = asString(get(item, "call_id"));
			const name = asString(get(item, "name"));
			if (callId && name) callNames.set(callId, name);
		}
		if (role === "user") {
			const text = contentText(get(item, "content"), ["input_text", "text"]);
			if (text !== undefined) lastUserText = text;
		}
	});
	const toolResults = items
		.slice(lastAssistant + 1)
		.filter((item) => get(item, "type") === "function_call_output")
		.map((item) => {
			const output = get(item, "output");
			return {
				name: callNames.get(String(get(item, "call_id"))),
				text: contentText(output, ["input_text", "output_text", "text"]) ?? "",
			};
		});
	return {
		model: asString(get(body, "model")) ?? "",
		effort: asString(get(body, "reasoning", "effort")),
		toolNames: tools
			.filter((t) => get(t, "type") === "function")
			.map((t) => asString(get(t, "name")))
			.filter((n): n is string => n !== undefined),
		webSearch: isObject(hostedSearch) ? hostedSearch : undefined,
		promptCacheKey: asString(get(body, "prompt_cache_key")),
		promptCacheRetention: cacheRetention(body),
		lastUserText,
		toolResults,
	};
}

function analyzeAnthropic(body: unknown): RequestInfo {
	const tools = asArray(get(body, "tools"));
	const messages = asArray(get(body, "messages"));
	const hostedSearch = tools.find((t) => isObject(t) && String(t.type).startsWith("web_search"));
	let lastAssistant = -1;
	let lastUserText: string | undefined;
	messages.forEach((message, i) => {
		if (get(message, "role") === "assistant") lastAssistant = i;
		if (get(message, "role") === "user") {
			const text = contentText(get(message, "content"), ["text"]);
			if (text !== undefined) lastUserText = text;
		}
	});
	const callNames = new Map<string, string>();
	for (const block of asArray(get(messages[lastAssistant], "content"))) {
		const id = asString(get(block, "id"));
		const name = asString(get(block, "name"));
		if (get(block, "type") === "tool_use" && id && name) callNames.set(id, name);
	}
	const toolResults: MockToolResult[] = [];
	for (const message of messages.slice(lastAssistant + 1)) {
		for (const block of asArray(get(message, "content"))) {
			if (get(block, "type") !== "tool_result") continue;
			toolResults.push({
				name: callNames.get(String(get(block, "tool_use_id"))),
				text: contentText(get(block, "content"), ["text"]) ?? "",
				isError: get(block, "is_error") === true,
			});
		}
	}
	const thinking = get(body, "thinking");
	const budget = get(thinking, "budget_tokens");
	const effort =
		asString(get(body, "output_config", "effort")) ??
		(get(thinking, "type") === "enabled" && typeof budget === "number" ? `budget:${budget}` : undefined);
	return {
		model: asString(get(body, "model")) ?? "",
		effort,
		toolNames: tools
			.filter((t) => isObject(t) && "input_schema" in t)
			.map((t) => asString(get(t, "name")))
			.filter((n): n is string => n !== undefined),
		webSearch: isObject(hostedSearch) ? hostedSearch : undefined,
		promptCacheKey: undefined,
		promptCacheRetention: undefined,
		lastUserText,
		toolResults,
	};
}

function analyzeGoogle(body: unknown, modelFromPath: string): RequestInfo {
	const tools = asArray(get(body, "tools"));
	const contents = asArray(get(body, "contents"));
	let lastAssistant = -1;
	let lastUserText: string | undefined;
	contents.forEach((content, i) => {
		if (get(content, "role") === "model") lastAssistant = i;
		if (get(content, "role") === "user") {
			const texts = asArray(get(content, "parts"))
				.map((part) => asString(get(part, "text")))
				.filter((t): t is string => t !== undefined);
			if (texts.length > 0) lastUserText = texts.join("\n");
		}
	});
	const toolResults: MockToolResult[] = [];
	for (const content of contents.slice(lastAssistant + 1)) {
		for (const part of asArray(get(content, "parts"))) {
			const response = get(part, "functionResponse");
			if (!isObject(response)) continue;
			const payload = response.response;
			const isError = isObject(payload) && "error" in payload;
			const value = isObject(payload) ? (isError ? payload.error : payload.output) : payload;
			toolResults.push({
				name: asString(response.name),
				text: typeof value === "string" ? value : JSON.stringify(value ?? ""),
				isError,
			});
		}
	}
	const thinkingConfig = get(body, "generationConfig", "thinkingConfig") ?? get(body, "thinkingConfig");
	const level = asString(get(thinkingConfig, "thinkingLevel"));
	const budget = get(thinkingConfig, "thinkingBudget");
	const search = tools.find((t) => isObject(t) && ("googleSearch" in t || "google_search" in t));
	const searchConfig = isObject(search) ? (search.googleSearch ?? search.google_search) : undefined;
	return {
		model: modelFromPath,
		effort: level ?? (typeof budget === "number" ? `budget:${budget}` : undefined),
		toolNames: tools.flatMap((t) =>
			asArray(get(t, "functionDeclarations"))
				.map((d) => asString(get(d, "name")))
				.filter((n): n is string => n !== undefined),
		),
		webSearch: isObject(search) ? (isObject(searchConfig) ? searchConfig : {}) : undefined,
		promptCacheKey: undefined,
		promptCacheRetention: undefined,
		lastUserText,
		toolResults,
	};
}

// ---------------------------------------------------------------------------------------------
// SSE generation per API
// ---------------------------------------------------------------------------------------------

function uid(): string {
	return randomBytes(6).toString("hex");
}

/** Splits text into up to three roughly equal chunks (never splitting a code point). */
function chunks(text: string, parts = 3): string[] {
	const chars = Array.from(text);
	if (chars.length === 0) return [];
	const size = Math.max(1, Math.ceil(chars.length / parts));
	const out: string[] = [];
	for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(""));
	return out;
}

function usageOf(reply: MockReply): Required<MockUsage> {
	return { ...DEFAULT_USAGE, ...reply.usage, cacheRead: reply.usage?.cacheRead ?? 0 };
}

function dataFrame(data: unknown): string {
	return `data: ${JSON.stringify(data)}\n\n`;
}

function namedFrame(event: string, data: unknown): string {
	return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Chat Completions' `reasoning_effort` (or `reasoning.effort`); Mistral's reasoning models may send `prompt_mode`. */
function completionsEffort(body: unknown): string | undefined {
	const effort = asString(get(body, "reasoning_effort")) ?? asString(get(body, "reasoning", "effort"));
	const promptMode = asString(get(body, "prompt_mode"));
	return effort ?? (promptMode ? `prompt_mode:${promptMode}` : undefined);
}

/** The `chat.completion.chunk` framing Chat Completions and Mistral share: the chunk base and a one-choice chunk. */
function chatChunks(idPrefix: string, model: string, choiceExtra: JsonObject) {
	const base = {
		id: `${idPrefix}${uid()}`,
		object: "chat.completion.chunk",
		created: Math.floor(Date.now() / 1000),
		model,
	};
	const chunk = (delta: JsonObject, finishReason: string | null = null) =>
		dataFrame({ ...base, choices: [{ index: 0, delta, ...choiceExtra, finish_reason: finishReason }] });
	return { base, chunk };
}

/**
 * Mistral's chat stream: the Chat Completions chunk shape, but thinking comes as typed content parts and each tool
 * call arrives whole in one chunk (the Mistral SDK rejects a tool-call delta without its function name).
 */
function mistralEvents(reply: MockReply, model: string): string[] {
	const usage = usageOf(reply);
	const { base, chunk } = chatChunks("mistral-", model, {});
	const events = [chunk({ role: "assistant", content: "" })];
	for (const part of chunks(reply.thinking ?? "")) {
		events.push(chunk({ content: [{ type: "thinking", thinking: [{ type: "text", text: part }] }] }));
	}
	for (const part of chunks(reply.text ?? "")) events.push(chunk({ content: part }));
	(reply.toolCalls ?? []).forEach((call, index) => {
		const id = `${uid()}${index}`.slice(0, 9);
		const fn = { name: call.name, arguments: JSON.stringify(call.arguments) };
		events.push(chunk({ tool_calls: [{ index, id, type: "function", function: fn }] }));
	});
	const finish = reply.toolCalls?.length ? "tool_calls" : reply.stopReason === "length" ? "length" : "stop";
	const total = usage.input + usage.cacheRead + usage.output;
	events.push(
		dataFrame({
			...base,
			choices: [{ index: 0, delta: {}, finish_reason: finish }],
			usage: { prompt_tokens: usage.input + usage.cacheRead, completion_tokens: usage.output, total_tokens: total },
		}),
	);
	events.push("data: [DONE]\n\n");
	return events;
}

function completionsEvents(reply: MockReply, model: string): string[] {
	const usage = usageOf(reply);
	const { base, chunk } = chatChunks("chatcmpl-", model, { logprobs: null });
	const events = [chunk({ role: "assistant", content: "" })];
	for (const part of chunks(reply.thinking ?? "")) events.push(chunk({ reasoning_content: part }));
	for (const part of chunks(reply.text ?? "")) events.push(chunk({ content: part }));
	(reply.toolCalls ?? []).forEach((call, index) => {
		const id = `call_${uid()}${index}`;
		events.push(chunk({ tool_calls: [{ index, id, type: "function", function: { name: call.name, arguments: "" } }] }));
		for (const part of chunks(JSON.stringify(call.arguments), 2)) {
			events.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }));
		}
	});
	const finish = reply.toolCalls?.length ? "tool_calls" : reply.stopReason === "length" ? "length" : "stop";
	events.push(chunk({}, finish));
	events.push(
		dataFrame({
			...base,
			choices: [],
			usage: {
				prompt_tokens: usage.input + usage.cacheRead,
				completion_tokens: usage.output,
				total_tokens: usage.input + usage.cacheRead + usage.output,
				prompt_tokens_details: { cached_tokens: usage.cacheRead },
			},
		}),
	);
	events.push("data: [DONE]\n\n");
	return events;
}

function responsesEvents(reply: MockReply, model: string): string[] {
	const usage = usageOf(reply);
	const responseId = `resp_${uid()}`;
	let sequence = 0;
	const events: string[] = [];
	const emit = (type: string, data: JsonObject) => {
		events.push(namedFrame(type, { type, sequence_number: sequence++, ...data }));
	};
	const response = (status: string, output: unknown[]) => ({
		id: responseId,
		object: "response",
		created_at: Math.floor(Date.now() / 1000),
		status,
		model,
		output,
	});
	const output: unknown[] = [];
	emit("response.created", { response: response("in_progress", []) });
	emit("response.in_progress", { response: response("in_progress", []) });
	if (reply.thinking) {
		const id = `rs_${uid()}`;
		const outputIndex = output.length;
		emit("response.output_item.added", { output_index: outputIndex, item: { type: "reasoning", id, summary: [] } });
		emit("response.reasoning_summary_part.added", {
			item_id: id,
			output_index: outputIndex,
			summary_index: 0,
			part: { type: "summary_text", text: "" },
		});
		for (const part of chunks(reply.thinking)) {
			emit("response.reasoning_summary_text.delta", {
				item_id: id,
				output_index: outputIndex,
				summary_index: 0,
				delta: part,
			});
		}
		emit("response.reasoning_summary_text.done", {
			item_id: id,
			output_index: outputIndex,
			summary_index: 0,
			text: reply.thinking,
		});
		const summaryPart = { type: "summary_text", text: reply.thinking };
		emit("response.reasoning_summary_part.done", {
			item_id: id,
			output_index: outputIndex,
			summary_index: 0,
			part: summaryPart,
		});
		const item = { type: "reasoning", id, summary: [summaryPart], encrypted_content: `enc_${uid()}` };
		emit("response.output_item.done", { output_index: outputIndex, item });
		output.push(item);
	}
	if (reply.text) {
		const id = `msg_${uid()}`;
		const outputIndex = output.length;
		emit("response.output_item.added", {
			output_index: outputIndex,
			item: { type: "message", id, role: "assistant", status: "in_progress", content: [] },
		});
		emit("response.content_part.added", {
			item_id: id,
			output_index: outputIndex,
			content_index: 0,
			part: { type: "output_text", text: "", annotations: [] },
		});
		for (const part of chunks(reply.text)) {
			emit("response.output_text.delta", { item_id: id, output_index: outputIndex, content_index: 0, delta: part });
		}
		emit("response.output_text.done", { item_id: id, output_index: outputIndex, content_index: 0, text: reply.text });
		const textPart = { type: "output_text", text: reply.text, annotations: [] };
		emit("response.content_part.done", { item_id: id, output_index: outputIndex, content_index: 0, part: textPart });
		const item = { type: "message", id, role: "assistant", status: "completed", content: [textPart] };
		emit("response.output_item.done", { output_index: outputIndex, item });
		output.push(item);
	}
	for (const call of reply.toolCalls ?? []) {
		const id = `fc_${uid()}`;
		const callId = `call_${uid()}`;
		const outputIndex = output.length;
		const args = JSON.stringify(call.arguments);
		emit("response.output_item.added", {
			output_index: outputIndex,
			item: { type: "function_call", id, call_id: callId, name: call.name, arguments: "", status: "in_progress" },
		});
		for (const part of chunks(args, 2)) {
			emit("response.function_call_arguments.delta", { item_id: id, output_index: outputIndex, delta: part });
		}
		emit("response.function_call_arguments.done", { item_id: id, output_index: outputIndex, arguments: args });
		const item = { type: "function_call", id, call_id: callId, name: call.name, arguments: args, status: "completed" };
		emit("response.output_item.done", { output_index: outputIndex, item });
		output.push(item);
	}
	const status = reply.stopReason === "length" && !reply.toolCalls?.length ? "incomplete" : "completed";
	emit("response.completed", {
		response: {
			...response(status, output),
			usage: {
				input_tokens: usage.input + usage.cacheRead,
				input_tokens_details: { cached_tokens: usage.cacheRead },
				output_tokens: usage.output,
				output_tokens_details: { reasoning_tokens: 0 },
				total_tokens: usage.input + usage.cacheRead + usage.output,
			},
		},
	});
	return events;
}

function anthropicEvents(reply: MockReply, model: string): string[] {
	const usage = usageOf(reply);
	const events: string[] = [];
	const emit = (type: string, data: JsonObject) => {
		events.push(namedFrame(type, { type, ...data }));
	};
	emit("message_start", {
		message: {
			id: `msg_${uid()}`,
			type: "message",
			role: "assistant",
			model,
			content: [],
			stop_reason: null,
			stop_sequence: null,
			usage: {
				input_tokens: usage.input,
				cache_creation_input_tokens: 0,
				cache_read_input_tokens: usage.cacheRead,
				output_tokens: 1,
			},
		},
	});
	emit("ping", {});
	let index = 0;
	if (reply.thinking) {
		emit("content_block_start", { index, content_block: { type: "thinking", thinking: "", signature: "" } });
		for (const part of chunks(reply.thinking)) {
			emit("content_block_delta", { index, delta: { type: "thinking_delta", thinking: part } });
		}
		emit("content_block_delta", { index, delta: { type: "signature_delta", signature: `mocksig_${uid()}` } });
		emit("content_block_stop", { index });
		index++;
	}
	if (reply.text) {
		emit("content_block_start", { index, content_block: { type: "text", text: "" } });
		for (const part of chunks(reply.text)) {
			emit("content_block_delta", { index, delta: { type: "text_delta", text: part } });
		}
		emit("content_block_stop", { index });
		index++;
	}
	for (const call of reply.toolCalls ?? []) {
		emit("content_block_start", {
			index,
			content_block: { type: "tool_use", id: `toolu_${uid()}${index}`, name: call.name, input: {} },
		});
		for (const part of chunks(JSON.stringify(call.arguments), 2)) {
			emit("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: part } });
		}
		emit("content_block_stop", { index });
		index++;
	}
	const stopReason = reply.toolCalls?.length ? "tool_use" : reply.stopReason === "length" ? "max_tokens" : "end_turn";
	emit("message_delta", {
		delta: { stop_reason: stopReason, stop_sequence: null },
		usage: { output_tokens: usage.output },
	});
	emit("message_stop", {});
	return events;
}

function googleEvents(reply: MockReply, model: string): string[] {
	const usage = usageOf(reply);
	const responseId = uid();
	const frame = (parts: JsonObject[], final: boolean) => {
		const candidate: JsonObject = { content: { parts, role: "model" }, index: 0 };
		const data: JsonObject = { candidates: [candidate], modelVersion: model, responseId };
		if (final) {
			candidate.finishReason = reply.stopReason === "length" && !reply.toolCalls?.length ? "MAX_TOKENS" : "STOP";
			data.usageMetadata = {
				promptTokenCount: usage.input + usage.cacheRead,
				candidatesTokenCount: usage.output,
				totalTokenCount: usage.input + usage.cacheRead + usage.output,
				...(usage.cacheRead > 0 ? { cachedContentTokenCount: usage.cacheRead } : {}),
			};
		}
		return `data: ${JSON.stringify(data)}\r\n\r\n`;
	};
	const signature = Buffer.from(`mock-signature-${uid()}`).toString("base64");
	const events: string[] = [];
	const thinking = chunks(reply.thinking ?? "");
	thinking.forEach((part, i) => {
		events.push(frame([{ text: part, thought: true, ...(i === 0 ? { thoughtSignature: signature } : {}) }], false));
	});
	for (const part of chunks(reply.text ?? "")) events.push(frame([{ text: part }], false));
	const calls = (reply.toolCalls ?? []).map((call) => ({ functionCall: { name: call.name, args: call.arguments } }));
	events.push(frame(calls, true));
	return events;
}

function replyEvents(api: MockApi, reply: MockReply, model: string): string[] {
	switch (api) {
		case "openai-completions":
			return completionsEvents(reply, model);
		case "mistral-conversations":
			return mistralEvents(reply, model);
		case "openai-responses":
		case "azure-openai-responses":
			return responsesEvents(reply, model);
		case "anthropic-messages":
			return anthropicEvents(reply, model);
		case "google-generative-ai":
			return googleEvents(reply, model);
	}
}

// ---------------------------------------------------------------------------------------------
// error bodies per API
// ---------------------------------------------------------------------------------------------

function errorBody(api: MockApi | undefined, status: number, message: string): JsonObject {
	if (api === "anthropic-messages") {
		const type =
			status === 529
				? "overloaded_error"
				: status === 429
					? "rate_limit_error"
					: status === 401
						? "authentication_error"
						: status === 404
							? "not_found_error"
							: status >= 500
								? "api_error"
								: "invalid_request_error";
		return { type: "error", error: { type, message } };
	}
	if (api === "google-generative-ai") {
		const statusName =
			status === 429
				? "RESOURCE_EXHAUSTED"
				: status === 401
					? "UNAUTHENTICATED"
					: status === 404
						? "NOT_FOUND"
						: status === 503
							? "UNAVAILABLE"
							: status >= 500
								? "INTERNAL"
								: "INVALID_ARGUMENT";
		return { error: { code: status, message, status: statusName } };
	}
	const type =
		status === 429
			? "rate_limit_exceeded"
			: status === 401
				? "invalid_request_error"
				: status >= 500
					? "server_error"
					: "invalid_request_error";
	return { error: { message, type, param: null, code: status === 429 ? "rate_limit_exceeded" : null } };
}

function defaultErrorMessage(status: number): string {
	if (status === 429) return "Rate limit exceeded (mock)";
	if (status === 529) return "Overloaded (mock)";
	if (status >= 500) return "Internal server error (mock)";
	return `HTTP ${status} (mock)`;
}

// ---------------------------------------------------------------------------------------------
// server
// ---------------------------------------------------------------------------------------------

function pathMatches(api: MockApi, rest: string): { ok: boolean; model?: string } {
	switch (api) {
		case "openai-completions":
		case "mistral-conversations":
			return { ok: rest.endsWith("/chat/completions") };
		case "openai-responses":
		case "azure-openai-responses":
			return { ok: rest.endsWith("/responses") };
		case "anthropic-messages":
			return { ok: rest.endsWith("/v1/messages") };
		case "google-generative-ai": {
			const match = /\/models\/([^/]+):streamGenerateContent$/.exec(rest);
			const model = match?.[1];
			return model === undefined ? { ok: false } : { ok: true, model: safeDecode(model) };
		}
	}
}

function safeDecode(text: string): string {
	try {
		return decodeURIComponent(text);
	} catch {
		return text;
	}
}

function extractApiKey(api: MockApi | undefined, headers: Record<string, string>, url: URL): string | undefined {
	const bearer = headers.authorization?.replace(/^Bearer\s+/i, "");
	if (api === "anthropic-messages") return headers["x-api-key"] ?? bearer;
	if (api === "google-generative-ai") return headers["x-goog-api-key"] ?? url.searchParams.get("key") ?? bearer;
	if (api === "azure-openai-responses") return headers["api-key"] ?? bearer;
	if (api === undefined) return bearer ?? headers["x-api-key"] ?? headers["x-goog-api-key"];
	return bearer;
}

function readBody(req: IncomingMessage): Promise<string> {
	return new Promise((resolve) => {
		const parts: Buffer[] = [];
		req.on("data", (chunk: Buffer) => parts.push(chunk));
		req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
		req.on("error", () => resolve(Buffer.concat(parts).toString("utf8")));
		req.on("close", () => resolve(Buffer.concat(parts).toString("utf8")));
	});
}

const SSE_HEADERS = {
	"content-type": "text/event-stream; charset=utf-8",
	"cache-control": "no-cache",
	connection: "keep-alive",
};

export async function startMockLlm(opts: { providers: MockProvider[]; script: MockScript }): Promise<MockLlm> {
	const providers = new Map(opts.providers.map((p) => [p.name, p]));
	const requests: RecordedRequest[] = [];
	let script: MockScript = opts.script;
	let scriptPosition = 0;

	const nextAnswer = (recorded: RecordedRequest): MockAnswer => {
		if (typeof script === "function") return script(recorded, requests);
		const answer = script[scriptPosition];
		if (answer === undefined) return DONE_REPLY;
		scriptPosition++;
		return answer;
	};

	const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
		if (res.headersSent || res.destroyed) return;
		const text = JSON.stringify(body);
		res.writeHead(status, {
			"content-type": "application/json",
			"content-length": Buffer.byteLength(text),
			...headers,
		});
		res.end(text);
	};

	const write = (res: ServerResponse, chunk: string) =>
		new Promise<void>((resolve) => {
			if (res.destroyed || res.writableEnded) return resolve();
			const done = () => {
				res.off("close", done);
				resolve();
			};
			res.on("close", done);
			res.write(chunk, done);
		});

	const sleep = (res: ServerResponse, ms: number) =>
		new Promise<void>((resolve) => {
			if (res.destroyed) return resolve();
			const timer = setTimeout(done, ms);
			function done() {
				clearTimeout(timer);
				res.off("close", done);
				resolve();
			}
			res.on("close", done);
		});

	const stream = async (
		res: ServerResponse,
		events: string[],
		delayMs: number,
	): Promise<RecordedRequest["outcome"]> => {
		res.writeHead(200, SSE_HEADERS);
		res.flushHeaders();
		for (const event of events) {
			if (delayMs > 0) await sleep(res, delayMs);
			if (res.destroyed) return "client-closed";
			await write(res, event);
		}
		if (res.destroyed) return "client-closed";
		res.end();
		return "completed";
	};

	const cut = async (
		res: ServerResponse,
		events: string[],
		afterEvents: number,
	): Promise<RecordedRequest["outcome"]> => {
		res.writeHead(200, SSE_HEADERS);
		res.flushHeaders();
		for (const event of events.slice(0, Math.max(0, afterEvents))) await write(res, event);
		// Let the bytes leave before killing the connection mid-stream.
		await sleep(res, 20);
		res.socket?.destroy();
		res.destroy();
		return "cut";
	};

	const answer = async (
		res: ServerResponse,
		recorded: RecordedRequest,
		given: MockAnswer,
	): Promise<RecordedRequest["outcome"]> => {
		const api = recorded.api;
		if (!isFault(given)) return stream(res, replyEvents(api, given, recorded.model), 0);
		switch (given.fault) {
			case "http": {
				const headers: Record<string, string> = {};
				if (given.retryAfterSeconds !== undefined) headers["retry-after"] = String(given.retryAfterSeconds);
				const message = given.message ?? defaultErrorMessage(given.status);
				sendJson(res, given.status, errorBody(api, given.status, message), headers);
				return "completed";
			}
			case "cut": {
				const events = replyEvents(api, { text: "This stream will be cut off before it completes." }, recorded.model);
				return cut(res, events, given.afterEvents ?? 2);
			}
			case "slow":
				return stream(res, replyEvents(api, given.reply, recorded.model), given.delayMs);
		}
	};

	const reject = (res: ServerResponse, recorded: RecordedRequest, status: number, reason: string, api?: MockApi) => {
		recorded.rejected = { status, reason };
		recorded.outcome = "rejected";
		sendJson(res, status, errorBody(api, status, reason));
	};

	const handle = async (req: IncomingMessage, res: ServerResponse) => {
		const raw = await readBody(req);
		const url = new URL(req.url ?? "/", "http://127.0.0.1");
		const headers: Record<string, string> = {};
		for (const [key, value] of Object.entries(req.headers)) {
			if (value !== undefined) headers[key.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
		}
		const segments = url.pathname.split("/");
		const providerName = safeDecode(segments[1] ?? "");
		const provider = providers.get(providerName);
		const rest = `/${segments.slice(2).join("/")}`;
		let body: unknown = raw;
		let parsed = false;
		try {
			body = JSON.parse(raw);
			parsed = true;
		} catch {
			// keep raw text
		}
		const match = provider ? pathMatches(provider.api, rest) : { ok: false };
		// Unknown providers are recorded as openai-completions (the api field is only meaningful for known ones).
		const api = provider?.api ?? "openai-completions";
		const info: RequestInfo = !parsed
			? analyzeCompletions(undefined)
			: api === "openai-completions" || api === "mistral-conversations"
				? analyzeCompletions(body)
				: api === "openai-responses" || api === "azure-openai-responses"
					? analyzeResponses(body)
					: api === "anthropic-messages"
						? analyzeAnthropic(body)
						: analyzeGoogle(body, match.model ?? "");
		const recorded: RecordedRequest = {
			index: requests.length,
			provider: providerName,
			api,
			path: url.pathname + url.search,
			apiKey: extractApiKey(provider?.api, headers, url),
			headers,
			body,
			...info,
		};
		requests.push(recorded);

		if (!provider) return reject(res, recorded, 404, `mock: unknown provider "${providerName}"`);
		if (req.method !== "POST" || !match.ok) {
			return reject(res, recorded, 404, `mock: no ${provider.api} route for ${req.method} ${url.pathname}`, api);
		}
		if (!parsed || !isObject(body)) return reject(res, recorded, 400, "mock: request body is not a JSON object", api);
		if (recorded.apiKey !== provider.apiKey) {
			return reject(res, recorded, 401, `mock: wrong API key for provider "${provider.name}"`, api);
		}
		let given: MockAnswer;
		try {
			given = nextAnswer(recorded);
		} catch (error) {
			const message = error instanceof Error ? error.message : String(error);
			return reject(res, recorded, 500, `mock: script threw: ${message}`, api);
		}
		recorded.answer = given;
		recorded.outcome = await answer(res, recorded, given);
	};

	const inFlight = new Set<Promise<void>>();
	const settled = async (): Promise<void> => {
		while (inFlight.size > 0) await Promise.all([...inFlight]);
	};

	const server = createServer((req, res) => {
		const work = handle(req, res)
			.catch((error: unknown) => {
				try {
					const message = error instanceof Error ? error.message : String(error);
					if (!res.headersSent) sendJson(res, 500, errorBody(undefined, 500, `mock: internal error: ${message}`));
					else res.destroy();
				} catch {
					// never throw out of the handler
				}
			})
			.finally(() => inFlight.delete(work));
		inFlight.add(work);
	});
	server.on("clientError", (_error, socket) => {
		socket.destroy();
	});

	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			server.off("error", reject);
			resolve();
		});
	});
	const { port } = server.address() as AddressInfo;
	const url = `http://127.0.0.1:${port}`;

	return {
		url,
		providers: opts.providers,
		baseUrl(name: string): string {
			const provider = providers.get(name);
			if (!provider) throw new Error(`mock-llm: unknown provider "${name}"`);
			return mockBaseUrl(url, provider);
		},
		requests,
		setScript(next: MockScript): void {
			script = next;
			scriptPosition = 0;
		},
		settled,
		close(): Promise<void> {
			return new Promise((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections();
			});
		},
	};
}
