import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { Api, AssistantMessage, Context, Model, SimpleStreamOptions } from "@mariozechner/pi-ai";
import { fauxAssistantMessage, registerFauxProvider } from "@mariozechner/pi-ai";
import { attach } from "../../src/attach.ts";
import type { Decision } from "../../src/ladder.ts";
import { PLANNING_INSTRUCTIONS } from "../../src/prompts.ts";
import type { CallRoute } from "../../src/resolve.ts";
import { type Auth, createPayloadScope, createRouter, type RouterHooks } from "../../src/router.ts";

const faux = registerFauxProvider({ provider: "faux", models: [{ id: "rung-model", reasoning: true }] });
after(() => faux.unregister());

const seen: { context: Context; options: (SimpleStreamOptions & { reasoning?: string }) | undefined }[] = [];
/** A faux response that records what the provider was called with. */
const reply =
	(text: string, stopReason: AssistantMessage["stopReason"] = "stop") =>
	(context: Context, options: SimpleStreamOptions | undefined) => {
		seen.push({ context, options });
		return fauxAssistantMessage(text, { stopReason });
	};

const planning: Decision = { rung: 0, phase: "planning", reason: "planning", step: 0 };
const implementing: Decision = { rung: 2, phase: "implementing", reason: "step", step: 1 };

/** The model pi thinks it is calling (the user's, attached to the router). */
const callerModel = {
	...faux.getModel(),
	id: "user-model",
	provider: "user",
	api: "plan-stepdown-router",
} as Model<Api>;

function hooks(over: Partial<RouterHooks> = {}) {
	const log: string[] = [];
	const h: RouterHooks = {
		route: (): CallRoute => ({
			decision: implementing,
			model: faux.getModel() as Model<Api>,
			thinking: "low",
			loop: true,
		}),
		auth: async (): Promise<Auth> => ({ ok: true, apiKey: "rung-key", headers: { "x-rung": "1" } }),
		planTools: () => ["read"],
		onStart: (plan) => log.push(`start ${plan.decision.rung}`),
		onFinal: (_plan, message) => log.push(`final ${message.stopReason}`),
		withPayloadScope: (_plan, fn) => fn(),
		onHookError: (error) => log.push(`hook error ${error instanceof Error ? error.message : String(error)}`),
		...over,
	};
	return { h, log };
}

const context = (): Context => ({
	systemPrompt: `pi's prompt\n\n${PLANNING_INSTRUCTIONS}`,
	messages: [{ role: "user", content: "go", timestamp: 1 }],
	tools: ["read", "write", "bash"].map((name) => ({ name, description: name, parameters: {} as never })),
});

async function run(h: RouterHooks, options: SimpleStreamOptions = {}) {
	const stream = createRouter(h)(callerModel, context(), {
		apiKey: "caller-key",
		headers: { authorization: "Bearer caller" },
		reasoning: "high",
		...options,
	});
	const events: string[] = [];
	for await (const event of stream) events.push(event.type);
	return { events, result: await stream.result() };
}

