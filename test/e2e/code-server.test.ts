// VS Code end to end: the packaged VSIX installed into a real VS Code (code-server, from
// scripts/e2e/setup-code-server.sh) and driven in Debian's Chromium like a new user would:
// open a dataset folder, trust it, run "RECLF: Explain Image + Report" from the palette, read
// the panel, hover a report word. Screenshots go to test-artifacts/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type FrameLocator, type Page } from 'playwright-core';
import treeKill from 'tree-kill';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const home = process.env.RECLF_E2E_HOME ?? path.join(os.homedir(), '.cache', 'reclf-e2e');
const node24 = path.join(home, 'node24', 'bin', 'node');
const entry = path.join(home, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const realCxr = path.resolve(root, '..', 'shared', 'data', 'real-cxr', 'iu-xray');
const artifacts = path.join(root, 'test-artifacts', 'e2e');

function installed(): boolean {
  try {
    return fs.readdirSync(home).some((f) => f.startsWith('.installed-')) && fs.existsSync(node24) && fs.existsSync(entry);
  } catch {
    return false;
  }
}

const skip = !installed() ? `code-server not installed in ${home} (run: bash scripts/e2e/setup-code-server.sh)`
  : !fs.existsSync(CHROMIUM) ? `${CHROMIUM} not installed (apt-get install -y chromium)` : false;
/** Slurm's client on PATH (the CI's local cluster): Train and Run Ablation then ask where to run. */
const hasSbatch = spawnSync('sh', ['-c', 'command -v sbatch'], { encoding: 'utf8' }).status === 0;
const skipReal = skip || (!fs.existsSync(path.join(realCxr, 'pairs.csv')) ? `${realCxr} absent` : false);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-e2e-'));
const ws = path.join(tmp, 'dataset');
const dataDir = path.join(tmp, 'user-data');
let server: ChildProcess | undefined;
let browser: Browser | undefined;
let page: Page;
let reportRel = '';
let secondReportRel = '';
/** The manifest record of reportRel: its word roles and finding boxes are the ground truth of item 5's check. */
let firstStudy: SynthStudy | undefined;
let realRel = '';
const timings: Record<string, number> = {};

// ---- fixtures --------------------------------------------------------------------------------

/** The fields of a `reclf synth` manifest line that the grounding check reads. */
interface SynthStudy {
  readonly id: string;
  readonly image: string;
  readonly boxes?: ReadonlyArray<readonly [number, number, number, number, string]>;
  readonly words?: ReadonlyArray<{ text: string; role: string; start: number; finding?: string; negated?: boolean }>;
}

/** A model that trains in seconds on CPU (the loop's steps are what is under test, not learning). */
const TINY_CONFIG = {
  data: { workers: 0, prefetch: 1 },
  text: { vocabSize: 300 },
  model: {
    image: { name: 'cnn-small', imageSize: 32, widths: [8, 8, 16, 16], blocks: [1, 1, 1, 1] },
    text: { layers: 1, hidden: 32, heads: 2, intermediate: 64, maxLength: 40 },
    projDim: 16, maxWords: 24, headHidden: 32,
  },
  method: {},
  train: { batchSize: 8, lr: 3e-3, warmupSteps: 2, logEvery: 1, checkpointEvery: 2, keepLast: 2, maxSteps: 60 },
};

/** The VSIX under test: RECLF_VSIX, else reclf-studio.vsix rebuilt when older than its sources. */
function vsixPath(): string {
  if (process.env.RECLF_VSIX) return path.resolve(process.env.RECLF_VSIX);
  const vsix = path.join(root, 'reclf-studio.vsix');
  const newest = Math.max(...['src', 'webview', 'package.json', '.vscodeignore', 'models'].map((p) => newestMtime(path.join(root, p))));
  if (!fs.existsSync(vsix) || fs.statSync(vsix).mtimeMs < newest) {
    const r = spawnSync('npm', ['run', 'package'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, `npm run package failed:\n${r.stdout}\n${r.stderr}`);
  }
  return vsix;
}

function newestMtime(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...fs.readdirSync(p).map((f) => newestMtime(path.join(p, f))));
}

/** A synthetic dataset whose first test-split reports live in .txt files (report_file), as importers write them. */
function makeDataset(): void {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'reclf.js'), 'synth', '--out', ws, '--n', '20'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `reclf synth failed: ${r.stderr}`);
  const manifest = path.join(ws, 'manifest.jsonl');
  const lines = fs.readFileSync(manifest, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  fs.mkdirSync(path.join(ws, 'reports'), { recursive: true });
  let moved = 0;
  for (const rec of lines) {
    if (moved >= 2 || typeof rec.report !== 'string') continue;
    const rel = `reports/${String(rec.id)}.txt`;
    fs.writeFileSync(path.join(ws, rel), rec.report + '\n');
    delete rec.report;
    rec.report_file = rel;
    if (!reportRel) {
      reportRel = rel;
      firstStudy = rec as unknown as SynthStudy;
    }
    else if (!secondReportRel) secondReportRel = rel;
    moved++;
  }
  fs.writeFileSync(manifest, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}

/** One frontal IU X-ray and its report, added to the dataset as one more manifest line. */
function addRealStudy(): string {
  const [header, ...rows] = fs.readFileSync(path.join(realCxr, 'pairs.csv'), 'utf8').trim().split(/\r?\n/);
  assert.equal(header, 'study_id,image,view,report');
  const row = rows.map((l) => l.split(',')).find((c) => c[2] === 'frontal');
  assert.ok(row, 'pairs.csv has no frontal image');
  const [id, image] = row;
  const raw = row.slice(3).join(',');
  const report = raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw;
  fs.mkdirSync(path.join(ws, 'real'), { recursive: true });
  fs.copyFileSync(path.join(realCxr, image), path.join(ws, 'real', `${id}.png`));
  fs.writeFileSync(path.join(ws, 'real', `${id}.txt`), report + '\n');
  fs.appendFileSync(path.join(ws, 'manifest.jsonl'), JSON.stringify({ id, image: `real/${id}.png`, report_file: `real/${id}.txt`, split: 'test' }) + '\n');
  return `real/${id}.txt`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

async function startCodeServer(extDir: string): Promise<string> {
  const port = await freePort();
  // Workspace trust stays ON (no --disable-workspace-trust): the test trusts the folder itself.
  server = spawn(node24, [entry, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
    '--disable-getting-started-override', '--user-data-dir', dataDir, '--extensions-dir', extDir, ws],
  { detached: true, stdio: ['ignore', fs.openSync(path.join(tmp, 'code-server.log'), 'a'), fs.openSync(path.join(tmp, 'code-server.log'), 'a')] });
  for (let i = 0; i < 120; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) return `http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`code-server did not start: ${fs.readFileSync(path.join(tmp, 'code-server.log'), 'utf8').slice(-2000)}`);
}

function stopCodeServer(): Promise<void> {
  const pid = server?.pid;
  if (!pid) return Promise.resolve();
  // The extension host and engine processes are children of code-server: kill the whole tree.
  return new Promise((resolve) => treeKill(pid, 'SIGKILL', () => resolve()));
}

// ---- driving the workbench --------------------------------------------------------------------

async function palette(command: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${command}`);
  await page.locator('.quick-input-widget .monaco-list-row').first().waitFor({ state: 'visible' });
  await page.keyboard.press('Enter');
}

async function openFile(rel: string): Promise<void> {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(rel);
  // Recent editors are listed before the file search answers: wait for this file's row.
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: path.basename(rel) }).first().waitFor({ state: 'visible', timeout: 20_000 });
  await page.keyboard.press('Enter');
  await page.locator(`.tab[data-resource-name="${path.basename(rel)}"], .tab[aria-label*="${path.basename(rel)}"]`).first().waitFor({ timeout: 15_000 });
  await page.locator('.monaco-editor .view-lines').first().waitFor();
}

