// `npm run demo`: the main job on the embedded default, end to end:
// synthetic data -> pretrain RECLF (the `grounding` preset, as the bundled model; RECLF_DEMO_PRESET
// names another) -> print validation retrieval.
// Later stages (eval, export, explain) join as they land. Work goes to ./demo/ (git-ignored).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = path.join(root, 'demo');
const data = path.join(work, 'synth');
const run = path.join(work, 'runs', 'reclf');
const n = Number(process.env.RECLF_DEMO_N ?? 1000);
// Budget for the 10-minute demo on a 2-core CPU: 12 epochs of the 800 training studies.
const epochs = process.env.RECLF_DEMO_EPOCHS ?? '12';
const preset = process.env.RECLF_DEMO_PRESET ?? 'grounding';
const started = Date.now();

function reclf(args, { capture = false } = {}) {
  console.error(`\n$ reclf ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'reclf.js'), ...args], {
    cwd: root, stdio: ['ignore', capture ? 'pipe' : 'ignore', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 28,
  });
  if (r.status !== 0) {
    console.error(`reclf ${args[0]} failed with exit code ${r.status}`);
    process.exit(r.status ?? 1);
  }
  return r.stdout ?? '';
}

fs.rmSync(work, { recursive: true, force: true });
reclf(['synth', '--out', data, '--n', String(n), '--seed', '7']);
const events = reclf(['train', '--data', data, '--method', 'reclf', '--preset', preset, '--out', run, '--seed', '0', '--epochs', epochs], { capture: true })
  .split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const finished = events.find((e) => e.type === 'run_finished');
const v = finished?.summary?.validation;
console.log('\nRECLF Studio demo');
console.log(`  dataset   ${path.relative(root, data)} (${n} synthetic studies)`);
console.log(`  run       ${path.relative(root, run)} (RECLF, preset ${preset}, ${finished?.summary?.step} steps, status ${finished?.status})`);
if (v) {
  const chance = 100 / v.batch;
  console.log(`  validation in-batch retrieval (batches of ${v.batch.toFixed(0)}, chance acc@1 = ${chance.toFixed(1)}%):`);
  console.log(`    image->text acc@1 ${(100 * v.i2t_acc1).toFixed(1)}% (${(100 * v.i2t_acc1 / chance).toFixed(1)}x chance)  acc@5 ${(100 * v.i2t_acc5).toFixed(1)}%`);
  console.log(`    text->image acc@1 ${(100 * v.t2i_acc1).toFixed(1)}% (${(100 * v.t2i_acc1 / chance).toFixed(1)}x chance)  acc@5 ${(100 * v.t2i_acc5).toFixed(1)}%`);
}
// Evaluation of the demo run on the synthetic test split; prints the RECLF row.
const evalEvents = reclf(['eval', '--run', run, '--data', data, '--tasks', 'zeroshot,retrieval,grounding,relations,importance', '--max-prompts', '8'], { capture: true })
  .split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((e) => e.type === 'eval_result');
const metric = (task, name) => evalEvents.find((e) => e.task === task)?.metrics?.[name];
const fmt = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const row = [['zero-shot acc', metric('zeroshot', 'accuracy')], ['zero-shot AUROC', metric('zeroshot', 'auroc')],
  ['i2t R@1', metric('retrieval', 'i2t_R@1')], ['t2i R@1', metric('retrieval', 't2i_R@1')], ['pointing game', metric('grounding', 'pointing_game')],
  ['SRM top-1', metric('relations', 'top1_accuracy')], ['IRM AUROC', metric('importance', 'pooled_auroc')]];
console.log(`  eval (test split)  | ${row.map(([k]) => k).join(' | ')} |`);
console.log(`  RECLF              | ${row.map(([k, v]) => fmt(v).padStart(k.length)).join(' | ')} |`);
// Explain one abnormal test study: what the model looks at for its finding word.
const studies = fs.readFileSync(path.join(data, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const study = studies.find((s) => s.split === 'test' && (s.boxes ?? []).length > 0) ?? studies[0];
const explanation = reclf(['explain', '--run', run, '--image', path.join(data, study.image), '--report-text', study.report], { capture: true });
console.log(`\n  explanation of ${study.id} (${path.relative(root, path.join(data, study.image))}):`);
console.log(explanation.split('\n').map((l) => `    ${l}`).join('\n'));
// Each finding word against the generator's ground truth: where its attention peaks, whether that
// region's centre lies in the finding's box (the pointing game), and the word SRM relates it to most.
const ex = JSON.parse(reclf(['explain', '--run', run, '--image', path.join(data, study.image), '--report-text', study.report, '--json'], { capture: true }));
const png = fs.readFileSync(path.join(data, study.image));
const [imgW, imgH] = [png.readUInt32BE(16), png.readUInt32BE(20)];
const [rows, cols] = ex.grid;
console.log('\n  finding words against the ground truth (peak region: row, col of the model\'s grid):');
for (const truth of (study.words ?? []).filter((w) => w.role === 'finding' && !w.negated)) {
  const i = ex.words.findIndex((w) => w.start === truth.start);
  if (i < 0) continue;
  const att = ex.attention[i];
  const peak = att.indexOf(Math.max(...att));
  const [r, c] = [Math.floor(peak / cols), peak % cols];
  // Synthetic images are square, so the model's canvas maps onto the image without padding.
  const [x, y] = [((c + 0.5) * imgW) / cols, ((r + 0.5) * imgH) / rows];
  const boxes = (study.boxes ?? []).filter((b) => b[4].toLowerCase() === truth.finding);
  const inside = boxes.some(([bx, by, bw, bh]) => x >= bx && x < bx + bw && y >= by && y < by + bh);
  const rel = ex.relation[i].map((v, j) => (j === i ? -1 : v));
  const top = rel.indexOf(Math.max(...rel));
  const own = (study.words ?? []).some((w) => w.start === ex.words[top].start && w.role === 'location' && w.finding === truth.finding);
  console.log(`    ${truth.text.padEnd(14)} peak (${r}, ${c}) ${boxes.length ? (inside ? 'inside its box ' : 'outside its box') : 'no box         '}` +
    `  top related word "${ex.words[top].text}"${own ? ' (its location)' : ''}`);
}
console.log(`\n  total time ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log('  open the run in VS Code (RECLF: Select Model) to hover words and see the heatmaps.');
