/**
 * Proves the mock LLM server and the pi harness against the REAL pi binary (no plan-stepdown extension).
 * Everything runs against 127.0.0.1 in throwaway sandboxes; no real ~/.pi, network or API key is touched.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
	exampleProviders,
	type MockApi,
	type MockLlm,
	type RecordedRequest,
	startMockLlm,
} from "../helpers/mock-llm.js";
import {
	FAST_RETRY_SETTINGS,
	makeSandbox,
	type PiEvent,
	parseJsonLines,
	piEnv,
	readSessionEntries,
	runPi,
	type Sandbox,
	type SandboxOptions,
	startPiRpc,
} from "../helpers/pi-harness.js";

interface ApiCase {
	api: MockApi;
	provider: string;
	model: string;
	path: string;
	apiKey: string;
}

const CASES: ApiCase[] = [
	{
		api: "openai-completions",
		provider: "mock-chat",
		model: "chat-mini",
		path: "/mock-chat/v1/chat/completions",
		apiKey: "mock-chat-key",
	},
	{
		api: "openai-responses",
		provider: "mock-oai",
		model: "gpt-mock-mini",
		path: "/mock-oai/v1/responses",
		apiKey: "mock-oai-key",
	},
	{
		api: "mistral-conversations",
		provider: "mock-mistral",
		model: "mistral-mock-small",
		path: "/mock-mistral/v1/chat/completions",
		apiKey: "mock-mistral-key",
	},
	{
		api: "azure-openai-responses",
		provider: "mock-azure",
		model: "gpt-mock-azure",
		path: "/mock-azure/openai/v1/responses?api-version=v1",
		apiKey: "mock-azure-key",
	},
	{
		api: "anthropic-messages",
		provider: "mock-anthropic",
		model: "claude-mock-haiku",
		path: "/mock-anthropic/v1/messages",
		apiKey: "mock-anthropic-key",
	},
	{
		api: "google-generative-ai",
		provider: "mock-google",
		model: "gemini-2.5-flash-mock",
		path: "/mock-google/v1beta/models/gemini-2.5-flash-mock:streamGenerateContent?alt=sse",
		apiKey: "mock-google-key",
	},
];

let mock: MockLlm;
const sandboxes: Sandbox[] = [];

before(async () => {
	mock = await startMockLlm({ providers: exampleProviders(), script: [] });
});

after(async () => {
	await mock.close();
	for (const sandbox of sandboxes) sandbox.cleanup();
});

function sandbox(opts: SandboxOptions = {}): Sandbox {
	const created = makeSandbox({ mock, settings: { ...FAST_RETRY_SETTINGS }, ...opts });
	sandboxes.push(created);
	return created;
}

/** Requests recorded since `start` (an index into mock.requests). */
function since(start: number): RecordedRequest[] {
	return mock.requests.slice(start);
}

function field(value: unknown, ...path: string[]): unknown {
	let current = value;
	for (const key of path) {
		if (typeof current !== "object" || current === null) return undefined;
		current = (current as Record<string, unknown>)[key];
	}
	return current;
}

function modelArgs(c: Pick<ApiCase, "provider" | "model">): string[] {
	return ["--provider", c.provider, "--model", c.model];
}

for (const c of CASES) {
	test(`${c.api}: pi -p answers with the scripted text and sends the expected request`, async () => {
		const sb = sandbox();
		const start = mock.requests.length;
		mock.setScript([{ text: `Hello from ${c.provider}`, usage: { input: 42, output: 7, cacheRead: 3 } }]);

		const result = await runPi(sb, ["-p", "hello", ...modelArgs(c)]);

		assert.equal(result.code, 0, result.stderr);
		assert.equal(result.stdout.trim(), `Hello from ${c.provider}`);
		const requests = since(start);
		assert.equal(requests.length, 1);
		const [req] = requests;
		assert.ok(req);
		assert.equal(req.path, c.path);
		assert.equal(req.provider, c.provider);
		assert.equal(req.api, c.api);
		assert.equal(req.apiKey, c.apiKey);
		assert.equal(req.model, c.model);
		assert.equal(req.lastUserText, "hello");
		assert.deepEqual(req.toolResults, []);
		assert.deepEqual([...req.toolNames].sort(), ["bash", "edit", "read", "write"]);
		assert.equal(req.rejected, undefined);
		assert.equal(req.outcome, "completed");

		const [session] = readSessionEntries(sb);
		assert.ok(session);
		const header = session.entries[0];
		assert.equal(header?.type, "session");
		const modelChange = session.entries.find((e) => e.type === "model_change");
		assert.equal(modelChange?.provider, c.provider);
		assert.equal(modelChange?.modelId, c.model);
		const assistant = session.entries.at(-1);
		assert.equal(field(assistant, "message", "role"), "assistant");
		assert.equal(field(assistant, "message", "stopReason"), "stop");
		// pi-ai 0.73.1 reads no cache figure from Mistral: the whole prompt counts as input.
		const mistral = c.api === "mistral-conversations";
		assert.equal(field(assistant, "message", "usage", "input"), mistral ? 45 : 42);
		assert.equal(field(assistant, "message", "usage", "output"), 7);
		assert.equal(field(assistant, "message", "usage", "cacheRead"), mistral ? 0 : 3);

		// Only the Responses APIs (OpenAI's and Azure's) carry prompt_cache_key by default (= pi's session id); Chat
		// Completions only sends it for api.openai.com or PI_CACHE_RETENTION=long.
		const responses = c.api === "openai-responses" || c.api === "azure-openai-responses";
		assert.equal(req.promptCacheKey, responses ? header?.id : undefined);
	});
}

