/**
 * Shared end-to-end fixtures: mock providers with distinct prices, the ladders the scenarios use, and a few
 * script builders. Every e2e test runs the real pi binary with this repo loaded as an extension (`-e <repo>`).
 */
import type { MockAnswer, MockProvider, MockReply, RecordedRequest } from "../helpers/mock-llm.ts";

/** $/M tokens, so that cost per rung is visibly different. */
export const PRICES = {
	big: { input: 5, output: 40, cacheRead: 0.5, cacheWrite: 0 },
	mid: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 0 },
	small: { input: 0.25, output: 2, cacheRead: 0.025, cacheWrite: 0 },
	tiny: { input: 0.1, output: 0.4, cacheRead: 0.01, cacheWrite: 0 },
};

/** One provider per wire format; model ids are chosen so that pi-ai picks the interesting code paths. */
export const PROVIDERS: MockProvider[] = [
	{
		name: "oai",
		api: "openai-responses",
		apiKey: "oai-test-key",
		models: [
			{ id: "gpt-big", reasoning: true, cost: PRICES.big, thinkingLevelMap: { xhigh: "xhigh" } },
			{ id: "gpt-mid", reasoning: true, cost: PRICES.mid },
			{ id: "gpt-small", reasoning: true, cost: PRICES.small },
		],
	},
	{
		name: "ant",
		api: "anthropic-messages",
		apiKey: "ant-test-key",
		models: [
			// Adaptive thinking (output_config.effort): pi-ai 0.73.1 infers it from "sonnet-4-6" in the id, pi-ai 1.x
			// reads `compat.forceAdaptiveThinking` (0.73.1 ignores the key).
			{ id: "claude-sonnet-4-6", reasoning: true, cost: PRICES.mid, compat: { forceAdaptiveThinking: true } },
			{ id: "claude-haiku-4-5", reasoning: true, cost: PRICES.small }, // budget thinking
		],
	},
	{
		name: "chat",
		api: "openai-completions",
		apiKey: "chat-test-key",
		models: [{ id: "chat-tiny", reasoning: true, cost: PRICES.tiny }],
	},
	{
		name: "gem",
		api: "google-generative-ai",
		apiKey: "gem-test-key",
		models: [{ id: "gemini-2.5-flash", reasoning: true, cost: PRICES.tiny }],
	},
];

/** Five rungs on one provider, pi-model-staging style (modelId + top-level provider). */
export const SAME_PROVIDER_LADDER = {
	provider: "oai",
	ladder: [
		{ modelId: "gpt-big", thinking: "xhigh", webSearchContextSize: "high" },
		{ modelId: "gpt-mid", thinking: "high", webSearchContextSize: "high" },
		{ modelId: "gpt-mid", thinking: "medium", webSearchContextSize: "medium" },
		{ modelId: "gpt-small", thinking: "medium", webSearchContextSize: "medium" },
		{ modelId: "gpt-small", thinking: "low", webSearchContextSize: "low" },
	],
};

/** Three API families, one rung each. */
export const CROSS_PROVIDER_LADDER = {
	ladder: [
		{ model: "oai/gpt-big", thinking: "high", webSearchContextSize: "medium" },
		{ model: "ant/claude-sonnet-4-6", thinking: "medium" },
		{ model: "chat/chat-tiny", thinking: "low" },
	],
};

/** The settings a user had before pi started: the byte-identical check compares against this file. */
export const USER_SETTINGS = {
	defaultProvider: "oai",
	defaultModel: "gpt-mid",
	defaultThinkingLevel: "medium",
	retry: { enabled: true, maxRetries: 3, baseDelayMs: 20, provider: { maxRetries: 0 } },
};

/**
 * Agent-dir files that put plan-mode bash on the parser allow-list (the user's own config turns the sandbox off):
 * for tests about refusals. test/e2e/plan-sandbox.test.ts covers the sandbox.
 */
export const PARSER_MODE = { "plan-stepdown.json": JSON.stringify({ planBash: { sandbox: "off" } }) };

export const PLAN_TEXT = "Plan:\n1. Create hello.txt with a greeting\n2. Check it with cat";

/** Is this request a planning call? While planning the model is offered no edit/write tools. */
export const isPlanning = (req: RecordedRequest) => !req.toolNames.includes("write") && !req.toolNames.includes("edit");

/** A script that plans once, then answers implementation calls from `steps` in order, then "done". */
export function planThenImplement(steps: MockAnswer[], plan: MockReply = { text: PLAN_TEXT }) {
	let i = 0;
	return (req: RecordedRequest): MockAnswer => {
		if (isPlanning(req)) return plan;
		return steps[i++] ?? { text: "Implementation finished." };
	};
}

export const write = (path: string, content: string): MockReply => ({
	toolCalls: [{ name: "write", arguments: { path, content } }],
});
export const bash = (command: string): MockReply => ({ toolCalls: [{ name: "bash", arguments: { command } }] });

/** CROSS_PROVIDER_LADDER as it reaches the wire: rung index → provider/model:effort. */
export const CROSS_RUNGS = ["oai/gpt-big:high", "ant/claude-sonnet-4-6:medium", "chat/chat-tiny:low"] as const;
/** USER_SETTINGS' own model and thinking level, as it reaches the wire. */
export const USER_MODEL = "oai/gpt-mid:medium";
/** The default plan tools, and the tools pi starts with (what /stepdown-off restores). */
export const PLAN_TOOLS = ["read", "bash", "grep", "find", "ls"];
export const USER_TOOLS = ["read", "bash", "edit", "write"];

/** Five rungs over three providers, for the fault and safety-net scenarios. */
export const FIVE_RUNG_LADDER = {
	ladder: [
		{ model: "oai/gpt-big", thinking: "high" },
		{ model: "oai/gpt-mid", thinking: "low" },
		{ model: "ant/claude-sonnet-4-6", thinking: "medium" },
		{ model: "chat/chat-tiny", thinking: "medium" },
		{ model: "chat/chat-tiny", thinking: "low" },
	],
};
/** FIVE_RUNG_LADDER as it reaches the wire: rung index → provider/model:effort. */
export const FIVE_RUNGS = [
	"oai/gpt-big:high",
	"oai/gpt-mid:low",
	"ant/claude-sonnet-4-6:medium",
	"chat/chat-tiny:medium",
	"chat/chat-tiny:low",
] as const;
export const FIVE_RUNG_MODELS = [
	"oai/gpt-big",
	"oai/gpt-mid",
	"ant/claude-sonnet-4-6",
	"chat/chat-tiny",
	"chat/chat-tiny",
];