function panelFrame(): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

async function notifications(): Promise<string[]> {
  return page.locator('.notifications-toasts .notification-list-item-message, .notifications-center .notification-list-item-message').allTextContents();
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(artifacts, name) });
}

/** The panel's heatmap, relation graph and importance bars, each scrolled into view and captured. */
async function panelShots(prefix: string): Promise<void> {
  for (const id of ['sec-image', 'sec-graph', 'sec-importance']) {
    await panelFrame().locator(`#${id}`).screenshot({ path: path.join(artifacts, `${prefix}-${id.slice(4)}.png`) });
  }
}

/** Extension-host log lines that report a failure of this extension (activation or later). */
function extensionHostErrors(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/exthost/i.test(p) && e.name.endsWith('.log')) {
        out.push(...fs.readFileSync(p, 'utf8').split('\n').filter((l) => /reclf/i.test(l) && /\[error\]|failed/i.test(l)));
      }
    }
  };
  walk(path.join(dataDir, 'logs'));
  return out;
}

/**
 * Hovers the first lower-case word of 5+ letters on the active editor's first line and waits for
 * the RECLF hover. Section headings ("FINDINGS:") and punctuation have no word slot in an
 * explanation (no importance, no hover), and a plain-text line is one DOM span, so the word is
 * located by its characters (a DOM Range), not by the span.
 */
