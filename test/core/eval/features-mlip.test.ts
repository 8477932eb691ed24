// Evaluation of an MLIP run links report words to the knowledge base, so grounding / relations /
// importance read MLIP's own explanation (entity attention for linked words), not the GLoRIA
// fallback; the feature cache key names the knowledge base.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { resolveRunConfig } from '../../../src/core/train/run-config';
import { runTraining } from '../../../src/core/train/trainer';
import { initBackend } from '../../../src/core/runtime/backend';
import { loadRun } from '../../../src/core/train/run-loader';
import { readDataset } from '../../../src/core/data/manifest';
import { readSafetensorsFile } from '../../../src/core/io/safetensors';
import { defaultKnowledgeBase } from '../../../src/core/knowledge/kb';
import { encodeSplit, explainPairs } from '../../../src/core/eval/features';
import { tinyConfig, tinySynth } from '../../helpers/tiny';

let data: string;
let runDir: string;

before(async () => {
  const backend = (await initBackend(process.env.RECLF_TEST_BACKEND ?? 'wasm')).name;
  data = await tinySynth(24, 9, 64);
  runDir = path.join(data, 'run-mlip');
  const config = resolveRunConfig(tinyConfig({ train: { maxSteps: 2 } }), 'mlip');
  await runTraining({ runDir, dataDir: data, config, resume: false, cancel: { requested: false }, backend, device: 'test', listener: { emit: () => {}, log: () => {} } });
});

test('encodeSplit links an MLIP run\'s words (also from the cache) and explainPairs uses the links', async () => {
  const run = loadRun(runDir);
  try {
    assert.equal(run.method.needsEntities, true);
    const ds = readDataset(data);
    const a = await encodeSplit(run, ds.studies, { dataDir: data, split: 'valid' });
    const b = await encodeSplit(run, ds.studies, { dataDir: data, split: 'valid' });
    assert.equal(a.cached, false);
    assert.equal(b.cached, true);
    assert.equal(readSafetensorsFile(a.cacheFile).metadata.checkpoint.endsWith(`+kb@${defaultKnowledgeBase().version}`), true);
    assert.ok(a.entityIds && a.entityNegated && b.entityIds);
    assert.equal(a.entityIds.length, a.n * a.N);
    assert.deepEqual(Array.from(b.entityIds), Array.from(a.entityIds));
    // Links sit on real words only.
    for (let k = 0; k < a.entityIds.length; k++) if (a.entityIds[k] >= 0) assert.equal(a.wordMask[k], 1, `slot ${k} linked but padded`);
    const linked = Array.from(a.entityIds).filter((k) => k >= 0).length;
    assert.ok(linked >= a.n, `synthetic reports mention findings: only ${linked} linked slots in ${a.n} studies`);

    const rows = Array.from({ length: a.n }, (_, i) => i);
    const withLinks = await explainPairs(run, a, rows);
    const without = await explainPairs(run, { ...a, entityIds: undefined, entityNegated: undefined }, rows);
    const { N, M } = a;
    let differing = 0;
    for (const r of rows) {
      for (let i = 0; i < N; i++) {
        if (!a.wordMask[r * N + i]) continue;
        const x = withLinks[r].attention.subarray(i * M, (i + 1) * M);
        const y = without[r].attention.subarray(i * M, (i + 1) * M);
        const d = Math.max(...Array.from(x, (v, j) => Math.abs(v - y[j])));
        if (a.entityIds[r * N + i] >= 0) { if (d > 1e-6) differing++; } else assert.ok(d < 1e-6, `unlinked word ${r}/${i} changed by ${d}`);
      }
    }
    assert.ok(differing >= linked / 2, `entity attention used for only ${differing} of ${linked} linked words`);
  } finally {
    run.params.dispose();
  }
});
