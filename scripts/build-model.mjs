// `npm run build:model`: the bundled default model. synth -> train RECLF from the `grounding`
// preset (the explanation design study's best setting; RECLF_MODEL_PRESET names another, and the
// config file RECLF_MODEL_CONFIG names refines it) with RECLF_MODEL_SEEDS training seeds side by
// side (default 3), keeping the seed whose last checkpoint grounds best on the validation split ->
// `reclf eval` -> export to models/reclf-default.onnx (+ vocab, + a summary of the training images)
// and write models/MODEL_CARD.md. Fails when the model exceeds 20 MB. Work goes to ./build-model/
// (git-ignored like ./demo/); RECLF_MODEL_N sets the synthetic dataset size (default 10000),
// RECLF_MODEL_EPOCHS the epochs (4); RECLF_MODEL_RESUME=1 continues an interrupted build.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chooseSeed, validationAt } from './lib/seed-choice.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = path.join(root, 'build-model');
const data = path.join(work, 'synth');
const choiceFile = path.join(work, 'seed-choice.json');
const models = path.join(root, 'models');
const modelFile = path.join(models, 'reclf-default.onnx');
// The design study's budget (README): 1,000 steps of 32 over 8,000 training studies, about 25
// minutes of training on a 2-core CPU. On the 800 studies of a 1,000-study set the default config
// overfits from about step 150 and its word-level readings stay at chance (issue #13).
const n = Number(process.env.RECLF_MODEL_N ?? 10000);
const epochs = process.env.RECLF_MODEL_EPOCHS ?? '4';
const preset = process.env.RECLF_MODEL_PRESET ?? 'grounding';
const configFile = process.env.RECLF_MODEL_CONFIG;
// One seed can land badly: the study's seeds of one setting spread by about 0.02-0.04 in pointing
// game, and a single build of the swap setting read 19% validation acc@1 where a second seed on
// the same data read 40% (README). The seeds train side by side, one process each.
const seedCount = Number(process.env.RECLF_MODEL_SEEDS ?? 3);
if (!Number.isInteger(seedCount) || seedCount < 1 || seedCount > 8) {
  console.error(`RECLF_MODEL_SEEDS must be a whole number from 1 to 8, not '${process.env.RECLF_MODEL_SEEDS}'`);
  process.exit(2);
}
const MAX_BYTES = 20 * 1024 * 1024;
const started = Date.now();

