#!/usr/bin/env node
// The CLI is compiled from TypeScript by `npm run build` (run automatically by `npm ci`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('sealmail: not built yet; run `npm run build` in the project folder\n');
  process.exit(1);
}
await import(entry.href);
