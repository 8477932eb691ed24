// Node bundle of the VS Code extension host code: dist/extension.js (cjs, `vscode` external).
// Usable as a module (buildExtension(root)) and as a script (`node scripts/build-extension.mjs`).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

export async function buildExtension(root) {
  await esbuild.build({
    entryPoints: { extension: path.join(root, 'src', 'extension', 'extension.ts') },
    outdir: path.join(root, 'dist'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    // Only `vscode` is provided by the host; tree-kill and the rest are bundled (no node_modules needed).
    external: ['vscode'],
    logLevel: 'warning',
    absWorkingDir: root,
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  await buildExtension(root);
  console.error('built dist/extension.js');
}