async function hoverReportWord(timeout = 60_000) {
  const line = page.locator('.editor-group-container.active .monaco-editor .view-lines .view-line').first();
  await line.waitFor({ timeout: 20_000 });
  const hover = page.locator('.monaco-hover', { hasText: /IRM importance/ });
  const deadline = Date.now() + timeout;
  // The first hover may start the (cached, background) explanation; hover again until it is ready.
  while (!(await hover.isVisible())) {
    assert.ok(Date.now() < deadline, 'no RECLF hover on a report word');
    const box = await line.evaluate((el) => {
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const m = /(?<![A-Za-z])[a-z]{5,}/.exec(n.textContent ?? '');
        if (!m) continue;
        const r = document.createRange();
        r.setStart(n, m.index);
        r.setEnd(n, m.index + m[0].length);
        const b = r.getBoundingClientRect();
        return { x: b.x, y: b.y, w: b.width, h: b.height };
      }
      return undefined;
    });
    assert.ok(box, 'no report word on the first line');
    await page.mouse.move(box.x + 200, box.y + 300);
    await page.mouse.move(box.x + box.w / 2, box.y + box.h / 2, { steps: 3 });
    await hover.waitFor({ timeout: 2_000 }).catch(() => undefined);
  }
  return hover;
}

/** Waits until the panel shows an explanation of `reportText` (a substring) with every view drawn. */
async function waitForPanel(reportText: string, timeout = 90_000): Promise<void> {
  const f = panelFrame();
  await f.locator('.report-text', { hasText: reportText }).waitFor({ timeout });
  await f.locator('canvas.heatmap-canvas').waitFor({ timeout });
  await f.locator('svg.graph .node').first().waitFor({ timeout });
  await f.locator('.bars .bar-row').first().waitFor({ timeout });
}

// ---- lifecycle --------------------------------------------------------------------------------

before(async () => {
  if (skip) return;
  fs.mkdirSync(artifacts, { recursive: true });
  const vsix = vsixPath();
  makeDataset();
  // The researcher's loop trains with a tiny config so the tier stays within the CI budget.
  fs.writeFileSync(path.join(ws, 'tiny.reclf.json'), JSON.stringify(TINY_CONFIG, null, 2));
  // Added before code-server starts so quick open indexes it like any dataset file.
  if (!skipReal) realRel = addRealStudy();
  const extDir = path.join(tmp, 'extensions');
  const inst = spawnSync(node24, [entry, '--extensions-dir', extDir, '--user-data-dir', dataDir, '--install-extension', vsix], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(inst.status, 0, `--install-extension failed: ${inst.stdout}\n${inst.stderr}`);
  assert.ok(fs.readdirSync(extDir).some((d) => d.startsWith('reclf.reclf-studio-')), `VSIX not installed in ${extDir}: ${fs.readdirSync(extDir).join(', ')}`);
  fs.mkdirSync(path.join(dataDir, 'User'), { recursive: true });
  // A quiet first start; trust prompts stay on (that is what the test exercises).
  fs.writeFileSync(path.join(dataDir, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none', 'workbench.tips.enabled': false, 'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false, 'extensions.autoUpdate': false, 'workbench.enableExperiments': false,
    'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'always',
    'editor.hover.delay': 200, 'chat.disableAIFeatures': true, 'workbench.secondarySideBar.defaultVisibility': 'hidden',
  }, null, 2));
  const url = await startCodeServer(extDir);
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
});