for (const c of CASES) {
	test(`${c.api}: a scripted write tool call runs and its result is sent back`, async () => {
		const sb = sandbox();
		const start = mock.requests.length;
		const file = `${c.provider}.txt`;
		mock.setScript((req) =>
			req.toolResults.length === 0
				? { text: "Writing it.", toolCalls: [{ name: "write", arguments: { path: file, content: `hi ${c.api}` } }] }
				: { text: "done" },
		);

		const result = await runPi(sb, ["-p", "create the file", ...modelArgs(c)]);

		assert.equal(result.code, 0, result.stderr);
		assert.equal(result.stdout.trim(), "done");
		assert.equal(readFileSync(join(sb.projectDir, file), "utf8"), `hi ${c.api}`);
		const requests = since(start);
		assert.equal(requests.length, 2);
		const second = requests[1];
		assert.equal(second?.lastUserText, "create the file");
		assert.equal(second?.toolResults.length, 1);
		assert.equal(second?.toolResults[0]?.name, "write");
		assert.match(second?.toolResults[0]?.text ?? "", /Successfully wrote/);
		assert.notEqual(second?.toolResults[0]?.isError, true);
	});
}

const EFFORT_CASES: { provider: string; model: string; effort: string }[] = [
	{ provider: "mock-chat", model: "chat-reasoner", effort: "high" },
	{ provider: "mock-oai", model: "gpt-mock", effort: "high" },
	{ provider: "mock-azure", model: "gpt-mock-azure", effort: "high" },
	{ provider: "mock-mistral", model: "mistral-small-latest", effort: "high" },
	{ provider: "mock-mistral", model: "magistral-mock", effort: "prompt_mode:reasoning" },
	{ provider: "mock-anthropic", model: "claude-mock-sonnet-4-6", effort: "high" },
	{ provider: "mock-anthropic", model: "claude-mock-haiku", effort: "budget:16384" },
	{ provider: "mock-google", model: "gemini-3-pro-mock", effort: "HIGH" },
	{ provider: "mock-google", model: "gemini-2.5-flash-mock", effort: "budget:24576" },
];

test("reasoning models with --thinking high record the effort as sent on the wire", async () => {
	const sb = sandbox();
	for (const c of EFFORT_CASES) {
		const start = mock.requests.length;
		mock.setScript([{ thinking: "Let me think.", text: `thought via ${c.model}` }]);
		const result = await runPi(sb, ["-p", "think hard", ...modelArgs(c), "--thinking", "high"]);
		assert.equal(result.code, 0, result.stderr);
		assert.equal(result.stdout.trim(), `thought via ${c.model}`);
		const requests = since(start);
		assert.equal(requests.length, 1, c.model);
		assert.equal(requests[0]?.effort, c.effort, c.model);
	}
	const thinkingBlocks = readSessionEntries(sb)
		.map((s) => field(s.entries.at(-1), "message", "content"))
		.map((content) => (Array.isArray(content) ? content.find((b) => field(b, "type") === "thinking") : undefined));
	assert.equal(thinkingBlocks.length, EFFORT_CASES.length);
	for (const block of thinkingBlocks) assert.equal(field(block, "thinking"), "Let me think.");
});

