import type { BatchRecord } from '../batches/store.js';

/** A progress line: done/total, counts, pace and ETA. Pure, for tests. */
export function progressLine(batch: BatchRecord, ratePerSecond: number): string {
  const c = batch.counts;
  const done = batch.total - c.pending;
  const pct = batch.total ? Math.floor((done / batch.total) * 100) : 100;
  const eta =
    ratePerSecond > 0 && c.pending > 0 ? ` ETA ${duration(c.pending / ratePerSecond)}` : '';
  return (
    `${bar(pct)} ${pct}% ${done}/${batch.total}  sent ${c.sent}  failed ${c.failed}` +
    `  rejected ${c.rejected}  already ${c.already_sent}  ${ratePerSecond.toFixed(1)}/s${eta}`
  );
}

function bar(pct: number, width = 20): string {
  const filled = Math.round((pct / 100) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}:${String(rest).padStart(2, '0')}`;
}

/**
 * Shows progress on a stream: one line redrawn in place on a terminal, a plain line
 * every `plainEveryMs` otherwise (logs and CI stay readable).
 */
export class ProgressReporter {
  private samples: { at: number; done: number }[] = [];
  private lastPlain = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly plainEveryMs = 5_000,
  ) {}

  update(batch: BatchRecord, now = Date.now()): void {
    const done = batch.total - batch.counts.pending;
    this.samples.push({ at: now, done });
    while (this.samples.length > 2 && (this.samples[0]?.at ?? now) < now - 30_000)
      this.samples.shift();
    const line = progressLine(batch, this.rate());
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${line}`);
    } else if (now - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = now;
      this.out.write(`${line}\n`);
    }
  }

  finish(batch: BatchRecord): void {
    const line = progressLine(batch, this.rate());
    this.out.write(this.out.isTTY ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }

  /** Rows finished per second over the last 30 seconds. */
  private rate(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at === first.at) return 0;
    return ((last.done - first.done) * 1000) / (last.at - first.at);
  }
}
