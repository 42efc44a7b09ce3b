/**
 * Test-only extension: `/goto <entryId>` moves the session leaf with `ctx.navigateTree`, the API behind `/tree`, so
 * that an RPC test can drive tree navigation without the TUI's selector.
 */
import type { ExtensionAPI } from "@mariozechner/pi-coding-agent";

export default function treeExtension(pi: ExtensionAPI): void {
	pi.registerCommand("goto", {
		description: "test: move the session leaf to an entry (like /tree)",
		handler: async (args, ctx) => {
			const result = await ctx.navigateTree(args.trim(), { summarize: false });
			ctx.ui.notify(`goto: ${result.cancelled ? "cancelled" : "done"}`, "info");
		},
	});
}
