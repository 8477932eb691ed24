// src/core/runtime is the bottom layer (TF.js backend selection, ONNX Runtime sessions, host
// reads): it must not reach up into training, evaluation or explanation, and benchmarks measure
// the layers from outside (src/bench), never from inside runtime/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');
const runtimeDir = path.join(root, 'src', 'core', 'runtime');
const FORBIDDEN = ['src/core/train', 'src/core/eval', 'src/core/explain', 'src/bench'];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (/\.(ts|tsx|js|mjs|cjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** Every module specifier of a file: static and type imports, re-exports, require() and import(). */
function specifiers(code: string): string[] {
  const noComments = code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?(?:[\w*\s{},$]*?\s+from\s+)?['"]([^'"]+)['"]/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of noComments.matchAll(re)) out.push(m[1]);
  return out;
}

test('the specifier scanner sees every import form', () => {
  const code = [
    "import a from '../train/a';",
    "import type { B } from '../eval/b';",
    "import {\n  c,\n  d,\n} from '../explain/c';",
    "export { e } from '../../bench/bench-ops';",
    "export * from './f';",
    "import './side-effect';",
    "const g = require('../train/g');",
    "const h = await import('../eval/h');",
    "// import x from '../train/commented';",
  ].join('\n');
  assert.deepEqual(specifiers(code).sort(), [
    '../../bench/bench-ops', '../eval/b', '../eval/h', '../explain/c', '../train/a', '../train/g', './f', './side-effect',
  ].sort());
});

test('src/core/runtime imports nothing from train, eval, explain or src/bench', () => {
  const files = sources(runtimeDir);
  assert.ok(files.length > 0);
  const bad: string[] = [];
  for (const file of files) {
    for (const spec of specifiers(fs.readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = path.relative(root, path.resolve(path.dirname(file), spec)).split(path.sep).join('/');
      if (FORBIDDEN.some((f) => target === f || target.startsWith(`${f}/`))) bad.push(`${path.relative(root, file)} imports '${spec}'`);
    }
  }
  assert.deepEqual(bad, [], `core/runtime must stay below train/eval/explain and outside the benchmarks:\n${bad.join('\n')}`);
});

test('no benchmark lives in src/core/runtime', () => {
  const benches = sources(runtimeDir).filter((f) => /(^|[/\\])bench[-_.]/.test(path.basename(f)) || path.basename(f).startsWith('bench'));
  assert.deepEqual(benches.map((f) => path.relative(root, f)), [], 'benchmarks belong in src/bench');
});
