import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { it } from 'vitest';
import { readRows } from '../../src/csv/read-rows.js';

it('dump', async () => {
  const dir = 'test/fixtures/hostile';
  const exp = JSON.parse(readFileSync(`${dir}/EXPECTED.json`, 'utf8'));
  const out: string[] = [];
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.csv'))
    .sort()) {
    const rows: unknown[] = [];
    let err: unknown;
    try {
      for await (const r of readRows(`${dir}/${f}`)) rows.push(r);
    } catch (e) {
      err = e;
    }
    const e = exp[f];
    const actual = err
      ? { fatal: `${(err as Error).constructor.name}: ${(err as Error).message}` }
      : {
          valid: rows.filter((r: any) => r.kind === 'valid').map((r: any) => r.line),
          rejected: rows.filter((r: any) => r.kind === 'rejected').map((r: any) => r.line),
          orderIds: rows.filter((r: any) => r.kind === 'valid').map((r: any) => r.row.orderId),
          recipients: rows
            .filter((r: any) => r.kind === 'valid')
            .map((r: any) => r.row.recipient ?? null),
          reasons: rows
            .filter((r: any) => r.kind === 'rejected')
            .map((r: any) => `${r.line}: ${r.reason}`),
        };
    const ok = e.fatal
      ? 'fatal' in actual && actual.fatal.includes(e.fatal)
      : !('fatal' in actual) &&
        JSON.stringify(actual.valid) === JSON.stringify(e.valid) &&
        JSON.stringify(actual.rejected) === JSON.stringify(e.rejected) &&
        (!e.orderIds || JSON.stringify(actual.orderIds) === JSON.stringify(e.orderIds)) &&
        (!e.recipients || JSON.stringify(actual.recipients) === JSON.stringify(e.recipients));
    out.push(
      `${ok ? 'OK  ' : 'DIFF'} ${f}\n  expected ${JSON.stringify(e)}\n  actual   ${JSON.stringify(actual)}`,
    );
  }
  writeFileSync('/tmp/hostile-dump.txt', out.join('\n'));
});
