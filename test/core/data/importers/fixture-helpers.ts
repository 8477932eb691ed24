// Test helpers: copy a committed importer fixture into a temp folder and add tiny images there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

export const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');
export const realDir = path.resolve(repoRoot, '..', 'shared', 'data', 'real-cxr');

export function copyFixture(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `reclf-${name}-`));
  fs.cpSync(path.join(repoRoot, 'test', 'fixtures', 'importers', name), dir, { recursive: true });
  return dir;
}

/** Writes a tiny real image (JPEG or PNG by extension); any other extension gets placeholder bytes. */
export async function makeImage(file: string, value = 128): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.jpg' && ext !== '.png') { fs.writeFileSync(file, Buffer.from('DICM placeholder')); return; }
  const img = sharp(Buffer.alloc(16, value), { raw: { width: 4, height: 4, channels: 1 } });
  await (ext === '.jpg' ? img.jpeg() : img.png()).toFile(file);
}
