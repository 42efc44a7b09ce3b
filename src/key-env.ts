/**
 * The environment variable pi reads a provider's API key from, so a missing key can be named exactly. pi-ai keeps
 * this table private (and it differs a little between pi lines); this copy lists the providers a ladder is likely to
 * use, and test/unit/key-env.test.ts checks every entry against the pi-ai of both lines.
 */
export const KEY_ENV: Readonly<Record<string, string>> = {
	anthropic: "ANTHROPIC_API_KEY",
	openai: "OPENAI_API_KEY",
	"azure-openai-responses": "AZURE_OPENAI_API_KEY",
	azure: "AZURE_OPENAI_API_KEY",
	google: "GEMINI_API_KEY",
	"google-vertex": "GOOGLE_CLOUD_API_KEY",
	mistral: "MISTRAL_API_KEY",
	groq: "GROQ_API_KEY",
	cerebras: "CEREBRAS_API_KEY",
	xai: "XAI_API_KEY",
	deepseek: "DEEPSEEK_API_KEY",
	openrouter: "OPENROUTER_API_KEY",
	"vercel-ai-gateway": "AI_GATEWAY_API_KEY",
	zai: "ZAI_API_KEY",
	minimax: "MINIMAX_API_KEY",
	moonshotai: "MOONSHOT_API_KEY",
	huggingface: "HF_TOKEN",
	fireworks: "FIREWORKS_API_KEY",
	opencode: "OPENCODE_API_KEY",
	"kimi-coding": "KIMI_API_KEY",
};

/** How to give `provider` a key, for the "no API key" message. */
export function keyHint(provider: string): string {
	const env = Object.hasOwn(KEY_ENV, provider) ? KEY_ENV[provider] : undefined;
	return env
		? `set ${env}, add an apiKey for "${provider}" to models.json, or /login`
		: `add an apiKey for "${provider}" to models.json, or /login`;
}
