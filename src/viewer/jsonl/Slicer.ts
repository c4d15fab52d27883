import { setImmediate as nextTurn } from "node:timers/promises";

/**
 * Cooperative time slicing: long work calls `pause()` often, and gives the
 * event loop back once its slice is used up, so that no request waits more
 * than a slice behind it. A slicer with an infinite budget never yields (in
 * a worker thread, where nothing else waits).
 */
export class Slicer {
  private sliceStart = performance.now();

  constructor(readonly budgetMs: number) {}

  /** Whether the slice is used up. */
  get due(): boolean {
    return performance.now() - this.sliceStart >= this.budgetMs;
  }

  /** Yields to the event loop if the slice is used up. */
  async pause(): Promise<void> {
    if (this.budgetMs === Number.POSITIVE_INFINITY) return;
    if (performance.now() - this.sliceStart < this.budgetMs) return;
    await nextTurn();
    this.sliceStart = performance.now();
  }

  /** Always yields (and starts a new slice). */
  async yield(): Promise<void> {
    if (this.budgetMs === Number.POSITIVE_INFINITY) return;
    await nextTurn();
    this.sliceStart = performance.now();
  }
}

/** Slices of the main thread's work: short enough that a light request is answered within a few of them. */
export const SLICE_MS = 6;