for (const c of CASES) {
	test(`${c.api}: a 429 is retried by pi and the second attempt succeeds`, async () => {
		const sb = sandbox();
		const start = mock.requests.length;
		mock.setScript([{ fault: "http", status: 429, retryAfterSeconds: 0 }, { text: "recovered" }]);

		const result = await runPi(sb, ["--mode", "json", "-p", "hello", ...modelArgs(c)]);

		assert.equal(result.code, 0, result.stderr);
		const requests = since(start);
		assert.equal(requests.length, 2);
		assert.deepEqual(requests[0]?.answer, { fault: "http", status: 429, retryAfterSeconds: 0 });
		const events = parseJsonLines(result.stdout);
		const retryStart = events.find((e) => e.type === "auto_retry_start");
		assert.match(String(retryStart?.errorMessage), /429/);
		const retryEnd = events.find((e) => e.type === "auto_retry_end");
		assert.equal(retryEnd?.success, true);
		const lastAssistant = events.filter((e) => e.type === "message_end").at(-1);
		assert.equal(field(lastAssistant, "message", "content", "0", "text"), "recovered");
		assert.equal(field(lastAssistant, "message", "stopReason"), "stop");
	});
}

test("--mode json emits JSON lines: session header, streaming deltas, agent_end", async () => {
	const sb = sandbox();
	mock.setScript([{ text: "streamed in json mode" }]);
	const result = await runPi(sb, ["--mode", "json", "hello", "--provider", "mock-oai", "--model", "gpt-mock-mini"]);

	assert.equal(result.code, 0, result.stderr);
	const events = parseJsonLines(result.stdout);
	assert.equal(events[0]?.type, "session");
	assert.ok(events.some((e) => e.type === "agent_start"));
	const deltas = events
		.filter((e) => e.type === "message_update" && field(e, "assistantMessageEvent", "type") === "text_delta")
		.map((e) => field(e, "assistantMessageEvent", "delta"));
	assert.ok(deltas.length > 1, "text arrives in several deltas");
	assert.equal(deltas.join(""), "streamed in json mode");
	assert.equal(events.at(-1)?.type, "agent_end");
});

test("a stream cut mid-response is retried by pi", async () => {
	const sb = sandbox();
	const start = mock.requests.length;
	mock.setScript([{ fault: "cut", afterEvents: 3 }, { text: "second try" }]);
	const result = await runPi(sb, ["-p", "hello", "--provider", "mock-anthropic", "--model", "claude-mock-haiku"]);

	assert.equal(result.code, 0, result.stderr);
	assert.equal(result.stdout.trim(), "second try");
	assert.deepEqual(
		since(start).map((r) => r.outcome),
		["cut", "completed"],
	);
});

test("rpc: a slow stream is aborted by the client and the mock stops cleanly", async () => {
	const sb = sandbox();
	const start = mock.requests.length;
	mock.setScript([
		{ fault: "slow", delayMs: 150, reply: { text: "one two three four five six seven eight nine ten" } },
	]);
	const rpc = startPiRpc(sb, ["--provider", "mock-oai", "--model", "gpt-mock-mini"]);
	try {
		const accepted = await rpc.request({ type: "prompt", message: "go slowly" });
		assert.equal(accepted.success, true);
		await rpc.waitFor((e) => e.type === "message_update" && field(e, "assistantMessageEvent", "type") === "text_delta");
		await rpc.request({ type: "abort" });
		const end = await rpc.waitFor((e) => e.type === "agent_end");
		const messages = field(end, "messages");
		const last = Array.isArray(messages) ? messages.at(-1) : undefined;
		assert.equal(field(last, "stopReason"), "aborted");
		await mock.settled();
		const requests = since(start);
		assert.equal(requests.length, 1);
		assert.equal(requests[0]?.outcome, "client-closed");
	} finally {
		const closed = await rpc.close();
		assert.notEqual(closed.code, null, `pi did not exit by itself: ${closed.stderr}`);
	}
});

test("rpc: extension UI sub-protocol round-trips and before_provider_request edits reach the wire", async () => {
	const sb = sandbox();
	const start = mock.requests.length;
	const rpc = startPiRpc(sb, ["--provider", "mock-oai", "--model", "gpt-mock-mini"], {
		extension: "test/mock/fixtures/probe-extension.ts",
		onUiRequest: (request) => (request.method === "select" ? { value: "blue" } : undefined),
	});
	try {
		const accepted = await rpc.request({ type: "prompt", message: "/probe-ask" });
		assert.equal(accepted.success, true);
		const select = await rpc.waitFor((e) => e.type === "extension_ui_request" && e.method === "select");
		assert.deepEqual(select.options, ["red", "blue"]);
		const notify = await rpc.waitFor((e) => e.type === "extension_ui_request" && e.method === "notify");
		assert.equal(notify.message, "picked:blue");
		assert.equal(since(start).length, 0, "an extension command does not call the LLM");

		mock.setScript([{ text: "searched" }]);
		const end: PiEvent = await rpc.prompt("look it up");
		assert.equal(end.type, "agent_end");
		const state = await rpc.request({ type: "get_state" });
		assert.equal(field(state, "data", "model", "id"), "gpt-mock-mini");
		const requests = since(start);
		assert.equal(requests.length, 1);
		assert.deepEqual(requests[0]?.webSearch, { type: "web_search", search_context_size: "low" });
	} finally {
		await rpc.close();
	}
});

