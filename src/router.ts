/**
 * The routing provider: pi calls it for every LLM call while the mode is on, and it delegates the call to the
 * rung's real model on its own provider, with that provider's key, headers and wire format (pi-ai converts the
 * history between providers). The result is the real provider's message: the session records the real
 * provider/model and its cost. Errors go into the returned stream, never thrown.
 */
import type {
	Api,
	AssistantMessage,
	AssistantMessageEvent,
	AssistantMessageEventStream,
	Context,
	Model,
	ModelThinkingLevel,
	SimpleStreamOptions,
} from "@mariozechner/pi-ai";
import { createAssistantMessageEventStream, streamSimple } from "@mariozechner/pi-ai";
import type { Decision } from "./ladder.ts";
import { systemPromptFor, toolsFor } from "./prompts.ts";

export const ROUTER_API = "plan-stepdown-router";
export const ROUTER_PROVIDER = "plan-stepdown";

/** Everything the router needs to know about one call, decided before it starts. */
export interface CallPlan {
	decision: Decision;
	/** The real model (never the router). */
	model: Model<Api>;
	thinking: ModelThinkingLevel;
	/** Whether this call belongs to the agent loop (recorded, stepped) or is auxiliary (compaction, summaries). */
	loop: boolean;
	/** The rung's hosted web search setting (undefined: the provider's default size). */
	webSearchContextSize?: "low" | "medium" | "high" | "off";
}

export type Auth = { ok: true; apiKey?: string; headers?: Record<string, string> } | { ok: false; error: string };

export interface RouterHooks {
	/** Decide the call (the ladder), given the model pi passed and the session's thinking level. */
	plan(model: Model<Api>, sessionLevel: ModelThinkingLevel | undefined): CallPlan | string;
	auth(model: Model<Api>): Promise<Auth>;
	planTools(): readonly string[];
	/** Runs right before the request (status line, session record). */
	onStart(plan: CallPlan): void;
	/** Runs with the final message, before pi sees it: the place to queue work into the same run. */
	onFinal(plan: CallPlan, message: AssistantMessage): void;
	/** Scope for `before_provider_request`: the plan of the call whose payload is being built. */
	withPayloadScope<T>(plan: CallPlan, fn: () => T): T;
}

export function createRouter(hooks: RouterHooks) {
	return function routeStream(model: Model<Api>, context: Context, options?: SimpleStreamOptions) {
		const out = createAssistantMessageEventStream();
		// Until the rung is known, a failure is reported against the model pi called; after, against the rung's.
		const failed = { model };
		void pump(hooks, out, failed, context, options).catch((error: unknown) => {
			out.push({ type: "error", reason: "error", error: errorMessage(failed.model, error) });
			out.end();
		});
		return out;
	};
}

async function pump(
	hooks: RouterHooks,
	out: AssistantMessageEventStream,
	failed: { model: Model<Api> },
	context: Context,
	options: SimpleStreamOptions | undefined,
): Promise<void> {
	const plan = hooks.plan(failed.model, options?.reasoning);
	if (typeof plan === "string") throw new Error(plan);
	failed.model = plan.model;
	const auth = await hooks.auth(plan.model);
	if (!auth.ok) {
		const rung = `rung ${plan.decision.rung} (${plan.model.provider}/${plan.model.id})`;
		throw new Error(`plan-stepdown: ${rung}: ${auth.error}`);
	}
	const phase = plan.decision.phase;
	const callContext: Context = {
		...context,
		systemPrompt: systemPromptFor(context.systemPrompt, phase),
		tools: toolsFor(context.tools, phase, hooks.planTools()),
	};
	const onPayload = options?.onPayload;
	const callOptions: SimpleStreamOptions = {
		...options,
		// The caller's key and headers belong to the model pi thinks it is calling; never leak them to the rung.
		apiKey: auth.apiKey,
		headers: auth.headers,
		reasoning: plan.thinking === "off" ? undefined : plan.thinking,
		onPayload: onPayload ? (payload, m) => hooks.withPayloadScope(plan, () => onPayload(payload, m)) : undefined,
	};
	hooks.onStart(plan);
	const inner = streamSimple(plan.model, callContext, callOptions);
	for await (const event of inner as AsyncIterable<AssistantMessageEvent>) {
		if (event.type === "done") hooks.onFinal(plan, event.message);
		else if (event.type === "error") hooks.onFinal(plan, event.error);
		out.push(event);
	}
	out.end();
}

function errorMessage(model: Model<Api>, error: unknown): AssistantMessage {
	return {
		role: "assistant",
		content: [],
		api: model.api,
		provider: model.provider,
		model: model.id,
		usage: {
			input: 0,
			output: 0,
			cacheRead: 0,
			cacheWrite: 0,
			totalTokens: 0,
			cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
		},
		stopReason: "error",
		errorMessage: error instanceof Error ? error.message : String(error),
		timestamp: Date.now(),
	};
}
