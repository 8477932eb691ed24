// Text-swap negatives (MLIP's [design, METHODS.md section 5] and RECLF's location swap): a report
// whose finding (or location) words are replaced by another report's finding (location) words, or
// whose location words are permuted among its own findings, no longer describes its image
// ("right effusion" -> "right pneumothorax", "left base" -> "right apex"). The swap operates on
// word features: the swapped report reads those slots from the partner report's slots.
import type { Rng } from '../rng';

export type SwapKind = 'finding' | 'location';
const KINDS: readonly SwapKind[] = ['finding', 'location'];

export interface SwapPlan {
  /** Flat word slot each slot of the swapped batch reads from [B*N] (identity where nothing is swapped). */
  source: Int32Array;
  /** Reports whose swapped version states different entities (the usable negatives). */
  reports: number[];
  /** Partner report of each swapped report (same order as reports). */
  partners: number[];
}

/**
 * For each report, from a seeded random offset on, the first other report that has words of a
 * kind the report also has, with a different set of entities of that kind; the report's words of
 * each such kind are replaced, in order, by the partner's (cycling when it has fewer).
 * Negated and padded words are never swapped.
 */
export function textSwapPlan(
  entityIds: ArrayLike<number>, entityNegated: ArrayLike<number> | undefined, wordMask: ArrayLike<number>,
  b: number, n: number, kindOf: (entityRow: number) => SwapKind | null, rng: Rng,
): SwapPlan {
  const source = new Int32Array(b * n).map((_, k) => k);
  // slots[r][kind] = flat slots of report r's swappable words of that kind.
  const slots = Array.from({ length: b }, () => ({ finding: [] as number[], location: [] as number[] }));
  for (let k = 0; k < b * n; k++) {
    const id = entityIds[k];
    if (id < 0 || !(wordMask[k] > 0) || (entityNegated && entityNegated[k])) continue;
    const kind = kindOf(id);
    if (kind) slots[Math.floor(k / n)][kind].push(k);
  }
  const entitySet = (ks: number[]) => [...new Set(ks.map((k) => entityIds[k]))].sort((x, y) => x - y).join(',');
  const reports: number[] = [];
  const partners: number[] = [];
  for (let r = 0; r < b; r++) {
    if (b < 2) break;
    const offset = 1 + rng.int(b - 1);
    for (let s = 0; s < b - 1; s++) {
      const p = (r + offset + s) % b;
      if (p === r) continue;
      const kinds = KINDS.filter((kd) => slots[r][kd].length && slots[p][kd].length && entitySet(slots[r][kd]) !== entitySet(slots[p][kd]));
      if (!kinds.length) continue;
      for (const kd of kinds) {
        const mine = slots[r][kd];
        const theirs = slots[p][kd];
        mine.forEach((k, j) => {
          source[k] = theirs[j % theirs.length];
        });
      }
      reports.push(r);
      partners.push(p);
      break;
    }
  }
  return { source, reports, partners };
}

/**
 * Within one report: where it names two or more entities of one group (e.g. 'left' and 'right',
 * both laterality), each such word reads a word of the group's next entity, cycling ("right
 * effusion, left nodule" -> "left effusion, right nodule"). The swapped report names the same
 * words as the true one, so only which finding goes with which word tells them apart.
 * Negated and padded words are never swapped; partners are the reports themselves.
 */
export function withinReportSwapPlan(
  entityIds: ArrayLike<number>, entityNegated: ArrayLike<number> | undefined, wordMask: ArrayLike<number>,
  b: number, n: number, groupOf: (entityRow: number) => string | null,
): SwapPlan {
  const source = new Int32Array(b * n).map((_, k) => k);
  const reports: number[] = [];
  for (let r = 0; r < b; r++) {
    // group -> entity -> its slots, in order of first mention.
    const groups = new Map<string, Map<number, number[]>>();
    for (let k = r * n; k < (r + 1) * n; k++) {
      const id = entityIds[k];
      if (id < 0 || !(wordMask[k] > 0) || (entityNegated && entityNegated[k])) continue;
      const g = groupOf(id);
      if (g === null) continue;
      const byEntity = groups.get(g) ?? new Map<number, number[]>();
      groups.set(g, byEntity);
      const slots = byEntity.get(id) ?? [];
      byEntity.set(id, slots);
      slots.push(k);
    }
    let swapped = false;
    for (const byEntity of groups.values()) {
      const entities = [...byEntity.values()];
      if (entities.length < 2) continue;
      entities.forEach((slots, e) => {
        const next = entities[(e + 1) % entities.length];
        slots.forEach((k, j) => { source[k] = next[j % next.length]; });
      });
      swapped = true;
    }
    if (swapped) reports.push(r);
  }
  return { source, reports, partners: [...reports] };
}
