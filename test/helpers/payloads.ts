/**
 * Real provider payloads, built by pi-ai's own builders (the request is aborted before anything is sent):
 * the fixtures the rewrite is tested against are what pi 0.73.1 really puts on the wire.
 */
import type { Api, Context, Model, ThinkingLevel } from "@mariozechner/pi-ai";
import { streamSimple } from "@mariozechner/pi-ai";

export const FAMILY_MODELS: { api: Api; id: string; provider: string }[] = [
	{ api: "openai-responses", id: "gpt-5.4", provider: "openai" },
	{ api: "azure-openai-responses", id: "gpt-5.4", provider: "azure-openai-responses" },
	{ api: "openai-codex-responses", id: "gpt-5.4", provider: "openai-codex" },
	{ api: "openai-completions", id: "gpt-5.4", provider: "openai" },
	{ api: "anthropic-messages", id: "claude-sonnet-4-6", provider: "anthropic" },
	{ api: "anthropic-messages", id: "claude-sonnet-4-5", provider: "anthropic" },
	{ api: "google-generative-ai", id: "gemini-2.5-pro", provider: "google" },
	{ api: "google-vertex", id: "gemini-3-pro-preview", provider: "google-vertex" },
	{ api: "mistral-conversations", id: "magistral-medium-latest", provider: "mistral" },
	{ api: "bedrock-converse-stream", id: "anthropic.claude-sonnet-4-5-20250929-v1:0", provider: "amazon-bedrock" },
];

// A JWT-shaped token with a ChatGPT account id, which the Codex builder insists on.
const CODEX_TOKEN = `x.${Buffer.from(JSON.stringify({ "https://api.openai.com/auth": { chatgpt_account_id: "acct" } })).toString("base64url")}.y`;

export function sampleContext(historyTurns = 1): Context {
	const messages: Context["messages"] = [
		{ role: "user", content: [{ type: "text", text: "list files" }], timestamp: 1 },
	];
	for (let i = 0; i < historyTurns; i++) {
		messages.push({
			role: "assistant",
			content: [{ type: "toolCall", id: `call_${i}`, name: "bash", arguments: { command: "ls" } }],
			api: "openai-responses",
			provider: "openai",
			model: "gpt-5.4",
			usage: {
				input: 1,
				output: 1,
				cacheRead: 0,
				cacheWrite: 0,
				totalTokens: 2,
				cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
			},
			stopReason: "toolUse",
			timestamp: 2,
		});
		messages.push({
			role: "toolResult",
			toolCallId: `call_${i}`,
			toolName: "bash",
			content: [{ type: "text", text: `a${i}.txt` }],
			isError: false,
			timestamp: 3,
		});
	}
	return {
		systemPrompt: "You are helpful.",
		messages,
		tools: [
			{
				name: "bash",
				description: "run bash",
				parameters: { type: "object", properties: { command: { type: "string" } }, required: ["command"] } as never,
			},
		],
	};
}

export function familyModel(api: Api, id: string, provider: string, extra: Partial<Model<Api>> = {}): Model<Api> {
	return {
		id,
		name: id,
		api,
		provider,
		baseUrl: "http://127.0.0.1:9/v1",
		reasoning: true,
		input: ["text"],
		cost: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 },
		contextWindow: 200000,
		maxTokens: 32000,
		...extra,
	};
}

/** Build the payload pi-ai would send, without sending it. */
export async function buildPayload(
	model: Model<Api>,
	context: Context,
	reasoning: ThinkingLevel | undefined,
	extra: { cacheRetention?: "none" | "short" | "long" } = {},
): Promise<Record<string, unknown>> {
	process.env.AWS_REGION ??= "us-east-1";
	process.env.AWS_ACCESS_KEY_ID ??= "test";
	process.env.AWS_SECRET_ACCESS_KEY ??= "test";
	process.env.GOOGLE_CLOUD_PROJECT ??= "test";
	process.env.GOOGLE_CLOUD_LOCATION ??= "us-central1";
	process.env.AZURE_OPENAI_BASE_URL ??= "http://127.0.0.1:9";
	const abort = new AbortController();
	let captured: Record<string, unknown> | undefined;
	const stream = streamSimple(model, context, {
		apiKey: model.api === "openai-codex-responses" ? CODEX_TOKEN : "test-key",
		reasoning,
		sessionId: "session-1",
		signal: abort.signal,
		...extra,
		onPayload: (payload) => {
			captured = payload as Record<string, unknown>;
			abort.abort();
			return undefined;
		},
	});
	await stream.result();
	if (!captured) throw new Error(`no payload for ${model.api}/${model.id}`);
	return captured;
}