after(async () => {
  if (page && !skip) await shot('last.png').catch(() => undefined);
  await browser?.close();
  await stopCodeServer();
  if (!skip) {
    const log = path.join(tmp, 'code-server.log');
    if (fs.existsSync(log)) fs.copyFileSync(log, path.join(artifacts, 'code-server.log'));
    if (Object.keys(timings).length) fs.writeFileSync(path.join(artifacts, 'timings.json'), JSON.stringify(timings, null, 2) + '\n');
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- the tier ---------------------------------------------------------------------------------

test('a restricted workspace refuses the engine commands; trusting the folder enables them', { skip }, async () => {
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: 60_000 });
  assert.match(await dialog.innerText(), /trust/i);
  await dialog.getByRole('button', { name: /No, I don't trust/i }).click();
  await page.locator('.statusbar-item', { hasText: /Restricted Mode/i }).first().waitFor({ timeout: 20_000 });
  await palette('RECLF: Explain Image + Report');
  // Either the palette hides the disabled command or the extension refuses it with a message.
  const refused = await Promise.race([
    page.locator('.notification-list-item-message', { hasText: /restricted workspace/i }).first().waitFor({ timeout: 5_000 }).then(() => 'message'),
    new Promise<string>((r) => setTimeout(() => r('none'), 5_000)),
  ]);
  await page.keyboard.press('Escape');
  assert.equal(await panelFrame().locator('.report-text').count(), 0, 'no explanation may be produced in restricted mode');
  console.error(`restricted mode: explain ${refused === 'message' ? 'refused with a message' : 'not runnable from the palette'}`);
  await shot('restricted.png');

  await palette('Workspaces: Manage Workspace Trust');
  const trustButton = page.locator('.workspace-trust-editor .monaco-button', { hasText: /^Trust( Folder)?$/ }).first();
  await trustButton.click({ timeout: 20_000 });
  await page.locator('.statusbar-item', { hasText: /Restricted Mode/i }).first().waitFor({ state: 'detached', timeout: 20_000 });
  await page.keyboard.press('Control+W');
});

test('the VSIX activates: RECLF activity-bar container, no activation error', { skip }, async () => {
  const container = page.locator('.activitybar .action-item a[aria-label^="RECLF Studio"], .activitybar .action-item[aria-label^="RECLF Studio"]').first();
  await container.waitFor({ timeout: 30_000 });
  await container.click();
  await page.locator('.pane-header', { hasText: /Runs/i }).first().waitFor({ timeout: 20_000 });
  const errs = (await notifications()).filter((m) => /activat|reclf/i.test(m) && /fail|error|cannot/i.test(m));
  assert.deepEqual(errs, []);
  assert.deepEqual(extensionHostErrors(), []);
  await shot('activated.png');
  // Give the Explanation view the whole side bar for the screenshots that follow.
  await page.locator('.pane-header', { hasText: /Runs/i }).first().click();
});

test('Explain Image + Report from the palette draws heatmap, relation graph and bars in the panel', { skip }, async () => {
  await openFile(reportRel);
  const report = fs.readFileSync(path.join(ws, reportRel), 'utf8').trim();
  const t0 = performance.now();
  await palette('RECLF: Explain Image + Report');
  await waitForPanel(report.slice(0, 30));
  timings.explainCommandToPanelDrawnMs = Math.round(performance.now() - t0);
  const f = panelFrame();
  const pix = await f.locator('canvas.heatmap-canvas').evaluate((c: HTMLCanvasElement) => {
    const d = (c.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - d[i + 1]) > 12 || Math.abs(d[i + 1] - d[i + 2]) > 12) coloured++;
    return { w: c.width, h: c.height, coloured: coloured / (d.length / 4) };
  });
  assert.ok(pix.w > 0 && pix.h > 0, `heatmap canvas is ${pix.w}x${pix.h}`);
  assert.ok(pix.coloured > 0.01, `heatmap overlay barely drawn (${(pix.coloured * 100).toFixed(2)}% coloured pixels)`);
  const words = await f.locator('.report-text .word').count();
  assert.ok(words > 5, `only ${words} words in the panel`);
  assert.equal(await f.locator('svg.graph .node').count(), words);
  assert.ok(await f.locator('svg.graph .edge').count() > 0, 'relation graph has no edges');
  assert.ok(await f.locator('.bars .bar-row').count() > 0, 'no importance bars');
  // A synthetic radiograph is what the bundled model was trained on: no out-of-distribution line.
  assert.equal(await f.locator('.ood-note').count(), 0, 'a synthetic study was flagged as unlike the training images');
  assert.deepEqual((await notifications()).filter((m) => /error|failed/i.test(m)), []);
  console.error(`e2e: explain command -> panel drawn: ${timings.explainCommandToPanelDrawnMs} ms (synthetic report, bundled model)`);
  await shot('explain-synthetic.png');
  await panelShots('explain-synthetic');
  assert.deepEqual(extensionHostErrors(), []);
});

test('hovering a report word shows its importance and related words', { skip }, async () => {
  await openFile(reportRel);
  const hover = await hoverReportWord();
  const text = await hover.innerText();
  assert.match(text, /IRM importance: \d\.\d{3} \(rank \d+ of \d+\)/);
  assert.match(text, /SRM-related words: /);
  assert.match(text, /Local-matching score: /);
  assert.match(text, /Show in panel/);
  await shot('hover.png');
  await page.mouse.move(5, 5);
});

// The bundled model trained on `reclf synth --seed 7` (scripts/build-model.mjs); this dataset is
// seed 0, so its studies are held out. The word checked is the report's first finding word that
// has a box, fixed by the report, not chosen by how the model does on it.
test('a held-out study\'s first finding word: its heatmap peaks inside its box, its top related word is its location', { skip }, async () => {
  const study = firstStudy;
  assert.ok(study?.words && study.boxes, `${reportRel}: the synthetic manifest line has no words or boxes`);
  const boxesOf = (finding: string | undefined) => (study.boxes ?? []).filter((b) => b[4].toLowerCase() === finding);
  const truth = study.words.filter((w) => w.role === 'finding' && !w.negated && boxesOf(w.finding).length > 0).sort((a, b) => a.start - b.start)[0];
  assert.ok(truth, `${study.id} has no finding word with a box`);
  const report = fs.readFileSync(path.join(ws, reportRel), 'utf8').trim();
  await openFile(reportRel);
  await palette('RECLF: Explain Image + Report');
  await waitForPanel(report.slice(0, 30));
  const f = panelFrame();
  await f.locator(`.report-text .word[data-start="${truth.start}"]`).click();
  const caption = f.locator('.heatmap-caption', { hasText: `“${truth.text}”` });
  await caption.waitFor({ timeout: 10_000 });
  const m = /peak region row (\d+), col (\d+) of (\d+)×(\d+)/.exec(await caption.innerText());
  assert.ok(m, `heatmap caption without a peak region: ${await caption.innerText()}`);
  const [row, col, rows, cols] = m.slice(1).map(Number);
  // The peak region's centre in image pixels (synthetic images are square: no letterboxing).
  const png = fs.readFileSync(path.join(ws, study.image));
  const [w, h] = [png.readUInt32BE(16), png.readUInt32BE(20)];
  const [x, y] = [((col - 0.5) * w) / cols, ((row - 0.5) * h) / rows];
  const boxes = boxesOf(truth.finding);
  const inside = boxes.some(([bx, by, bw, bh]) => x >= bx && x < bx + bw && y >= by && y < by + bh);
  // The word details list the selected word's SRM relations strongest first, each naming its word slot.
  const chip = f.locator('.related .chip').first();
  await chip.waitFor({ timeout: 10_000 });
  const slot = await chip.getAttribute('data-word');
  const start = Number(await f.locator(`.report-text .word[data-word="${slot}"]`).getAttribute('data-start'));
  const related = study.words.find((wd) => wd.start === start);
  console.error(`e2e: ${study.id} "${truth.text}" (${truth.finding}): peak row ${row}, col ${col} of ${rows}x${cols} ` +
    `(${x.toFixed(0)}, ${y.toFixed(0)} px) ${inside ? 'inside' : 'outside'} ${JSON.stringify(boxes)}; top related "${related?.text}" (${related?.role}, ${related?.finding ?? '-'})`);
  await panelShots('held-out-finding');
  assert.ok(inside, `"${truth.text}" peaks at region (${row}, ${col}), centre (${x.toFixed(0)}, ${y.toFixed(0)}) px, outside its boxes ${JSON.stringify(boxes)}`);
  assert.ok(related?.role === 'location' && related.finding === truth.finding,
    `"${truth.text}"'s top related word is "${related?.text}" (${related?.role ?? 'no word'}, of ${related?.finding ?? 'no finding'}), not a location word of ${truth.finding}`);
});

/** Engine-side lines of the extension's log ("#id: N words ... in T ms" from `reclf serve`). */
function engineLogTimings(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/RECLF Engine/i.test(e.name)) out.push(...fs.readFileSync(p, 'utf8').split('\n').filter((l) => /(#\d+: .* in \d+ ms|answered in \d+ ms|loaded .* in \d+ ms|\$ .* serve)/.test(l)));
    }
  };
  walk(path.join(dataDir, 'logs'));
  return out;
}

// The criterion ("opening the panel on a new report <= 300 ms"): a different report once
// the explain server is warm. Opening the file may already start its explanation (hover
// precompute), which is part of what the user gets, so both spans are recorded.
test('a second, different report with the explain server warm', { skip }, async () => {
  assert.ok(secondReportRel && secondReportRel !== reportRel);
  const report = fs.readFileSync(path.join(ws, secondReportRel), 'utf8').trim();
  const tOpen = performance.now();
  await openFile(secondReportRel);
  const t0 = performance.now();
  await palette('RECLF: Explain Image + Report');
  const tEnter = performance.now();
  await waitForPanel(report.slice(0, 30));
  const t1 = performance.now();
  timings.explainWarmNewReportCommandToPanelDrawnMs = Math.round(t1 - t0);
  timings.explainWarmNewReportPaletteMs = Math.round(tEnter - t0);
  timings.explainWarmNewReportOpenToPanelDrawnMs = Math.round(t1 - tOpen);
  console.error(`e2e: explain command -> panel drawn on a second report (server warm): ${timings.explainWarmNewReportCommandToPanelDrawnMs} ms ` +
    `(of which typing in the palette ${timings.explainWarmNewReportPaletteMs} ms; ` +
    `file open -> panel drawn ${timings.explainWarmNewReportOpenToPanelDrawnMs} ms; cold first report ${timings.explainCommandToPanelDrawnMs} ms)`);
  for (const l of engineLogTimings()) console.error(`e2e: engine log: ${l.trim()}`);
  await shot('explain-second-report.png');
});

test('a real IU X-ray and its report, explained from the palette', { skip: skipReal }, async () => {
  const rel = realRel;
  await openFile(rel);
  const report = fs.readFileSync(path.join(ws, rel), 'utf8').trim();
  const t0 = performance.now();
  await palette('RECLF: Explain Image + Report');
  await waitForPanel(report.slice(0, 30));
  timings.explainRealCommandToPanelDrawnMs = Math.round(performance.now() - t0);
  console.error(`e2e: explain command -> panel drawn: ${timings.explainRealCommandToPanelDrawnMs} ms (real IU X-ray, bundled model)`);
  // The bundled model was trained on synthetic radiographs; the panel says so in one line.
  assert.match(await panelFrame().locator('.ood-note').textContent() ?? '', /^This image is unlike the images this model was trained on \(synthetic radiographs/);
  await panelFrame().locator('.panel-header').screenshot({ path: path.join(artifacts, 'explain-real-cxr-header.png') });
  await shot('explain-real-cxr.png');
  await panelShots('explain-real-cxr');
  // The bundled model is trained on synthetic images: on a real radiograph its attention is nearly
  // flat, so the min-to-max colour scale is what shows where it peaks.
  await panelFrame().locator('#scale').selectOption('range');
  await panelFrame().locator('#sec-image').screenshot({ path: path.join(artifacts, 'explain-real-cxr-image-range.png') });
  assert.notEqual(await panelFrame().locator('.legend-min').textContent(), '0');
});

// ---- the researcher's loop (issue 15): dataset -> train -> cancel -> resume -> evaluate -> explain a study -> hover -> ablation

/** Picks the quick-pick row whose text contains `text` (waits for it). */
async function pickRow(text: string | RegExp, timeout = 20_000): Promise<void> {
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: text }).first();
  await row.waitFor({ state: 'visible', timeout });
  await row.click();
}

/**
 * Answers an input box titled `title`: replaces its value with `value` (or keeps the proposed one)
 * and accepts. Consecutive boxes reuse one widget: the title says which box is up.
 */
async function answerInput(value?: string, title?: RegExp): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  if (title) await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ state: 'visible', timeout: 20_000 });
  if (value !== undefined) await input.fill(value);
  await page.keyboard.press('Enter');
}

