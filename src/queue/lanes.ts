/**
 * Requests with a recipient are throttled by CertCentral, so they go through the throttled
 * lane and its limiter; requests without one skip throttling entirely (the direct lane).
 */
export const LANES = ['throttled', 'direct'] as const;
export type Lane = (typeof LANES)[number];

export function laneFor(recipient: string | undefined): Lane {
  return recipient === undefined ? 'direct' : 'throttled';
}

/** Parses `--lane throttled|direct|all`. */
export function parseLaneOption(value: string): Lane[] {
  if (value === 'all') return [...LANES];
  if ((LANES as readonly string[]).includes(value)) return [value as Lane];
  throw new Error(`--lane must be throttled, direct or all (got "${value}")`);
}
