/** What a time histogram is asked for: how many buckets at most, and where their edges fall. */
export interface HistogramRequest {
  /** Most buckets wanted (the source picks a round width that needs no more). */
  buckets: number;
  /**
   * Minutes east of UTC that bucket edges align to, so that hour and day
   * buckets start at the viewer's hours and midnights (390 for +06:30).
   */
  offsetMinutes?: number;
}

/** How many entries matching a filter fall in each stretch of time. */
export interface TimeHistogram {
  /** Start of the first bucket, epoch milliseconds; null when no matching entry has a time. */
  start: number | null;
  /** Width of every bucket. */
  bucketMs: number;
  /** Matching entries per bucket, oldest bucket first. */
  counts: number[];
  /** Of those, the failures (`success` false). */
  failures: number[];
  /** Matching entries, those without a readable time included (they are in no bucket). */
  total: number;
  /** The source is still indexing: the counts cover what it has read so far. */
  partial: boolean;
}

export const MAX_HISTOGRAM_BUCKETS = 500;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Bucket widths a reader recognises at a glance, narrowest first. */
export const BUCKET_WIDTHS = [
  SECOND,
  2 * SECOND,
  5 * SECOND,
  10 * SECOND,
  15 * SECOND,
  30 * SECOND,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
  30 * DAY,
  91 * DAY,
  182 * DAY,
  365 * DAY,
];

export interface HistogramLayout {
  start: number;
  bucketMs: number;
  buckets: number;
}

/**
 * The buckets covering [first, last]: the narrowest round width that needs at
 * most `request.buckets`, edges aligned to that width in the requested time
 * zone. Every source lays its histogram out with this function, so the same
 * filter gives the same buckets whichever source answers.
 */
export function histogramLayout(first: number, last: number, request: HistogramRequest): HistogramLayout {
  const wanted = Math.max(1, Math.min(MAX_HISTOGRAM_BUCKETS, Math.floor(request.buckets)));
  const offset = (request.offsetMinutes ?? 0) * MINUTE;
  const aligned = (width: number) => Math.floor((first + offset) / width) * width - offset;
  for (const width of BUCKET_WIDTHS) {
    const start = aligned(width);
    const buckets = Math.floor((last - start) / width) + 1;
    if (buckets <= wanted) return { start, bucketMs: width, buckets };
  }
  // Longer than the widest round width allows: whole years, as many as it takes.
  const width = Math.ceil((last - first + 1) / wanted / DAY) * DAY;
  const start = aligned(width);
  return { start, bucketMs: width, buckets: Math.floor((last - start) / width) + 1 };
}

/** The bucket of a time, or -1 outside the layout. */
export function bucketOf(layout: HistogramLayout, time: number): number {
  const bucket = Math.floor((time - layout.start) / layout.bucketMs);
  return bucket >= 0 && bucket < layout.buckets ? bucket : -1;
}