function runsTreeRow(name: string | RegExp) {
  return page.locator('.pane-body .monaco-list-row', { hasText: name }).first();
}

async function waitForNotification(re: RegExp, timeout = 120_000) {
  const n = page.locator('.notifications-toasts .notification-toast', { hasText: re }).first();
  await n.waitFor({ state: 'visible', timeout });
  return n;
}

const loopTimings: Record<string, number> = {};
const t0Loop = performance.now();
const lap = (name: string): void => { loopTimings[name] = Math.round(performance.now() - t0Loop); };

test('loop 1: Generate Synthetic Dataset from the palette (10000 offered, 40 typed)', { skip, timeout: 120_000 }, async () => {
  await page.locator('.pane-header', { hasText: /Runs/i }).first().click(); // the Runs view open again
  await palette('RECLF: Generate Synthetic Dataset');
  await answerInput(path.join(ws, 'data', 'loop'), /synthetic dataset folder/);
  await page.locator('.quick-input-widget .quick-input-title', { hasText: /Number of studies/ }).waitFor();
  const n = page.locator('.quick-input-widget input');
  await n.waitFor({ state: 'visible' });
  assert.equal(await n.inputValue(), '10000', 'the palette offers a dataset the default config learns from');
  await answerInput('40');
  await waitForNotification(/synthetic dataset written/);
  await shot('loop-1-synth.png');
  lap('synth');
});