describe("createRouter", () => {
	test("delegates to the rung's model with the rung's key, headers and effort, never the caller's", async () => {
		seen.length = 0;
		faux.setResponses([reply("hello")]);
		const { h, log } = hooks();
		const { result, events } = await run(h);
		assert.equal(result.stopReason, "stop");
		assert.equal(result.model, "rung-model", "the message is the real model's");
		assert.equal(events.at(-1), "done");
		assert.equal(seen[0].options?.apiKey, "rung-key");
		assert.deepEqual(seen[0].options?.headers, { "x-rung": "1" });
		assert.equal(seen[0].options?.reasoning, "low");
		assert.deepEqual(log, ["start 2", "final stop"]);
	});

	test("one HTTP attempt per pi attempt: the provider SDK's own retries (which sleep any retry-after) are off", async () => {
		seen.length = 0;
		faux.setResponses([reply("x")]);
		await run(hooks().h, { maxRetries: 5 });
		assert.equal(seen[0].options?.maxRetries, 0);
	});

	test("implementing: all tools, the planning block dropped", async () => {
		seen.length = 0;
		faux.setResponses([reply("x")]);
		await run(hooks().h);
		assert.deepEqual(
			seen[0].context.tools?.map((t) => t.name),
			["read", "write", "bash"],
		);
		assert.equal(seen[0].context.systemPrompt, "pi's prompt");
	});

	test("planning: only the plan tools, never write; the planning block kept once", async () => {
		seen.length = 0;
		faux.setResponses([reply("plan")]);
		const { h } = hooks({
			route: () => ({ decision: planning, model: faux.getModel() as Model<Api>, thinking: "high", loop: true }),
			planTools: () => ["read", "write"],
		});
		await run(h);
		assert.deepEqual(
			seen[0].context.tools?.map((t) => t.name),
			["read"],
		);
		assert.equal(seen[0].context.systemPrompt, `pi's prompt\n\n${PLANNING_INSTRUCTIONS}`);
	});

	test("thinking off sends no reasoning", async () => {
		seen.length = 0;
		faux.setResponses([reply("x")]);
		await run(
			hooks({
				route: () => ({ decision: implementing, model: faux.getModel() as Model<Api>, thinking: "off", loop: true }),
			}).h,
		);
		assert.equal(seen[0].options?.reasoning, undefined);
	});

	test("onFinal sees the final message before the consumer does, and done still arrives", async () => {
		faux.setResponses([reply("the plan")]);
		// The consumer resumes in a microtask either way, so an order log cannot tell. What can: onFinal writes into
		// the stream the consumer reads; a stream that already carries done drops it.
		const events: string[] = [];
		let stream: ReturnType<ReturnType<typeof createRouter>> | undefined;
		const { h } = hooks({
			onFinal: (_route, message) =>
				stream?.push({ type: "text_delta", contentIndex: 0, delta: `onFinal ${message.stopReason}`, partial: message }),
		});
		stream = createRouter(h)(callerModel, context(), {});
		for await (const event of stream) events.push(event.type === "text_delta" ? event.delta : event.type);
		assert.equal(events.at(-1), "done", `the consumer got done: ${events.join(", ")}`);
		assert.equal(events.at(-2), "onFinal stop", `onFinal ran before done reached the stream: ${events.join(", ")}`);
		assert.equal((await stream.result()).stopReason, "stop");
	});

	test("a throwing onFinal does not turn the paid answer into an error", async () => {
		faux.setResponses([reply("the plan")]);
		const { h, log } = hooks({
			onFinal: () => {
				throw new Error("boom");
			},
		});
		const { result, events } = await run(h);
		assert.equal(result.stopReason, "stop");
		assert.equal(events.at(-1), "done");
		assert.ok(log.includes("hook error boom"), "the error is reported");
	});

	test("a call that is not this session's goes to the model's own provider, with the caller's key", async () => {
		seen.length = 0;
		faux.setResponses([reply("theirs")]);
		const theirs = { ...faux.getModel() } as Model<Api>;
		attach(theirs);
		const { h, log } = hooks({ route: () => undefined });
		const stream = createRouter(h)(theirs, context(), { apiKey: "their-key" });
		const result = await stream.result();
		assert.equal(result.stopReason, "stop");
		assert.equal(seen[0].options?.apiKey, "their-key", "the caller's own key, untouched");
		assert.equal(seen[0].context.systemPrompt, `pi's prompt\n\n${PLANNING_INSTRUCTIONS}`, "no prompt rewrite");
		assert.deepEqual(log, [], "nothing recorded");
	});

	test("a call the ladder cannot make is an error message in the stream, not a throw", async () => {
		const { h, log } = hooks({ route: () => "plan-stepdown: rung 3 unavailable: the ladder has 2 rungs" });
		const { result, events } = await run(h);
		assert.deepEqual(events, ["error"]);
		assert.equal(result.stopReason, "error");
		assert.equal(result.errorMessage, "plan-stepdown: rung 3 unavailable: the ladder has 2 rungs");
		assert.equal(result.model, "user-model");
		assert.deepEqual(log, []);
	});

	test("a missing key for the rung: an error naming the rung, recorded against the rung's model", async () => {
		const { h } = hooks({ auth: async () => ({ ok: false, error: 'No API key found for "faux"' }) });
		const { result } = await run(h);
		assert.equal(result.stopReason, "error");
		assert.equal(result.errorMessage, 'plan-stepdown: rung 2 (faux/rung-model): No API key found for "faux"');
		assert.equal(result.provider, "faux");
		assert.equal(result.model, "rung-model");
	});

	test("a provider error passes through as the provider's message", async () => {
		faux.setResponses([reply("boom", "error")]);
		const { result } = await run(hooks().h);
		assert.equal(result.stopReason, "error");
		assert.equal(result.model, "rung-model");
	});

	test("onPayload runs inside the call's payload scope (the real scope, as host-pi0 wires it)", async () => {
		// The faux provider builds no payload; call the wrapped callback the router hands down directly.
		let captured: SimpleStreamOptions["onPayload"];
		faux.setResponses([
			(_ctx: Context, options: SimpleStreamOptions | undefined) => {
				captured = options?.onPayload;
				return fauxAssistantMessage("x");
			},
		]);
		const scope = createPayloadScope();
		const { h } = hooks({ withPayloadScope: scope.run });
		const seenInside: (CallRoute | undefined)[] = [];
		await run(h, { onPayload: () => void seenInside.push(scope.current()) });
		assert.equal(scope.current(), undefined, "no scope before pi builds the payload");
		await captured?.({}, faux.getModel() as Model<Api>);
		assert.equal(seenInside.length, 1, "the caller's onPayload ran once");
		assert.equal(seenInside[0]?.decision.rung, 2, "and saw the call's route as the current scope");
		assert.equal(scope.current(), undefined, "cleared after");
	});
});

describe("createPayloadScope", () => {
	const route = (rung: number) =>
		({ decision: { ...implementing, rung }, model: faux.getModel(), thinking: "low", loop: true }) as CallRoute;

	test("the route is current inside the call only", () => {
		const scope = createPayloadScope();
		const a = route(1);
		assert.equal(scope.current(), undefined);
		assert.equal(
			scope.run(a, () => scope.current()),
			a,
		);
		assert.equal(scope.current(), undefined, "cleared after a synchronous call");
	});

	test("an async payload hook keeps the scope until it settles", async () => {
		const scope = createPayloadScope();
		const a = route(1);
		let release: () => void = () => {};
		const pending = scope.run(a, () => new Promise<void>((resolve) => (release = resolve)));
		assert.equal(scope.current(), a, "still current while the hook awaits");
		release();
		await pending;
		assert.equal(scope.current(), undefined, "cleared once it settled");
	});

	test("a throw clears the scope; a newer call's scope is not cleared by an older one settling", async () => {
		const scope = createPayloadScope();
		assert.throws(() =>
			scope.run(route(1), () => {
				throw new Error("boom");
			}),
		);
		assert.equal(scope.current(), undefined);
		let release: () => void = () => {};
		const older = scope.run(route(1), () => new Promise<void>((resolve) => (release = resolve)));
		const newer = route(2);
		scope.run(newer, () => new Promise<void>(() => {}));
		release();
		await older;
		assert.equal(scope.current(), newer);
	});
});
