// Turning two cumulative traffic snapshots (/console/api/traffic) into rates and windowed
// latency percentiles. Counters that went down (a restarted gateway) count from zero.

/** Per-second rate of a cumulative number between two snapshots. */
export function rate(before, after, seconds) {
  if (!(seconds > 0)) return 0;
  const delta = after >= before ? after - before : after;
  return delta / seconds;
}

/** Per-second rates of every key of two {name: total} maps. */
export function rates(before, after, seconds) {
  const out = {};
  for (const name of Object.keys(after)) out[name] = rate(before[name] || 0, after[name], seconds);
  return out;
}

/** Bucket counts observed between two snapshots: [[le, cumulative count]…] minus the earlier. */
export function bucketDelta(before, after) {
  const earlier = new Map((before || []).map(([le, count]) => [le, count]));
  return after.map(([le, count]) => [le, Math.max(count - (earlier.get(le) || 0), 0)]);
}

/**
 * The q-quantile (0..1) of cumulative buckets, interpolated linearly inside its bucket as
 * Prometheus' histogram_quantile does; NaN when nothing was observed. `le` null is +Inf.
 */
export function quantile(buckets, q) {
  if (!buckets.length) return NaN;
  const total = buckets[buckets.length - 1][1];
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === null) return lower;
      const inside = count - below;
      return inside > 0 ? lower + ((le - lower) * (rank - below)) / inside : le;
    }
    if (le !== null) lower = le;
    below = count;
  }
  return lower;
}