test('loop 2: Train from the palette; the tree shows it running within seconds, no Refresh', { skip, timeout: 120_000 }, async () => {
  await palette('RECLF: Train');
  await pickRow(/data[\\/]loop/);
  await pickRow(/^reclf/);
  await pickRow(/tiny\.reclf\.json/);
  await answerInput('loop1', /Run name/);
  if (hasSbatch) await pickRow('This machine');
  const tStart = performance.now();
  await runsTreeRow(/loop1.*running/).waitFor({ timeout: 30_000 });
  loopTimings.treeShowsRunningMs = Math.round(performance.now() - tStart);
  await runsTreeRow(/loop1.*step \d+\/60/).waitFor({ timeout: 30_000 });
  // The notification carries step, loss and ETA.
  await page.locator('.notification-toast', { hasText: /step \d+\/60 · loss \d/ }).first().waitFor({ timeout: 30_000 });
  await shot('loop-2-training.png');
  lap('train');
});

test('loop 3: Cancel; tree and panel say cancelled (no stale "running · ETA")', { skip, timeout: 120_000 }, async () => {
  await palette('RECLF: Cancel Run');
  await runsTreeRow(/loop1.*cancelled/).waitFor({ timeout: 60_000 });
  await panelFrame().locator('.run-status', { hasText: /cancelled/ }).waitFor({ timeout: 30_000 });
  assert.doesNotMatch(await panelFrame().locator('.run-status').first().innerText(), /ETA/);
  await shot('loop-3-cancelled.png');
  await panelFrame().locator('#sec-run .run-status').first().screenshot({ path: path.join(artifacts, 'loop-3-panel-status.png') });
  lap('cancel');
});

