import { forEachSegmentLine } from "../trail/segmentReader.js";
import type { TrailSegment } from "../trail/segments.js";
import type { SegmentSummary } from "../trail/TrailJanitor.js";
import { lineTimestamp, readSealTail } from "./sealTail.js";

/**
 * What a segment holds, for the entry that announces its pruning: its lines,
 * their time range, and per hash chain the first and last sequence numbers
 * and the last hash, which is where verify picks the chain up again.
 */
export async function summarizeSegment(segment: TrailSegment): Promise<SegmentSummary> {
  const summary: SegmentSummary = { lines: 0, torn: 0, chains: [] };
  const chains = new Map<string, SegmentSummary["chains"][number]>();
  await forEachSegmentLine(segment, (line, _lineNo, unterminated) => {
    if (line.length === 0) return;
    const seal = unterminated ? undefined : readSealTail(line);
    if (!seal && line[line.length - 1] !== 0x7d) {
      summary.torn++;
      return;
    }
    summary.lines++;
    const time = lineTimestamp(line);
    if (time) {
      summary.firstTimestamp ??= time;
      summary.lastTimestamp = time;
    }
    if (!seal) return;
    const chain = chains.get(seal.chainId);
    if (!chain) chains.set(seal.chainId, { chainId: seal.chainId, firstSeq: seal.seq, lastSeq: seal.seq, lastHash: seal.hash });
    else if (seal.seq > chain.lastSeq) {
      chain.lastSeq = seal.seq;
      chain.lastHash = seal.hash;
    }
  });
  summary.chains = [...chains.values()];
  return summary;
}