test("mock: rejects bad requests with provider-shaped errors and still records them", async () => {
	const start = mock.requests.length;
	mock.setScript([]);
	const post = (path: string, body: string, headers: Record<string, string> = {}) =>
		fetch(`${mock.url}${path}`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
	const chat = "/mock-chat/v1/chat/completions";
	const auth = { authorization: "Bearer mock-chat-key" };

	const bad = await post(chat, "{not json", auth);
	assert.equal(bad.status, 400);
	const wrongKey = await post(chat, JSON.stringify({ model: "chat-mini", messages: [] }), {
		authorization: "Bearer nope",
	});
	assert.equal(wrongKey.status, 401);
	assert.ok(field(await wrongKey.json(), "error", "message"));
	const anthropicKey = await post("/mock-anthropic/v1/messages", JSON.stringify({ model: "m", messages: [] }), {
		"x-api-key": "wrong",
	});
	assert.equal(field(await anthropicKey.json(), "error", "type"), "authentication_error");
	const unknown = await post("/nobody/v1/chat/completions", "{}");
	assert.equal(unknown.status, 404);

	const exhausted = await post(
		chat,
		JSON.stringify({ model: "chat-mini", messages: [{ role: "user", content: "hi" }] }),
		auth,
	);
	assert.equal(exhausted.status, 200);
	const streamed = (await exhausted.text())
		.split("\n")
		.filter((line) => line.startsWith("data: {"))
		.map((line) => field(JSON.parse(line.slice(6)), "choices", "0", "delta", "content"))
		.filter((content) => typeof content === "string")
		.join("");
	assert.equal(streamed, "done");

	mock.setScript(() => {
		throw new Error("boom");
	});
	const threw = await post(chat, JSON.stringify({ model: "chat-mini", messages: [] }), auth);
	assert.equal(threw.status, 500);

	const recorded = since(start);
	assert.deepEqual(
		recorded.map((r) => r.rejected?.status ?? 200),
		[400, 401, 401, 404, 200, 500],
	);
	assert.equal(recorded[0]?.body, "{not json");
	assert.equal(recorded[4]?.lastUserText, "hi");
	assert.deepEqual(recorded[4]?.answer, { text: "done" });
});

test("harness: sandbox files and child environment are isolated", () => {
	const sb = sandbox({
		planConfig: { ladder: ["a"] },
		files: { "src/a.txt": "A" },
		settings: { defaultProvider: "x" },
	});
	const models = JSON.parse(readFileSync(join(sb.agentDir, "models.json"), "utf8")) as unknown;
	assert.equal(field(models, "providers", "mock-oai", "baseUrl"), `${mock.url}/mock-oai/v1`);
	assert.equal(field(models, "providers", "mock-anthropic", "baseUrl"), `${mock.url}/mock-anthropic`);
	assert.equal(field(models, "providers", "mock-google", "apiKey"), "mock-google-key");
	// The sandbox turns the review on rung 0 off for scenarios that do not set it (see makeSandbox).
	assert.deepEqual(JSON.parse(readFileSync(join(sb.projectDir, ".pi", "plan-stepdown.json"), "utf8")), {
		ladder: ["a"],
		review: { enabled: false },
	});
	assert.equal(readFileSync(join(sb.projectDir, "src", "a.txt"), "utf8"), "A");
	assert.ok(existsSync(join(sb.agentDir, "settings.json")));

	process.env.HARNESS_PROBE_API_KEY = "secret";
	process.env.HARNESS_PROBE_TOKEN = "secret";
	try {
		const env = piEnv(sb, { EXTRA: "1" });
		assert.equal(env.HARNESS_PROBE_API_KEY, undefined);
		assert.equal(env.HARNESS_PROBE_TOKEN, undefined);
		assert.equal(env.HOME, sb.homeDir);
		assert.equal(env.PI_CODING_AGENT_DIR, sb.agentDir);
		assert.equal(env.PI_OFFLINE, "1");
		assert.equal(env.EXTRA, "1");
		for (const key of Object.keys(env)) assert.doesNotMatch(key, /_API_KEY$|_TOKEN$/);
	} finally {
		delete process.env.HARNESS_PROBE_API_KEY;
		delete process.env.HARNESS_PROBE_TOKEN;
	}
});
