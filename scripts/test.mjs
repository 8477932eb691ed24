// `npm test`: every test/**/*.test.ts under node's test runner (tsx strips types).
// Usage: node scripts/test.mjs [substring ...] to run only matching files.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);
function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) { if (e.name !== 'fixtures' && e.name !== 'node_modules') out.push(...walk(p)); }
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const files = walk(path.join(root, 'test'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) { console.error('no test files matched'); process.exit(1); }
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: root, stdio: 'inherit', env: { ...process.env, RECLF_TEST: '1' },
});
process.exit(r.status ?? 1);
