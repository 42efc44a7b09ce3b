/**
 * pi 0.73.1's routing provider: pi calls it for every LLM call made with the session's model while the mode is on,
 * and it delegates the call to the rung's real model on its own provider, with that provider's key, headers and wire
 * format (pi-ai converts the history between providers). The result is the real provider's message: the session
 * records the real provider/model and its cost. Calls that are not this session's (another extension calling
 * `complete()` with the same model object) go to the model's own provider untouched. Errors go into the returned
 * stream, never thrown.
 */
import type {
	Api,
	AssistantMessage,
	AssistantMessageEvent,
	AssistantMessageEventStream,
	Context,
	Model,
	SimpleStreamOptions,
} from "@mariozechner/pi-ai";
import { createAssistantMessageEventStream, streamSimple } from "@mariozechner/pi-ai";
import { realModel } from "./attach.ts";
import { systemPromptFor, toolsFor } from "./prompts.ts";
import type { CallRoute } from "./resolve.ts";

export const ROUTER_API = "plan-stepdown-router";
export const ROUTER_PROVIDER = "plan-stepdown";

export type Auth = { ok: true; apiKey?: string; headers?: Record<string, string> } | { ok: false; error: string };

export interface RouterHooks {
	/**
	 * Where the call goes, given the model pi passed and the call's options; a string is why it cannot be made;
	 * undefined: not this session's call, so it goes to the model's own provider as it came.
	 */
	route(model: Model<Api>, options: SimpleStreamOptions | undefined): CallRoute | string | undefined;
	auth(model: Model<Api>): Promise<Auth>;
	planTools(): readonly string[];
	/** Runs right before the request (status line, session record). */
	onStart(route: CallRoute): void;
	/** Runs with the final message, before pi sees it: the place to queue work into the same run. */
	onFinal(route: CallRoute, message: AssistantMessage, sent: Context["messages"]): void;
	/** Scope for `before_provider_request`: the route of the call whose payload is being built. */
	withPayloadScope<T>(route: CallRoute, fn: () => T): T;
	/** A hook that threw after the answer was paid for: reported, the answer still reaches pi. */
	onHookError(error: unknown): void;
}

export function createRouter(hooks: RouterHooks) {
	return function routeStream(model: Model<Api>, context: Context, options?: SimpleStreamOptions) {
		let route: CallRoute | string | undefined;
		try {
			route = hooks.route(model, options);
		} catch (error) {
			route = error instanceof Error ? error.message : String(error);
		}
		if (route === undefined) return streamSimple(realModel(model), context, options);
		const out = createAssistantMessageEventStream();
		// Until the rung is known, a failure is reported against the model pi called; after, against the rung's.
		const failed = { model: typeof route === "string" ? model : route.model };
		void pump(hooks, out, route, context, options).catch((error: unknown) => {
			out.push({ type: "error", reason: "error", error: errorMessage(failed.model, error) });
			out.end();
		});
		return out;
	};
}

async function pump(
	hooks: RouterHooks,
	out: AssistantMessageEventStream,
	route: CallRoute | string,
	context: Context,
	options: SimpleStreamOptions | undefined,
): Promise<void> {
	if (typeof route === "string") throw new Error(route);
	const auth = await hooks.auth(route.model);
	if (!auth.ok) {
		const rung = `rung ${route.decision.rung} (${route.model.provider}/${route.model.id})`;
		throw new Error(`plan-stepdown: ${rung}: ${auth.error}`);
	}
	const phase = route.decision.phase;
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
		reasoning: route.thinking === "off" ? undefined : route.thinking,
		// One HTTP attempt per pi attempt: the OpenAI and Anthropic SDKs' own retries sleep whatever retry-after says
		// (an hour for a quota) before pi, and so the failover, ever sees the 429. pi's retry does the retrying.
		maxRetries: 0,
		onPayload: onPayload ? (payload, m) => hooks.withPayloadScope(route, () => onPayload(payload, m)) : undefined,
	};
	hooks.onStart(route);
	const inner = streamSimple(route.model, callContext, callOptions);
	for await (const event of inner as AsyncIterable<AssistantMessageEvent>) {
		const final = event.type === "done" ? event.message : event.type === "error" ? event.error : undefined;
		if (final) {
			// Queue work before pi sees the answer; a throw must not turn a paid answer into an error.
			try {
				hooks.onFinal(route, final, context.messages);
			} catch (error) {
				hooks.onHookError(error);
			}
		}
		out.push(event);
	}
	out.end();
}

/**
 * Which routed call's payload pi is building: set around the call's `onPayload`, read by `before_provider_request`.
 * pi's payload hook is async (other extensions' handlers may run first), so the scope lasts until it settles.
 */
export function createPayloadScope() {
	let scope: CallRoute | undefined;
	return {
		current: (): CallRoute | undefined => scope,
		run<T>(route: CallRoute, fn: () => T): T {
			scope = route;
			const clear = () => {
				if (scope === route) scope = undefined;
			};
			let result: T;
			try {
				result = fn();
			} catch (error) {
				clear();
				throw error;
			}
			if (result instanceof Promise) return result.finally(clear) as T;
			clear();
			return result;
		},
	};
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
