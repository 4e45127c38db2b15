/** A repeatable stand-in for Math.random (a linear congruential generator), for the simulator's faults. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
