/**
 * Micro-timing: warm-up, batches sized to a minimum duration, A and B alternated batch by batch (so drift hits both
 * alike), median ns per operation. Ratios are only ever taken between figures of the same run.
 *
 * The figure per batch is min(wall clock, process CPU time): both bound the main thread's time from above, and each
 * fails differently on a shared machine: the wall clock counts the time the scheduler gave to other processes, the
 * process CPU time (`process.cpuUsage`, user + system) counts V8's background GC and compiler threads. The smaller of
 * the two is the tighter bound. Wall-clock and CPU medians are kept alongside.
 *
 * Heavy operations (≥ 1 ms, e.g. stringifying or cloning a 10,000-message history) leave tens of MB of garbage; a
 * full GC runs between their batches, untimed, so that one side's garbage is not collected on the other side's
 * clock. Garbage a batch makes itself is still collected (and timed) inside it.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;
const HEAVY_NS = 1e6;

export interface TimingOptions {
	/** Wall-clock budget for the whole comparison, ms. */
	budgetMs: number;
	/** Minimum duration of one batch, ms (fast operations are repeated until a batch lasts this long). */
	batchMs: number;
	/** Warm-up per function before measuring, ms (at least 3 calls). */
	warmupMs: number;
	/** Minimum batches per side. */
	minSamples: number;
	/** Maximum batches per side. */
	maxSamples: number;
}

export const FULL_TIMING: TimingOptions = { budgetMs: 500, batchMs: 2, warmupMs: 50, minSamples: 7, maxSamples: 300 };
export const QUICK_TIMING: TimingOptions = { budgetMs: 20, batchMs: 0.2, warmupMs: 5, minSamples: 3, maxSamples: 20 };

export interface Measurement {
	/** Median over the batches of min(wall, CPU) ns per operation. */
	nsPerOp: number;
	/** Median wall-clock ns per operation. */
	wallNsPerOp: number;
	/** Median process CPU ns per operation. */
	cpuNsPerOp: number;
	/** Batches measured. */
	samples: number;
	/** Operations per batch. */
	batch: number;
}

/** Keeps results alive so the engine cannot drop the measured work. */
let sink: unknown;
export const keep = (value: unknown) => {
	sink = value;
};
export const lastKept = () => sink;

export function median(values: readonly number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = sorted.length >> 1;
	return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

interface Sample {
	cpu: number;
	wall: number;
}

/** n calls; CPU and wall-clock ns per call. */
function batchOf(fn: () => unknown, n: number): Sample {
	const wall = process.hrtime.bigint();
	const cpu = process.cpuUsage();
	for (let i = 0; i < n; i++) keep(fn());
	const used = process.cpuUsage(cpu);
	return {
		cpu: ((used.user + used.system) * 1000) / n,
		wall: Number(process.hrtime.bigint() - wall) / n,
	};
}

/** How many calls make one batch of at least `batchMs`, after a warm-up that lets the JIT optimise `fn`. */
function calibrate(fn: () => unknown, opts: TimingOptions): number {
	const target = opts.batchMs * 1e6;
	let n = 1;
	const warm = performance.now() + opts.warmupMs;
	for (let i = 0; i < 3 || performance.now() < warm; i++) keep(fn());
	for (;;) {
		// Sized on the wall clock (CPU time has µs resolution); preemption can only make batches shorter.
		const perOp = Math.max(batchOf(fn, n).wall, 1);
		if (perOp * n >= target || n >= 1 << 20) return n;
		n = Math.min(1 << 20, Math.max(n * 2, Math.ceil(target / perOp)));
	}
}

function summarise(samples: Sample[], batch: number): Measurement {
	return {
		nsPerOp: median(samples.map((s) => Math.min(s.cpu, s.wall))),
		wallNsPerOp: median(samples.map((s) => s.wall)),
		cpuNsPerOp: median(samples.map((s) => s.cpu)),
		samples: samples.length,
		batch,
	};
}

/** Times `a` and `b`, alternating batches. */
export function compare(a: () => unknown, b: () => unknown, opts: TimingOptions): [Measurement, Measurement] {
	const na = calibrate(a, opts);
	const nb = calibrate(b, opts);
	const sa: Sample[] = [];
	const sb: Sample[] = [];
	let heavy = false;
	const deadline = performance.now() + opts.budgetMs;
	while (sa.length < opts.maxSamples && (sa.length < opts.minSamples || performance.now() < deadline)) {
		if (heavy) collect();
		const x = batchOf(a, na);
		sa.push(x);
		if (heavy) collect();
		const y = batchOf(b, nb);
		sb.push(y);
		heavy ||= Math.min(x.cpu, x.wall) >= HEAVY_NS || Math.min(y.cpu, y.wall) >= HEAVY_NS;
	}
	return [summarise(sa, na), summarise(sb, nb)];
}

/** Times one function on its own. */
export function measure(fn: () => unknown, opts: TimingOptions): Measurement {
	const n = calibrate(fn, opts);
	const samples: Sample[] = [];
	const deadline = performance.now() + opts.budgetMs;
	while (samples.length < opts.maxSamples && (samples.length < opts.minSamples || performance.now() < deadline)) {
		const last = samples.at(-1);
		if (last && Math.min(last.cpu, last.wall) >= HEAVY_NS) collect();
		samples.push(batchOf(fn, n));
	}
	return summarise(samples, n);
}
