// Desktop VS Code end to end with @vscode/test-electron, for machines that have one: the
// extension under development loaded into a real VS Code, test/e2e/electron/suite.cjs run in its
// extension host (activation, registered commands, Explain on a dataset report, hover content).
// Never downloads VS Code: without one found offline (VSCODE_EXECUTABLE, `code` on PATH, the usual
// install folders or an existing .vscode-test/ cache) the suite skips with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const artifacts = path.join(root, 'test-artifacts', 'e2e');

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, cmd);
    if (dir && fs.existsSync(p)) return p;
  }
  return undefined;
}

/** A desktop VS Code executable (Electron binary, not the `code` CLI wrapper), found offline. */
function findVSCode(): string | undefined {
  const candidates: string[] = [];
  if (process.env.VSCODE_EXECUTABLE) candidates.push(process.env.VSCODE_EXECUTABLE);
  const cli = onPath('code');
  // Linux packages put the CLI at <install>/bin/code and the Electron binary at <install>/code.
  if (cli) candidates.push(path.resolve(path.dirname(fs.realpathSync(cli)), '..', 'code'));
  candidates.push('/usr/share/code/code', '/usr/lib/code/code', '/opt/visual-studio-code/code', '/snap/code/current/usr/share/code/code');
  const cache = path.join(root, '.vscode-test');
  if (fs.existsSync(cache)) {
    for (const d of fs.readdirSync(cache)) if (d.startsWith('vscode-')) candidates.push(path.join(cache, d, 'code'));
  }
  // code-server's binaries are not a desktop VS Code (no Electron): never pick them.
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile() && !/code-server/.test(c));
}

const vscodeExe = findVSCode();
const xvfb = process.env.DISPLAY ? undefined : onPath('Xvfb');
const skip = !vscodeExe ? 'no desktop VS Code found offline (set VSCODE_EXECUTABLE, or put `code` on PATH)'
  : process.platform === 'linux' && !process.env.DISPLAY && !xvfb ? 'no DISPLAY and no Xvfb to give VS Code a screen' : false;

test('desktop VS Code: activation, commands, Explain and hovers', { skip, timeout: 240_000 }, async () => {
  if (!fs.existsSync(path.join(root, 'dist', 'extension.js'))) {
    const b = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, encoding: 'utf8' });
    assert.equal(b.status, 0, `build failed: ${b.stderr}`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-electron-'));
  const ws = path.join(tmp, 'dataset');
  const synth = spawnSync(process.execPath, [path.join(root, 'bin', 'reclf.js'), 'synth', '--out', ws, '--n', '20'], { encoding: 'utf8' });
  assert.equal(synth.status, 0, `reclf synth failed: ${synth.stderr}`);
  // One report as a .txt file named by the manifest (report_file), so Explain needs no dialog.
  const manifest = path.join(ws, 'manifest.jsonl');
  const [first, ...rest] = fs.readFileSync(manifest, 'utf8').split('\n').filter(Boolean);
  const rec = JSON.parse(first) as Record<string, unknown>;
  const report = path.join(ws, 'reports', `${String(rec.id)}.txt`);
  fs.mkdirSync(path.dirname(report), { recursive: true });
  fs.writeFileSync(report, `${String(rec.report)}\n`);
  delete rec.report;
  rec.report_file = path.relative(ws, report);
  fs.writeFileSync(manifest, [JSON.stringify(rec), ...rest].join('\n') + '\n');
  fs.mkdirSync(artifacts, { recursive: true });

  let display: ReturnType<typeof spawn> | undefined;
  // A study whose report is inline in the manifest: explained with no file, hovered in its virtual document.
  const study = String((JSON.parse(rest[0]) as Record<string, unknown>).id);
  const env: Record<string, string | undefined> = { RECLF_E2E_REPORT: report, RECLF_E2E_OUT: artifacts, RECLF_E2E_MANIFEST: manifest, RECLF_E2E_STUDY: study };
  if (xvfb) {
    display = spawn(xvfb, [':97', '-screen', '0', '1280x1024x24'], { stdio: 'ignore' });
    env.DISPLAY = ':97';
    await new Promise((r) => setTimeout(r, 1000));
  }
  try {
    const code = await runTests({
      vscodeExecutablePath: vscodeExe!,
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(root, 'test', 'e2e', 'electron', 'suite.cjs'),
      extensionTestsEnv: env,
      // Trusted on purpose: the engine commands are refused in restricted mode (the code-server tier checks that).
      launchArgs: [ws, '--disable-extensions', '--disable-gpu', '--skip-welcome', '--skip-release-notes',
        '--user-data-dir', path.join(tmp, 'user-data'), '--extensions-dir', path.join(tmp, 'extensions')],
    });
    assert.equal(code, 0);
    assert.match(fs.readFileSync(path.join(artifacts, 'hover.md'), 'utf8'), /IRM importance/);
    assert.match(fs.readFileSync(path.join(artifacts, 'hover-study.md'), 'utf8'), /IRM importance/);
  } finally {
    display?.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