function reclf(args, { capture = false, optional = false } = {}) {
  console.error(`\n$ reclf ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'reclf.js'), ...args], {
    cwd: root, stdio: ['ignore', capture ? 'pipe' : 'ignore', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 28,
  });
  if (r.status !== 0) {
    if (optional) return null;
    console.error(`reclf ${args[0]} failed with exit code ${r.status}`);
    process.exit(r.status ?? 1);
  }
  return r.stdout ?? '';
}

// Trains one seed in a child process, its events (stdout) kept for the progress line and the
// seed choice, its messages (stderr) passed on with the seed in front.
// With RECLF_MODEL_RESUME=1 a finished seed is kept and an interrupted one continues from its
// last checkpoint with the config it recorded.
function trainSeed(seed, runDir, progress, resuming) {
  const summaryFile = path.join(runDir, 'train-summary.json');
  if (resuming && fs.existsSync(summaryFile) && JSON.parse(fs.readFileSync(summaryFile, 'utf8')).status === 'ok') {
    console.error(`\nseed ${seed}: finished earlier (${runDir})`);
    return Promise.resolve(0);
  }
  // A resumed run keeps the preset, config and seed it recorded in its config.json.
  const resume = resuming && fs.existsSync(path.join(runDir, 'config.json'));
  const setting = resume ? ['--resume'] : ['--preset', preset, ...(configFile ? ['--config', configFile] : []), '--seed', String(seed)];
  const args = ['train', '--data', data, '--method', 'reclf', '--out', runDir, '--epochs', epochs, ...setting];
  console.error(`\n$ reclf ${args.join(' ')}`);
  const child = spawn(process.execPath, [path.join(root, 'bin', 'reclf.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = (stream, onLine) => readline.createInterface({ input: stream }).on('line', onLine);
  lines(child.stdout, (line) => {
    if (!line.startsWith('{')) return;
    try {
      const e = JSON.parse(line);
      if (e.type === 'progress') progress[seed] = e;
    } catch { /* a partial or foreign line: the run's own events.jsonl is the record */ }
  });
  lines(child.stderr, (line) => { if (line.trim()) console.error(`[seed ${seed}] ${line}`); });
  return new Promise((resolve) => child.on('close', (code) => resolve(code)));
}

async function trainAndChoose(resuming) {
  const seeds = Array.from({ length: seedCount }, (_, i) => i);
  const progress = {};
  const ticker = setInterval(() => {
    const parts = seeds.map((s) => progress[s] ? `seed ${s} step ${progress[s].step}/${progress[s].total_steps} (${Math.ceil(progress[s].eta_s / 60)} min left)` : `seed ${s} starting`);
    console.error(`build:model ${((Date.now() - started) / 60000).toFixed(0)} min: ${parts.join(', ')}`);
  }, 120_000);
  const codes = await Promise.all(seeds.map((s) => trainSeed(s, path.join(work, 'runs', `seed-${s}`), progress, resuming)));
  clearInterval(ticker);
  const failed = seeds.filter((s, i) => codes[i] !== 0);
  if (failed.length) {
    console.error(`reclf train failed for seed ${failed.join(', ')} (see the [seed N] lines above); nothing was exported. RECLF_MODEL_RESUME=1 npm run build:model continues from the seeds' checkpoints`);
    process.exit(1);
  }
  const candidates = seeds.map((s) => {
    const runDir = path.join(work, 'runs', `seed-${s}`);
    const step = JSON.parse(fs.readFileSync(path.join(runDir, 'train-summary.json'), 'utf8')).step;
    return { seed: s, run: path.relative(work, runDir), step, validation: validationAt(fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8'), step) };
  });
  const choice = chooseSeed(candidates);
  fs.writeFileSync(choiceFile, JSON.stringify(choice, null, 2));
  return choice;
}

// RECLF_MODEL_REUSE=1 re-exports an existing ./build-model run (e.g. after changing the card).
const reuse = process.env.RECLF_MODEL_REUSE === '1' && fs.existsSync(choiceFile);
// RECLF_MODEL_RESUME=1 continues an interrupted build of the same inputs instead of starting over.
const inputsFile = path.join(work, 'build-inputs.json');
const inputs = { n, seed: 7, preset, config: configFile ? path.resolve(configFile) : null, epochs, seeds: seedCount };
let resuming = false;
if (!reuse && process.env.RECLF_MODEL_RESUME === '1' && fs.existsSync(inputsFile)) {
  const before = JSON.parse(fs.readFileSync(inputsFile, 'utf8'));
  const changed = Object.keys(inputs).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(inputs[k]));
  if (changed.length) {
    console.error(`RECLF_MODEL_RESUME=1: ${inputsFile} was built with other ${changed.map((k) => `${k} (${JSON.stringify(before[k])}, now ${JSON.stringify(inputs[k])})`).join(', ')}; run without RECLF_MODEL_RESUME to start over`);
    process.exit(2);
  }
  resuming = fs.existsSync(path.join(data, 'manifest.jsonl'));
}
if (!reuse && !resuming) {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  fs.writeFileSync(inputsFile, JSON.stringify(inputs, null, 2));
  reclf(['synth', '--out', data, '--n', String(n), '--seed', '7']);
}
const choice = reuse ? JSON.parse(fs.readFileSync(choiceFile, 'utf8')) : await trainAndChoose(resuming);
const run = path.join(work, choice.run);
console.error(`\nkept seed ${choice.seed} of ${choice.candidates.length} (${choice.by === 'pointing_game' ? 'validation pointing game' : 'validation acc@1'}): ${run}`);
const summary = JSON.parse(fs.readFileSync(path.join(run, 'train-summary.json'), 'utf8'));
const config = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));

