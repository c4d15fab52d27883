import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { ChunkData } from "./Chunk.js";
import { buildGzip, buildRange, type GzipJob, type GzipResult, type Job, type RangeJob, type VerifyJob, verifyRanges } from "./jobs.js";
import { SLICE_MS, Slicer } from "./Slicer.js";

interface Pending {
  job: Job;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onChunk?: (chunk: ChunkData) => void;
}

interface PoolWorker {
  thread: Worker;
  busy: Pending | null;
  id: number;
  /** Runs checks (verify jobs) at normal priority; the others build, at a lower one. */
  checks: boolean;
  /** Ends the thread once it has been idle a while. */
  idle: NodeJS.Timeout | null;
  retired: boolean;
}

/** A worker idle this long ends (its memory goes back): the pool starts another when work comes. */
const IDLE_MS = 15_000;
/**
 * Jobs over at most this many bytes run on this thread (a slice or two of
 * work) instead of waiting for a thread to start: a small trail is indexed,
 * and a search of a few lines checked, before a thread would be up.
 */
const SMALL_JOB_BYTES = 256 * 1024;

function isSmall(job: Job): boolean {
  if (job.kind === "range") return job.end - job.start <= SMALL_JOB_BYTES;
  if (job.kind === "verify") {
    let bytes = 0;
    for (let r = 0; r < job.ranges.length; r += 2) bytes += job.ranges[r + 1]! - job.ranges[r]!;
    return bytes <= SMALL_JOB_BYTES;
  }
  return false;
}

/**
 * The worker thread script. Compiled code runs ./buildWorker.js beside this
 * file; when this file is TypeScript (tests run the sources), the compiled
 * copy in dist/ is used, since a worker thread of Node 20 cannot load
 * TypeScript.
 */
function workerScript(): string | null {
  const here = import.meta.url;
  const url = here.endsWith(".ts") ? new URL("../../../dist/viewer/jsonl/buildWorker.js", here) : new URL("./buildWorker.js", here);
  const path = fileURLToPath(url);
  return existsSync(path) ? path : null;
}

/**
 * Runs the index's heavy jobs on worker threads, so that the event loop
 * serving requests only ever does short slices of work: builds on `size`
 * threads at a lower priority (nice 10: background work gives way to the
 * thread answering requests), checks of a search someone waits for on a
 * thread of their own, at normal priority. Small jobs, and all of them
 * with no worker (size 0, or the script missing), run on this thread, sliced.
 */
export class JobPool {
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private inProcessBuilds: Promise<unknown> = Promise.resolve();
  private script: string | null;

  /** `size` build threads at most (0: none, jobs run on this thread), and one for checks; each starts when work comes. */
  constructor(private readonly size: number) {
    this.script = size > 0 ? workerScript() : null;
  }

  /** Worker threads this pool may run (builds and checks; 0: all on this thread). */
  get threads(): number {
    return this.script ? this.size + 1 : 0;
  }

  /** Starts threads of a kind for the queued work, up to their number. */
  private ensure(checks: boolean): void {
    if (!this.script) return;
    const mine = this.workers.filter((worker) => worker.checks === checks);
    const waiting = this.queue.filter((queued) => (queued.job.kind === "verify") === checks).length;
    const idle = mine.filter((worker) => !worker.busy).length;
    for (let n = mine.length; n < (checks ? 1 : this.size) && waiting > idle + (n - mine.length); n++) {
      try {
        this.workers.push(this.spawn(this.script, checks));
      } catch {
        // No thread can start: everything runs here from now on.
        this.script = null;
        return;
      }
    }
  }

  private spawn(script: string, checks: boolean): PoolWorker {
    const thread = new Worker(script, { workerData: { background: !checks } });
    thread.unref();
    const worker: PoolWorker = { thread, busy: null, id: 0, checks, idle: null, retired: false };
    thread.on("message", (message: { id: number; chunk?: ChunkData; done?: unknown; error?: string }) => {
      const pending = worker.busy;
      if (!pending || message.id !== worker.id) return;
      if (message.chunk) {
        pending.onChunk?.(message.chunk);
        return;
      }
      worker.busy = null;
      thread.unref();
      if (message.error !== undefined) pending.reject(new Error(message.error));
      else pending.resolve(message.done);
      this.dispatch();
    });
    const fail = (error: Error) => {
      const index = this.workers.indexOf(worker);
      if (index >= 0) this.workers.splice(index, 1);
      if (worker.idle) clearTimeout(worker.idle);
      worker.busy?.reject(error);
      worker.busy = null;
      if (worker.retired || this.closed) return;
      // A thread that died: the work waiting for its kind goes on here.
      this.script = null;
      for (const pending of this.queue.splice(0)) this.runHere(pending);
    };
    thread.on("error", fail);
    thread.on("exit", (code) => fail(new Error(`index worker exited with code ${code}`)));
    return worker;
  }

  buildRange(job: RangeJob): Promise<ChunkData> {
    return this.submit(job) as Promise<ChunkData>;
  }

  buildGzip(job: GzipJob, onChunk: (chunk: ChunkData) => void): Promise<GzipResult> {
    return this.submit(job, onChunk) as Promise<GzipResult>;
  }

  verify(job: VerifyJob): Promise<number[]> {
    return this.submit(job) as Promise<number[]>;
  }

  private submit(job: Job, onChunk?: (chunk: ChunkData) => void): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error("the index is closed"));
    return new Promise((resolve, reject) => {
      const pending: Pending = { job, resolve, reject, onChunk };
      if (!this.script || isSmall(job)) {
        this.runHere(pending);
        return;
      }
      this.queue.push(pending);
      this.ensure(job.kind === "verify");
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const worker of this.workers) {
      if (worker.busy) continue;
      const index = this.queue.findIndex((queued) => (queued.job.kind === "verify") === worker.checks);
      if (index < 0) {
        // Nothing for it: it ends after a while, unless work comes.
        worker.idle ??= setTimeout(() => {
          worker.idle = null;
          if (worker.busy || this.closed) return;
          worker.retired = true;
          void worker.thread.terminate();
        }, IDLE_MS).unref();
        continue;
      }
      if (worker.idle) {
        clearTimeout(worker.idle);
        worker.idle = null;
      }
      const pending = this.queue.splice(index, 1)[0]!;
      worker.busy = pending;
      worker.id = this.nextId++;
      worker.thread.ref();
      worker.thread.postMessage({ id: worker.id, job: pending.job });
    }
  }

  /** The job on this thread, in slices; builds one after another (each holds a chunk's worth of memory). */
  private runHere(pending: Pending): void {
    const slicer = new Slicer(SLICE_MS);
    const { job } = pending;
    const run = async () => {
      await slicer.yield();
      if (job.kind === "range") return buildRange(job, slicer);
      if (job.kind === "gzip") return buildGzip(job, slicer, (chunk) => pending.onChunk?.(chunk));
      return verifyRanges(job, slicer);
    };
    if (job.kind === "verify") {
      run().then(pending.resolve, pending.reject);
      return;
    }
    const result = this.inProcessBuilds.then(run);
    this.inProcessBuilds = result.catch(() => {});
    result.then(pending.resolve, pending.reject);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) pending.reject(new Error("the index is closed"));
    await Promise.all(
      this.workers.splice(0).map(async (worker) => {
        if (worker.idle) clearTimeout(worker.idle);
        worker.retired = true;
        worker.busy?.reject(new Error("the index is closed"));
        await worker.thread.terminate();
      }),
    );
  }
}
