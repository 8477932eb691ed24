// Places an ImportResult in the output folder: images symlinked (default) or copied under
// OUT/images/ so every manifest path stays inside the dataset folder (the dataset contract),
// masks written as single-channel PNGs, extra JSON files, then manifest.jsonl last (atomically),
// so that a manifest never names a file that is not there yet.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { resolveInside, writeJsonAtomic } from '../../fs-atomic';
import { writeManifest } from '../manifest-write';
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
  return writeManifest(dir, result.studies);
}