let evalResult = null;
const evalOut = path.join(work, 'eval.json');
if (reclf(['eval', '--help'], { optional: true, capture: true }) !== null) {
  if (reclf(['eval', '--run', run, '--checkpoint', 'last', '--data', data, '--split', 'test', '--json', evalOut], { optional: true, capture: true }) !== null && fs.existsSync(evalOut)) {
    evalResult = JSON.parse(fs.readFileSync(evalOut, 'utf8'));
  }
}

// --data: the metadata describes the synthetic training images, so explanations of a real
// radiograph (unlike anything this model saw) say so in one line.
const exported = JSON.parse(reclf(['export', '--run', run, '--checkpoint', 'last', '--out', modelFile, '--data', data, '--json'], { capture: true }));
if (exported.bytes > MAX_BYTES) {
  console.error(`${modelFile} is ${(exported.bytes / 1e6).toFixed(1)} MB, above the 20 MB budget of the bundled model`);
  process.exit(1);
}

// How the card names the run's SRM: where it reasons, what its relation comes from, its logits
// and the training-only location-swap negative.
function srmText(m) {
  if (m.srm === false) return 'off';
  const where = m.srmStage === 'query' ? "on between the report's words before attention, relation from the word features"
    : m.srmStage === 'spatial' ? "on the attention maps: a relation learned from the word features weighs each word's attention by its related words'"
      : `on after attention, relation from ${m.relation}`;
  const logits = m.relationLogits === 'cosine' ? ` with cosine logits (gammaR ${m.gammaR})` : '';
  const offsets = m.srmOffsets > 0 ? `, a learned bias per word offset within ${m.srmOffsets}` : '';
  const locality = m.srmLocality > 0 ? `, a fixed distance bias of -${m.srmLocality} per word` : '';
  const swap = m.locationSwap && m.locationSwap !== 'off' ? `; trained with a ${m.locationSwap} location-swap negative (${m.swapAt === 'tokens' ? 're-encoded from its tokens' : 'on the word features'})` : '';
  return where + logits + offsets + locality + swap;
}

// How the card names the seed choice, with every candidate's validation readings so the spread
// between seeds is on record next to the kept one.
function seedText() {
  if (choice.candidates.length < 2) return '- One training seed (RECLF_MODEL_SEEDS=1): no seed choice.';
  const rows = choice.candidates.map((c) => {
    const r = c.validation;
    const word = typeof r.pointing_game === 'number' ? `pointing game ${f3(r.pointing_game)}, mass inside ${f3(r.mass_inside)}, ` : '';
    return `seed ${c.seed}: ${word}acc@1 ${pct(r.i2t_acc1)} / ${pct(r.t2i_acc1)}`;
  });
  const by = choice.by === 'pointing_game'
    ? "the highest pointing game of the word-level probe on the validation split's fixed subset"
    : 'the highest mean in-batch validation acc@1 (the data has no finding boxes)';
  return `- Seed choice: ${choice.candidates.length} seeds trained on the same data and config, seed ${choice.seed} kept by ${by}, read at each run's last step (the test split is read only for the kept seed, below): ${rows.join('; ')}.`;
}

