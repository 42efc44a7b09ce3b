/**
 * Test-only extension: `/foreign` makes an LLM call the way another extension would, with pi-ai's `completeSimple`
 * and the registry's model object for the user's model (`oai/gpt-mid`, the very object pi 0.73.1's session holds), so
 * a test can check that plan-stepdown routes only its own session's calls.
 */
import { completeSimple } from "@mariozechner/pi-ai";
import type { ExtensionAPI } from "@mariozechner/pi-coding-agent";

export default function foreignCallExtension(pi: ExtensionAPI): void {
	pi.registerCommand("foreign", {
		description: "test: an LLM call made by another extension",
		handler: async (_args, ctx) => {
			const model = ctx.modelRegistry.find("oai", "gpt-mid");
			if (!model) throw new Error("oai/gpt-mid is not in the registry");
			const auth = await ctx.modelRegistry.getApiKeyAndHeaders(model);
			if (!auth.ok) throw new Error(auth.error);
			const reply = await completeSimple(
				model,
				{ systemPrompt: "foreign", messages: [{ role: "user", content: "foreign call", timestamp: Date.now() }] },
				{ apiKey: auth.apiKey, headers: auth.headers },
			);
			const text = reply.content.map((c) => (c.type === "text" ? c.text : "")).join("");
			ctx.ui.notify(`foreign: ${model.api} ${reply.provider}/${reply.model} ${reply.stopReason} ${text}`, "info");
		},
	});
}
