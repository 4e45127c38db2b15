import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Figures of the last reliability run, quoted in docs/RELIABILITY.md. */
const FILE = fileURLToPath(new URL('../../bench/results/reliability.json', import.meta.url));

export function recordFigures(test: string, figures: Record<string, unknown>): void {
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, unknown>;
  } catch {
    // first run
  }
  all[test] = { ...figures, at: new Date().toISOString() };
  writeFileSync(FILE, `${JSON.stringify(all, null, 2)}\n`);
}