const v = summary.validation;
// The word-level readings next to their floors: what uniform weights and the same model before
// training score (from `reclf eval`'s grounding, relations and importance tasks).
const task = (name) => evalResult?.results?.find((r) => r.task === name)?.metrics;
const f3 = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const g = task('grounding');
const rel = task('relations');
const imp = task('importance');
const wordLevel = g || rel || imp ? `
Word-level explanations on the synthetic test split (ground truth from the generator), each with
its floors: uniform weights, and the same architecture before training (random initialisation).
Pooled over studies, uniform relation rows do not read 0.500: a row's weights are 1/n, and the
finding-location pairs come from reports of other lengths than the other pairs do; within each
study they read 0.500.

| reading | this model | uniform | random init |
|---|---|---|---|
| pointing game (finding word's peak region in its box) | ${f3(g?.pointing_game)} | - | ${f3(g?.random_init_pointing_game)} |
| attention mass inside the finding's box | ${f3(g?.attention_mass_inside)} | ${f3(g?.uniform_mass_inside)} | ${f3(g?.random_init_attention_mass_inside)} |
| SRM: finding word's top related word is its location | ${f3(rel?.top1_accuracy)} | - | ${f3(rel?.random_init_top1_accuracy)} |
| SRM relation pair AUROC (finding-location pairs), pooled over studies | ${f3(rel?.pair_auroc)} | ${f3(rel?.uniform_pair_auroc)} | ${f3(rel?.random_init_pair_auroc)} |
| SRM relation pair AUROC, mean over studies | ${f3(rel?.mean_study_auroc)} | 0.500 | ${f3(rel?.random_init_mean_study_auroc)} |
| IRM importance AUROC (finding and location over function words) | ${f3(imp?.pooled_auroc)} | 0.500 | ${f3(imp?.random_init_pooled_auroc)} |
${byFindingTable()}` : '';
// The pooled readings per finding: a large finding (a pneumothorax's box) can carry them while
// small ones (a nodule's) never ground, and a panel shows one study's findings, not the mean.
function byFindingTable() {
  const labels = [...new Set(Object.keys({ ...g, ...rel }).filter((k) => /^(words_scored|scored_finding_words)\//.test(k)).map((k) => k.split('/')[1]))].sort();
  if (labels.length === 0) return '';
  return `
Per finding (the same test split): how often a finding word's peak region lies in its box, the
grid's ceiling for that (a box that holds no region centre of the ${exported.metadata.grid.join('x')} grid cannot be
pointed at), and how often its top related word is its own location word (negated findings
included: "no effusion" has a location too).

| finding | words grounded | pointing game | grid's ceiling | words with a location | SRM top-1 |
|---|---|---|---|---|---|
${labels.map((l) => `| ${l} | ${g?.[`words_scored/${l}`] ?? 0} | ${f3(g?.[`pointing_game/${l}`])} | ${f3(g?.[`oracle_pointing_game/${l}`])} | ${rel?.[`scored_finding_words/${l}`] ?? 0} | ${f3(rel?.[`top1_accuracy/${l}`])} |`).join('\n')}
`;
}
const pct = (x) => `${(100 * x).toFixed(1)}%`;
// A re-export keeps the full build's date and duration (recorded in the work folder) beside its own.
const buildRecord = path.join(work, 'build.json');
const minutes = ((Date.now() - started) / 60000).toFixed(1);
const today = new Date().toISOString().slice(0, 10);
if (!reuse) fs.writeFileSync(buildRecord, JSON.stringify({ date: today, minutes }));
const full = fs.existsSync(buildRecord) ? JSON.parse(fs.readFileSync(buildRecord, 'utf8')) : null;
const built = reuse
  ? `${full ? `on ${full.date} in ${full.minutes} min` : 'earlier'}; re-exported from that run (\`RECLF_MODEL_REUSE=1\`) on ${today} in ${minutes} min`
  : resuming
    ? `on ${today}, resumed after an interruption (\`RECLF_MODEL_RESUME=1\`; ${minutes} min for the resumed part)`
    : `on ${today} in ${minutes} min`;
const card = `# RECLF default model

\`reclf-default.onnx\` (${(exported.bytes / 1e6).toFixed(2)} MB, ${exported.nodes} ONNX nodes, opset 17) with its
vocabulary inline in the metadata and in \`reclf-default.vocab.txt\`. Built by \`npm run build:model\`
${built}.

## Data
The embedded synthetic chest-radiograph benchmark: \`reclf synth --n ${n} --seed 7\` (${config.model.image.imageSize} px
images, reports with findings, locations and negations; train/valid/test splits). No patient data.
It demonstrates the pipeline and the explanations; it is **not** a clinical model.

## Model and training
- Config: ${preset === 'default' ? 'the default CPU config' : `the \`${preset}\` preset (\`reclf train --preset ${preset}\`; README, explanation design study)`}${configFile ? `, refined by \`${path.relative(root, configFile)}\`` : ''}.
- Method: RECLF (${config.method.reading} reading, SRM ${srmText(config.method)}, IRM ${config.method.irm === 'lse' ? `as GLoRIA's LogSumExp pooling of the per-word cosines (gamma2 ${config.method.gamma2})` : `${config.method.irm} on ${config.method.irmInput}`}, score ${config.method.score}, ${config.method.attention} attention with gamma1 ${config.method.gamma1}).
- Image encoder: ${config.model.image.name} at ${config.model.image.imageSize} px, region grid ${exported.metadata.grid.join('x')}, regions from stage ${config.model.image.localStage ?? 3}${config.model.regionPositions ? ' with a learned position embedding per cell' : ''}.
- Text encoder: BERT ${config.model.text.layers} layers (word-level features from layer ${config.model.text.localLayer ?? config.model.text.layers}${config.model.text.localPositions === false ? ", without the position embedding: a word's feature does not depend on where it sits" : ''}), hidden ${config.model.text.hidden}, vocabulary ${config.model.text.vocabSize} WordPiece tokens, max ${config.model.text.maxLength} pieces / ${config.model.maxWords} words.
- Projection dimension ${config.model.projDim}; seed ${config.train.seed}; ${summary.step} optimizer steps of batch ${config.train.batchSize}; checkpoint: the last one (step ${summary.step}), whose validation figures are below (the run's best-validation checkpoint by \`train.selectBy\` was step ${summary.bestStep}).
${seedText()}
- Preprocessing: resize-and-pad to ${config.model.image.imageSize} px, normalise (x - 0.5) / 0.5.

## Results
${v ? `Validation (in-batch of ${v.batch.toFixed(0)}, chance acc@1 ${pct(1 / v.batch)}): image->text acc@1 ${pct(v.i2t_acc1)}, acc@5 ${pct(v.i2t_acc5)};
text->image acc@1 ${pct(v.t2i_acc1)}, acc@5 ${pct(v.t2i_acc5)}; loss ${v.loss.toFixed(4)}.` : 'No validation figures were recorded.'}
${wordLevel}
${exported.metadata.image_distribution ? `Images unlike its training images (${exported.metadata.image_distribution.source}) are flagged by \`explain\`
and the panel: the Mahalanobis distance of an image's pixel statistics (layout on an 8x8 grid, texture at four scales)
from theirs above ${exported.metadata.image_distribution.threshold.toFixed(2)} (the farthest held-out validation image's, ${exported.metadata.image_distribution.held_out_max.toFixed(2)}, plus 25%).\n` : ''}
${evalResult ? `\n\`reclf eval\` on the synthetic test split:\n\n\`\`\`json\n${JSON.stringify(evalResult, null, 2).split(root + path.sep).join('').slice(0, 4000)}\n\`\`\`\n` : ''}
## Contract
Inputs \`pixel_values [B,1,${config.model.image.imageSize},${config.model.image.imageSize}]\`, \`input_ids\`, \`attention_mask\`, \`word_ids [B,T]\` (int64);
outputs \`image_embedding\`, \`text_embedding\` (L2-normalised), \`region_features\`, \`word_features\`, \`attention [B,N,M]\`,
\`relation [B,N,N]\`, \`importance [B,N]\`, \`local_score [B]\`. Use: \`reclf explain --model models/reclf-default.onnx --image IMG --report-text "..."\`.
`;
fs.writeFileSync(path.join(models, 'MODEL_CARD.md'), card);
console.error(`\nwrote ${modelFile} and ${path.join(models, 'MODEL_CARD.md')}`);
