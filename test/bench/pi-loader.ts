/**
 * The hot-path modules as pi runs them: pi loads extensions with jiti (babel), while this bench runs under tsx
 * (esbuild with keepNames, which wraps every named closure in a `__name(...)` call, e.g. decideCall's `advance`:
 * ~0.3 µs per call that pi never pays). Timing the jiti build measures the code pi executes.
 */
import { fileURLToPath } from "node:url";
import { createJiti } from "jiti/static";

type Ladder = typeof import("../../src/ladder.ts");
type Rewrite = typeof import("../../src/rewrite.ts");
type WirePlanModule = typeof import("../../src/wire-plan.ts");

export interface HotPath {
	rewritePayload: Rewrite["rewritePayload"];
	detectFamily: Rewrite["detectFamily"];
	decideCall: Ladder["decideCall"];
	toCallMessages: Ladder["toCallMessages"];
	currentSegment: Ladder["currentSegment"];
	wirePlan: WirePlanModule["wirePlan"];
	promptCacheKey: WirePlanModule["promptCacheKey"];
	/** "jiti" (as pi loads the extension), or "tsx" when jiti could not load it. */
	loader: "jiti" | "tsx";
}

let cached: Promise<HotPath> | undefined;

/** As pi's extension loader does: `createJiti(..., { moduleCache: false })`, no file cache left behind. */
export function loadHotPath(): Promise<HotPath> {
	cached ??= freshHotPath();
	return cached;
}

/**
 * A new copy of the modules (new functions, so new inline caches and type feedback): a payload family measured on
 * its own copy runs in the state a pi session gets, where only its ladder's one or two API families pass through.
 */
export function freshHotPath(): Promise<HotPath> {
	return (async () => {
		const pick = (ladder: Ladder, rewrite: Rewrite, wire: WirePlanModule, loader: HotPath["loader"]): HotPath => ({
			rewritePayload: rewrite.rewritePayload,
			detectFamily: rewrite.detectFamily,
			decideCall: ladder.decideCall,
			toCallMessages: ladder.toCallMessages,
			currentSegment: ladder.currentSegment,
			wirePlan: wire.wirePlan,
			promptCacheKey: wire.promptCacheKey,
			loader,
		});
		try {
			const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false });
			const file = (name: string) => fileURLToPath(new URL(`../../src/${name}`, import.meta.url));
			return pick(
				await jiti.import<Ladder>(file("ladder.ts")),
				await jiti.import<Rewrite>(file("rewrite.ts")),
				await jiti.import<WirePlanModule>(file("wire-plan.ts")),
				"jiti",
			);
		} catch {
			return pick(
				await import("../../src/ladder.ts"),
				await import("../../src/rewrite.ts"),
				await import("../../src/wire-plan.ts"),
				"tsx",
			);
		}
	})();
}