test('loop 4: Resume keeps the history; completion notification offers the next steps', { skip, timeout: 180_000 }, async () => {
  await palette('RECLF: Resume Run');
  await pickRow('loop1');
  const done = await waitForNotification(/run loop1 finished/, 150_000);
  for (const b of ['Evaluate', 'Explain', 'Open Panel']) assert.ok(await done.locator('.monaco-button', { hasText: b }).count() > 0, `${b} action`);
  await runsTreeRow(/loop1.*finished 60\/60/).waitFor({ timeout: 30_000 });
  // History kept: the loss curve starts at step 1 and the resume is marked.
  const f = panelFrame();
  await f.locator('#sec-run figure.chart[data-family="loss"]').waitFor();
  assert.equal(await f.locator('#sec-run figure.chart[data-family="loss"] .tick').nth(2).textContent(), '1');
  assert.ok(await f.locator('#sec-run .resume-mark').count() > 0, 'resume marked');
  await shot('loop-4-finished.png');
  await f.locator('#sec-run .run-status').first().screenshot({ path: path.join(artifacts, 'loop-4-panel-status.png') });
  await f.locator('#sec-run figure.chart[data-family="loss"]').screenshot({ path: path.join(artifacts, 'loop-4-panel-loss.png') });
  await done.locator('.monaco-button', { hasText: 'Evaluate' }).click();
  lap('resume');
});

