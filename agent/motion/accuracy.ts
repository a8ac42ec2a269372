/**
 * Episode-level scoring against ground truth, shared by the accuracy test and the benchmark.
 *
 * A detected episode matches a true one when they overlap in time and the detected start is
 * within `onsetToleranceMs` of the true start. Each true episode matches at most one detected
 * episode (greedy, in time order), so splitting one walk into two episodes costs precision, and
 * merging two walks into one costs recall: both are errors an operator would notice.
 */

export interface Interval {
  startMs: number;
  endMs: number;
}

export interface AccuracyReport {
  truth: number;
  detected: number;
  matched: number;
  /** matched / detected (1 when nothing was detected). */
  precision: number;
  /** matched / truth (1 when there was nothing to find). */
  recall: number;
  /** Largest |detected start - true start| over the matches, ms. */
  worstOnsetMs: number;
  /** Per true episode: the onset error of its match, or null when it was missed. */
  onsetErrorsMs: (number | null)[];
}

export function scoreEpisodes(
  detected: readonly Interval[],
  truth: readonly Interval[],
  onsetToleranceMs = 1000,
): AccuracyReport {
  const det = [...detected].sort((a, b) => a.startMs - b.startMs);
  const used = new Set<number>();
  const onsetErrorsMs: (number | null)[] = [];
  for (const t of [...truth].sort((a, b) => a.startMs - b.startMs)) {
    let best: number | undefined;
    for (let i = 0; i < det.length; i++) {
      const d = det[i]!;
      if (used.has(i)) continue;
      const overlaps = d.startMs < t.endMs && d.endMs > t.startMs;
      if (!overlaps || Math.abs(d.startMs - t.startMs) > onsetToleranceMs) continue;
      if (best === undefined || Math.abs(d.startMs - t.startMs) < Math.abs(det[best]!.startMs - t.startMs))
        best = i;
    }
    if (best === undefined) {
      onsetErrorsMs.push(null);
    } else {
      used.add(best);
      onsetErrorsMs.push(det[best]!.startMs - t.startMs);
    }
  }
  const matched = used.size;
  const errors = onsetErrorsMs.filter((e): e is number => e !== null).map(Math.abs);
  return {
    truth: truth.length,
    detected: det.length,
    matched,
    precision: det.length === 0 ? 1 : matched / det.length,
    recall: truth.length === 0 ? 1 : matched / truth.length,
    worstOnsetMs: errors.length ? Math.max(...errors) : 0,
    onsetErrorsMs,
  };
}

/** Sums several reports (e.g. one per scene) into one. */
export function combineReports(reports: readonly AccuracyReport[]): AccuracyReport {
  const truth = reports.reduce((n, r) => n + r.truth, 0);
  const detected = reports.reduce((n, r) => n + r.detected, 0);
  const matched = reports.reduce((n, r) => n + r.matched, 0);
  return {
    truth,
    detected,
    matched,
    precision: detected === 0 ? 1 : matched / detected,
    recall: truth === 0 ? 1 : matched / truth,
    worstOnsetMs: Math.max(0, ...reports.map((r) => r.worstOnsetMs)),
    onsetErrorsMs: reports.flatMap((r) => r.onsetErrorsMs),
  };
}
