/**
 * The limit search against brute force: on small random traces, every choice of rungs (each call on the ladder's
 * rung or a stronger one) priced through the same cache model; the search must find the same minimum, exactly.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RungCache, RungInfo } from "../../src/stepping.ts";
import { tokensCost } from "../../src/stepping.ts";
import { limitSearch } from "./limit.ts";
import { applyCall, type SimCall } from "./trace.ts";

/** A small deterministic generator (mulberry32), so a failure names its seed. */
function random(seed: number): () => number {
	let a = seed;
	return () => {
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const MIN = 60_000;

/** Rungs like the bench's: some share a model at another effort (their own cache), one with cache writes, TTLs vary. */
function ladder(rand: () => number, n: number): RungInfo[] {
	return Array.from({ length: n }, (_, i) => {
		const input = [15, 5, 3, 1, 0.25][i] as number;
		const write = rand() < 0.3;
		return {
			key: `m${Math.floor(i / 2)}:${i}`,
			prices: { input, output: input * 5, cacheRead: input / 10, cacheWrite: write ? input * 1.25 : 0 },
			ttlMs: rand() < 0.5 ? 5 * MIN : 24 * 60 * MIN,
		};
	});
}

function trace(rand: () => number, n: number, rungs: number): SimCall[] {
	const calls: SimCall[] = [];
	let prompt = 1000 + Math.floor(rand() * 20_000);
	let at = 0;
	for (let i = 0; i < n; i++) {
		const cut = rand() < 0.15;
		const previous = prompt;
		prompt = cut ? 1000 + Math.floor(rand() * 5000) : prompt + Math.floor(rand() * 8000);
		at += 15_000 + (rand() < 0.2 ? 10 * MIN : 0);
		calls.push({
			prompt,
			cacheable: cut ? Math.floor(rand() * prompt * 0.5) : Math.min(prompt, previous),
			output: 100 + Math.floor(rand() * 2000),
			error: rand() < 0.1,
			at,
			ladderRung: i === 0 || rand() < 0.2 ? 0 : Math.floor(rand() * rungs),
			implementing: rand() < 0.8,
			cut,
		});
	}
	return calls;
}

function bruteForce(calls: readonly SimCall[], rungs: readonly RungInfo[]): number {
	let best = Number.POSITIVE_INFINITY;
	const walk = (i: number, caches: Record<string, RungCache>, cost: number) => {
		if (i === calls.length) {
			best = Math.min(best, cost);
			return;
		}
		const call = calls[i] as SimCall;
		for (let r = 0; r <= call.ladderRung; r++) {
			const next: Record<string, RungCache> = {};
			for (const [k, v] of Object.entries(caches)) next[k] = { ...v };
			const info = rungs[r] as RungInfo;
			walk(i + 1, next, cost + tokensCost(applyCall(next, call, info), info.prices));
		}
	};
	walk(0, {}, 0);
	return best;
}

/** The path the search returns, priced again call by call. */
function priced(calls: readonly SimCall[], rungs: readonly RungInfo[], path: readonly number[]): number {
	const caches: Record<string, RungCache> = {};
	return calls.reduce((sum, call, i) => {
		const info = rungs[path[i] as number] as RungInfo;
		return sum + tokensCost(applyCall(caches, call, info), info.prices);
	}, 0);
}

test("the search equals brute force on 120 small random traces, and says it is exact", () => {
	for (let seed = 1; seed <= 120; seed++) {
		const rand = random(seed);
		const rungs = ladder(rand, 2 + (seed % 4));
		const calls = trace(rand, 4 + (seed % 5), rungs.length);
		const limit = limitSearch(calls, rungs);
		const brute = bruteForce(calls, rungs);
		assert.ok(Math.abs(limit.cost - brute) < 1e-9, `seed ${seed}: search ${limit.cost}, brute force ${brute}`);
		assert.equal(limit.exact, true, `seed ${seed}`);
		assert.equal(limit.rungs.length, calls.length);
		assert.ok(
			limit.rungs.every((r, i) => r <= (calls[i]?.ladderRung ?? -1)),
			`seed ${seed}: never weaker than the ladder`,
		);
		assert.ok(Math.abs(priced(calls, rungs, limit.rungs) - limit.cost) < 1e-9, `seed ${seed}: the path costs that`);
	}
});

test("a cap too small to be exact says so, and is still a cost some path has", () => {
	const rand = random(7);
	const rungs = ladder(rand, 5);
	const calls = trace(rand, 8, rungs.length);
	const brute = bruteForce(calls, rungs);
	const capped = limitSearch(calls, rungs, 1);
	assert.ok(capped.cost >= brute - 1e-9);
	assert.ok(Math.abs(priced(calls, rungs, capped.rungs) - capped.cost) < 1e-9);
	if (capped.cost > brute + 1e-9) assert.equal(capped.exact, false);
});
