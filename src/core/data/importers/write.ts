// Places an ImportResult in the output folder: images symlinked (default) or copied under
// OUT/images/ so every manifest path stays inside the dataset folder (the dataset contract),
// masks written as single-channel PNGs, extra JSON files, reclf-dataset.json declaring the folders
// the symlinks lead into (readers refuse links that resolve anywhere else), then manifest.jsonl
// last (atomically), so that a manifest never names a file that is not there yet.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { resolveInside, writeJsonAtomic } from '../../fs-atomic';
import { isUnder } from '../input-guard';
import { writeDatasetMeta, writeManifest } from '../manifest-write';
import type { ImportResult } from './common';

export type PlaceMode = 'link' | 'copy';

function inside(out: string, rel: string): string {
  const full = resolveInside(out, rel);
  if (!full) throw new Error(`importer produced a path outside the output folder: ${rel}`);
  return full;
}

export async function writeImport(result: ImportResult, out: string, mode: PlaceMode = 'link'): Promise<string> {
  const dir = path.resolve(out);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of result.files) {
    const dest = inside(dir, f.to);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.rmSync(dest, { force: true });
    if (mode === 'copy') fs.copyFileSync(f.from, dest);
    else fs.symlinkSync(path.resolve(f.from), dest);
  }
  for (const m of result.masks) {
    const dest = inside(dir, m.to);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const px = m.render();
    const bytes = new Uint8Array(px.length);
    for (let i = 0; i < px.length; i++) bytes[i] = px[i] ? 255 : 0;
    await sharp(bytes, { raw: { width: m.width, height: m.height, channels: 1 } })
      .toColourspace('b-w').png().toFile(dest);
  }
  for (const [rel, value] of Object.entries(result.json)) writeJsonAtomic(inside(dir, rel), value);
  writeDatasetMeta(dir, mode === 'link' ? linkRootsFor(result.files.map((f) => f.from)) : [], 'reclf import');
  return writeManifest(dir, result.studies);
}

/**
 * The folders that symlinks to `sources` resolve into, as few and as tight as possible: the
 * deepest folder holding every source (MIMIC-CXR: its files/ tree), or, when that would be the
 * file-system root, each source folder that is not inside another one.
 */
export function linkRootsFor(sources: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const s of sources) {
    try {
      dirs.add(path.dirname(fs.realpathSync(s)));
    } catch {
      // A source that vanished leaves a dangling link, which readers report as a missing file.
    }
  }
  if (dirs.size === 0) return [];
  const common = [...dirs].reduce(commonAncestor);
  if (path.parse(common).root !== common) return [common];
  const out: string[] = [];
  for (const d of [...dirs].sort()) if (!out.some((r) => isUnder(d, r))) out.push(d);
  return out;
}

function commonAncestor(a: string, b: string): string {
  let c = a;
  while (!isUnder(b, c)) {
    const up = path.dirname(c);
    if (up === c) return c;
    c = up;
  }
  return c;
}
