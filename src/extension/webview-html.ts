// The side-panel page. Pure (no `vscode` import) so the Chromium test renders exactly what the
// extension serves. The CSP allows only the bundle (by nonce), its stylesheet and blob: images
// (the X-ray arrives as PNG bytes and is drawn from a Blob URL); no inline script or style.

export interface WebviewHtmlOptions {
  /** `webview.cspSource`: the origin VS Code serves local resources from. */
  cspSource: string;
  /** Fresh per render; only scripts carrying it may run. */
  nonce: string;
  scriptUri: string;
  styleUri: string;
  /** Extra scripts allowed through the nonce (tests inject a fake `acquireVsCodeApi`). */
  preludeScriptUris?: string[];
  title?: string;
}

const escAttr = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} blob: data:`,
    `style-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
  ].join('; ');
}

/** A nonce from a CSPRNG (base64url-ish alphabet, 32 chars). */
export function createNonce(): string {
  const bytes = new Uint8Array(24);
  globalThis.crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}

export function renderWebviewHtml(o: WebviewHtmlOptions): string {
  if (!/^[A-Za-z0-9+/_=-]{16,}$/.test(o.nonce)) throw new Error('renderWebviewHtml: nonce must be 16+ base64 characters');
  const nonce = escAttr(o.nonce);
  const scripts = [...(o.preludeScriptUris ?? []), o.scriptUri]
    .map((src) => `<script nonce="${nonce}" src="${escAttr(src)}"></script>`).join('\n  ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${escAttr(contentSecurityPolicy(o.cspSource, o.nonce))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${escAttr(o.styleUri)}">
  <title>${escAttr(o.title ?? 'RECLF Explain')}</title>
</head>
<body>
  <main id="app" aria-live="polite">
    <p class="empty">Run <strong>RECLF: Explain Image + Report</strong> to see what the model looks at.</p>
  </main>
  ${scripts}
</body>
</html>
`;
}