test('loop 5: Evaluate shows task progress, then results cards', { skip, timeout: 180_000 }, async () => {
  // Task k of n and the ETA while it runs (the notification reads the job's events).
  await page.locator('.notification-toast', { hasText: /Evaluate loop1: task \S+ \(\d+\/\d+\) · ETA/ }).first().waitFor({ timeout: 60_000 });
  await shot('loop-5-eval-progress.png');
  await waitForNotification(/evaluation of loop1 finished/, 150_000);
  const f = panelFrame();
  await f.locator('#sec-results .task-card').first().waitFor({ timeout: 30_000 });
  assert.ok(await f.locator('#sec-results .task-card').count() >= 3);
  assert.match(await f.locator('.job-eval .run-status').innerText(), /Evaluation: loop1 · finished/);
  await shot('loop-5-evaluated.png');
  await f.locator('#sec-results').screenshot({ path: path.join(artifacts, 'loop-5-results.png') });
  lap('evaluate');
});

test('loop 6: Explain a study picked from the dataset, then hover its report', { skip, timeout: 120_000 }, async () => {
  await page.keyboard.press('Escape');
  await palette('RECLF: Explain a Study from a Dataset');
  await pickRow(/data[\\/]loop/);
  await pickRow(/All studies/);
  // The same widget shows the study list next: wait for a study row, not the label list still on screen.
  const studyRow = page.locator('.quick-input-widget .monaco-list-row .label-name', { hasText: /^synth-\d+/ }).first();
  await studyRow.waitFor({ timeout: 30_000 });
  const first = (await studyRow.innerText()).trim();
  await page.keyboard.press('Enter');
  const f = panelFrame();
  await f.locator('.study-nav', { hasText: first }).waitFor({ timeout: 60_000 });
  await f.locator('canvas.heatmap-canvas').waitFor();
  await shot('loop-6-study.png');
  // The study's report opened as a read-only document; its words have hovers.
  await page.locator('.tab.active', { hasText: first }).waitFor({ timeout: 20_000 });
  const hover = await hoverReportWord();
  assert.match(await hover.innerText(), /IRM importance/);
  await shot('loop-6-hover.png');
  await page.mouse.move(5, 5);
  lap('explainStudy');
});

test('loop 7: an ablation of 2 variants is a tree group with its runs, and its table', { skip, timeout: 240_000 }, async () => {
  await palette('RECLF: Run Ablation');
  await pickRow(/data[\\/]loop/);
  // Variants: reclf and convirt are ticked; accept once this multi-pick (not the last picker) is up.
  await page.locator('.quick-input-widget .quick-input-title', { hasText: /variants to compare/ }).waitFor({ state: 'visible', timeout: 20_000 });
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'convirt' }).first().waitFor({ state: 'visible' });
  await page.keyboard.press('Enter');
  await answerInput('1', /pretraining seeds/);
  await answerInput('4', /optimizer steps/);
  await pickRow(/tiny\.reclf\.json/);
  if (hasSbatch) {
    // Slurm's sbatch is on PATH here: the extension offers the cluster; this loop stays local.
    await page.locator('.quick-input-widget .quick-input-title', { hasText: /where to run the ablation \(2 runs\)/ }).waitFor({ state: 'visible', timeout: 20_000 });
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Slurm cluster' }).first().waitFor({ state: 'visible' });
    await shot('loop-7-executor-choice.png');
    await pickRow('This machine');
  }
  await runsTreeRow(/ablation-.*ablation/).waitFor({ timeout: 30_000 });
  await shot('loop-7-ablation-running.png');
  await waitForNotification(/ablation .* finished/, 200_000);
  for (const v of ['reclf · seed 0', 'convirt · seed 0']) await runsTreeRow(v).waitFor({ timeout: 30_000 });
  await runsTreeRow(/ablation-.*ablation/).click();
  await panelFrame().locator('#sec-tables caption', { hasText: /Ablation ablation-/ }).waitFor({ timeout: 30_000 });
  assert.equal(await panelFrame().locator('#sec-tables table:has(caption:text-matches("Ablation ablation-")) tbody tr').count(), 2);
  await shot('loop-7-ablation-table.png');
  await panelFrame().locator('#sec-tables').screenshot({ path: path.join(artifacts, 'loop-7-table.png') });
  lap('ablation');
  fs.writeFileSync(path.join(artifacts, 'loop-timings.json'), JSON.stringify(loopTimings, null, 2) + '\n');
  assert.deepEqual(extensionHostErrors(), []);
});
