// Runs INSIDE a desktop VS Code's extension host (loaded by @vscode/test-electron's runTests as
// extensionTestsPath): plain CommonJS, since nothing transpiles it there. Throwing fails the run.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');

async function waitFor(what, fn, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

exports.run = async function run() {
  const ext = vscode.extensions.getExtension('reclf.reclf-studio');
  assert.ok(ext, 'reclf.reclf-studio is not loaded');
  await ext.activate();
  assert.equal(ext.isActive, true);

  // Every contributed command is registered by activate().
  const declared = ext.packageJSON.contributes.commands.map((c) => c.command);
  const registered = new Set(await vscode.commands.getCommands(true));
  assert.deepEqual(declared.filter((c) => !registered.has(c)), [], 'contributed but not registered');

  // Explain a dataset report (the image comes from the manifest) with the bundled model.
  const report = process.env.RECLF_E2E_REPORT;
  assert.ok(report && fs.existsSync(report), `RECLF_E2E_REPORT missing: ${report}`);
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(report));
  await vscode.window.showTextDocument(doc);
  await vscode.commands.executeCommand('reclf.explain', vscode.Uri.file(report));

  // The hover provider answers from the explanation cached by that run.
  const text = doc.getText();
  const at = text.search(/[A-Za-z]{5,}/);
  const hovers = await waitFor('a RECLF hover', async () => {
    const hs = await vscode.commands.executeCommand('vscode.executeHoverProvider', doc.uri, doc.positionAt(at + 1));
    const md = (hs || []).flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    return /IRM importance/.test(md) ? md : undefined;
  });
  assert.match(hovers, /SRM-related words/);
  fs.writeFileSync(path.join(process.env.RECLF_E2E_OUT, 'hover.md'), hovers);

  // Explain a study of the dataset (issue 15): no file needed; its report opens read-only with hovers.
  await vscode.commands.executeCommand('reclf.explainStudy', { manifest: process.env.RECLF_E2E_MANIFEST, id: process.env.RECLF_E2E_STUDY });
  const studyDoc = await waitFor('the study document', () => vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'reclf-study'));
  const studyText = studyDoc.getText();
  const w = studyText.search(/[A-Za-z]{5,}/);
  const studyHover = await waitFor('a hover on the study document', async () => {
    const hs = await vscode.commands.executeCommand('vscode.executeHoverProvider', studyDoc.uri, studyDoc.positionAt(w + 1));
    const md = (hs || []).flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    return /IRM importance/.test(md) ? md : undefined;
  });
  fs.writeFileSync(path.join(process.env.RECLF_E2E_OUT, 'hover-study.md'), studyHover);

  // The runs tree and commands of the loop are registered (the code-server tier drives them through the UI).
  for (const id of ['reclf.showRun', 'reclf.showResults', 'reclf.compareRuns', 'reclf.showAblation', 'reclf.nextStudy']) {
    assert.ok(registered.has(id), `${id} registered`);
  }
};
