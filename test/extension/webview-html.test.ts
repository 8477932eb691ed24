import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentSecurityPolicy, createNonce, renderWebviewHtml } from '../../src/extension/webview-html';

const opts = { cspSource: 'https://file+.vscode-resource.vscode-cdn.net', nonce: 'abcdefghijklmnopqrstuvwx', scriptUri: 'https://r/dist/webview/main.js', styleUri: 'https://r/dist/webview/main.css' };

test('the page carries the strict CSP and loads only nonce-tagged scripts', () => {
  const html = renderWebviewHtml(opts);
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1];
  assert.equal(csp, contentSecurityPolicy(opts.cspSource, opts.nonce));
  assert.equal(csp, "default-src 'none'; img-src https://file+.vscode-resource.vscode-cdn.net blob: data:; style-src https://file+.vscode-resource.vscode-cdn.net; script-src 'nonce-abcdefghijklmnopqrstuvwx'; font-src https://file+.vscode-resource.vscode-cdn.net");
  const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.equal(scripts.length, 1);
  assert.match(scripts[0][1], /nonce="abcdefghijklmnopqrstuvwx" src="https:\/\/r\/dist\/webview\/main\.js"/);
  assert.equal(scripts[0][2], '', 'no inline script');
  assert.doesNotMatch(html, /\sstyle=/, 'no inline style attribute');
  assert.doesNotMatch(html, /<style/, 'no inline style element');
  assert.match(html, /<link rel="stylesheet" href="https:\/\/r\/dist\/webview\/main\.css">/);
});

test('prelude scripts come first and share the nonce; attributes are escaped', () => {
  const html = renderWebviewHtml({ ...opts, preludeScriptUris: ['https://r/fake.js'], scriptUri: 'https://r/a.js?x="><b>' });
  const srcs = [...html.matchAll(/<script nonce="[^"]+" src="([^"]+)">/g)].map((m) => m[1]);
  assert.deepEqual(srcs, ['https://r/fake.js', 'https://r/a.js?x=&quot;&gt;&lt;b&gt;']);
});

test('nonces are long, unguessable and CSP-safe; bad nonces are refused', () => {
  const a = createNonce();
  const b = createNonce();
  assert.notEqual(a, b);
  assert.match(a, /^[A-Za-z0-9_-]{32}$/);
  assert.doesNotThrow(() => renderWebviewHtml({ ...opts, nonce: a }));
  assert.throws(() => renderWebviewHtml({ ...opts, nonce: 'short' }), /nonce/);
  assert.throws(() => renderWebviewHtml({ ...opts, nonce: "abcdefghijklmnop' 'unsafe-inline" }), /nonce/);
});
