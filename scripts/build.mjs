// `npm run build`: engine bundle (node). Extension and webview bundles join here as they land.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { buildEngine } = require('./build-engine.cjs');
await buildEngine(root);
console.error('built dist/engine');
const { buildWebview } = await import('./build-webview.mjs');
await buildWebview(root);
console.error('built dist/webview');
const { buildExtension } = await import('./build-extension.mjs');
await buildExtension(root);
console.error('built dist/extension.js');
