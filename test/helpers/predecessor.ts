/** pi-model-staging 0.3.2's documented example config, verbatim (its README, "Example config"). */
export const PREDECESSOR_CONFIG = {
	provider: "openai",
	ladder: [
		{ modelId: "gpt-5.5", thinking: "xhigh", webSearchContextSize: "high" },
		{ modelId: "gpt-5.4", thinking: "xhigh", webSearchContextSize: "high" },
		{ modelId: "gpt-5.4", thinking: "high", webSearchContextSize: "medium" },
		{ modelId: "gpt-5.4", thinking: "medium", webSearchContextSize: "medium" },
		{ modelId: "gpt-5.4-mini", thinking: "xhigh", webSearchContextSize: "low" },
	],
	tools: {
		plan: ["read", "bash", "grep", "find", "ls"],
		implementation: ["read", "bash", "edit", "write", "grep", "find", "ls"],
	},
	reasoningBump: {
		bumpOnFailedBash: true,
		bumpOnFailedTool: true,
		bumpOnPackageManagerCommand: true,
		packageManagerCommands: ["npm", "pnpm", "yarn", "bun"],
	},
	openaiPromptCache: { keyPrefix: "pi-model-staging:", retention: "24h" },
	openaiWebSearch: { enabled: true, locationEnabled: true },
};
