// How `npm run build:model` picks the seed it ships, from the validation split only: the
// word-level probe's pointing game at the last step (what the panel's heatmap shows) where every
// seed has one, else the mean in-batch acc@1 of image->text and text->image.

/** The validation readings at `step` (the exported checkpoint) from an events.jsonl text. */
export function validationAt(eventsText, step) {
  const readings = {};
  for (const line of eventsText.split('\n')) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line);
    if (e.type === 'metric' && e.split === 'valid' && e.step === step) readings[e.name] = e.value;
  }
  return readings;
}

const finite = (x) => typeof x === 'number' && Number.isFinite(x);

/**
 * candidates: [{ seed, run, step, validation }]. One criterion for all of them: a seed without a
 * pointing game (no boxes, or no probe at its last step) would otherwise be compared by its acc@1
 * against the others' pointing games. The first seed wins a tie.
 */
export function chooseSeed(candidates) {
  if (candidates.length === 0) throw new Error('chooseSeed: no trained seed to choose from');
  const by = candidates.every((c) => finite(c.validation.pointing_game)) ? 'pointing_game' : 'acc1';
  const score = (c) => (by === 'pointing_game' ? c.validation.pointing_game : (c.validation.i2t_acc1 + c.validation.t2i_acc1) / 2);
  for (const c of candidates) {
    if (!finite(score(c))) throw new Error(`seed ${c.seed} (${c.run}) has no validation ${by === 'pointing_game' ? 'pointing game' : 'acc@1'} at step ${c.step}`);
  }
  const best = candidates.reduce((a, b) => (score(b) > score(a) ? b : a));
  return { by, seed: best.seed, run: best.run, candidates };
}
