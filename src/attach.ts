/**
 * Route the session's model through the router without calling `pi.setModel()` (which would write the user's
 * settings.json defaults): the model object pi holds keeps its identity, only its `api` points at the router
 * while the mode is on. The original api is kept on the object under a global symbol, so a reloaded copy of this
 * module can still undo it.
 */
import type { Api, Model } from "@mariozechner/pi-ai";
import { ROUTER_API } from "./router.ts";

const ORIGINAL_API = Symbol.for("pi-plan-stepdown.originalApi");

type Attachable = Model<Api> & { [ORIGINAL_API]?: Api };

export function attach(model: Model<Api>): void {
	const m = model as Attachable;
	if (m[ORIGINAL_API] !== undefined || m.api === ROUTER_API) return;
	m[ORIGINAL_API] = m.api;
	m.api = ROUTER_API;
}

export function detach(model: Model<Api> | undefined): void {
	const m = model as Attachable | undefined;
	const api = m?.[ORIGINAL_API];
	if (!m || api === undefined) return;
	m.api = api;
	delete m[ORIGINAL_API];
}

export const isAttached = (model: Model<Api> | undefined) =>
	(model as Attachable | undefined)?.[ORIGINAL_API] !== undefined;

/** The model as its own provider knows it: an attached model is copied back to its original api. */
export function realModel<T extends Model<Api>>(model: T): T {
	const api = (model as Attachable)[ORIGINAL_API];
	if (api === undefined) return model;
	const { [ORIGINAL_API]: _hidden, ...rest } = model as Attachable;
	return { ...rest, api } as T;
}
