/** A worker thread of the JSONL index: runs the jobs of jobs.ts the pool sends, one at a time. */
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { type ChunkData, type HintLists, learnHints } from "./Chunk.js";
import { buildGzip, buildRange, type Job, verifyRanges } from "./jobs.js";
import { Slicer } from "./Slicer.js";

const port = parentPort;
if ((workerData as { background?: boolean } | null)?.background) {
  try {
    // Builds are background work: nice 10, for this thread only (Linux), so that the thread answering requests comes first.
    setPriority(10);
  } catch {
    // not allowed here: same priority
  }
}
const neverYields = new Slicer(Number.POSITIVE_INFINITY);

/** The buffers of a chunk, moved (not copied) to the main thread. */
export function chunkTransfers(chunk: ChunkData): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  const add = (view: ArrayBufferView | null) => {
    if (view) buffers.add(view.buffer as ArrayBuffer);
  };
  add(chunk.offsets);
  add(chunk.time);
  add(chunk.success);
  for (const column of Object.values(chunk.hashes)) add(column);
  add(chunk.ip);
  add(chunk.ipLines);
  add(chunk.ipBlocks);
  add(chunk.ipBlockCounts);
  for (const field of chunk.fields) {
    add(field.ids);
    add(field.starts);
    add(field.positions);
  }
  add(chunk.rawBloom);
  add(chunk.rawBlocks);
  return [...buffers];
}

/** What this thread found about fields in earlier chunks: later chunks start so instead of finding out again. */
const learned = { raw: new Set<string>(), template: new Set<string>() };
const learn = (chunk: ChunkData) => learnHints(learned, chunk);
const hinted = (hints: HintLists): HintLists => ({
  raw: [...new Set([...hints.raw, ...learned.raw])],
  template: [...new Set([...hints.template, ...learned.template])],
});

port?.on("message", async ({ id, job }: { id: number; job: Job }) => {
  try {
    if (job.kind === "range") {
      const chunk = await buildRange({ ...job, hints: hinted(job.hints) }, neverYields);
      learn(chunk);
      port.postMessage({ id, done: chunk }, chunkTransfers(chunk));
    } else if (job.kind === "gzip") {
      const result = await buildGzip({ ...job, hints: hinted(job.hints) }, neverYields, (chunk) => {
        learn(chunk);
        port.postMessage({ id, chunk }, chunkTransfers(chunk));
      });
      port.postMessage({ id, done: result });
    } else {
      port.postMessage({ id, done: await verifyRanges(job, neverYields) });
    }
  } catch (error) {
    port.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
