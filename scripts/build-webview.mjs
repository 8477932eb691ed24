// Browser bundle of the side-panel app: dist/webview/main.js (iife, minified) + main.css.
// Usable as a module (buildWebview(root)) and as a script (`node scripts/build-webview.mjs`).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

export async function buildWebview(root) {
  await esbuild.build({
    entryPoints: { main: path.join(root, 'webview', 'main.ts') },
    outdir: path.join(root, 'dist', 'webview'),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: ['chrome120'],
    minify: true,
    sourcemap: 'linked',
    logLevel: 'warning',
    absWorkingDir: root,
  });
  await esbuild.build({
    entryPoints: { main: path.join(root, 'webview', 'styles.css') },
    outdir: path.join(root, 'dist', 'webview'),
    bundle: true,
    minify: true,
    logLevel: 'warning',
    absWorkingDir: root,
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  await buildWebview(root);
  console.error('built dist/webview');
}
