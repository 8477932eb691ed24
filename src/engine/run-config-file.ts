// Reads a `*.reclf.json` config file for the CLI: JSON errors name the file and position; values
// are checked against the published schema (the same validator resolveRunConfig uses) before any
// caller merges flags into them; paths inside the config are resolved against the config's own
// folder and may not leave it, neither by their text nor, once symlinks are followed, by their
// real path.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors';
import { resolveInside } from '../core/fs-atomic';
import { MAX_VOCAB_BYTES, realDir, realFileUnder, regularInputFile } from '../core/data/input-guard';
import { validateConfigSchema } from '../core/train/run-config';
import { splitProvenance } from '../core/train/trainer';

/** A config file is a few KiB; anything past this is not one (and /dev/zero would never end). */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** A small JSON object file (a config, an ablation's variants): one-line errors naming the file. */
export function readJsonObjectFile(file: string, what = 'config'): Record<string, unknown> {
  const checked = regularInputFile(file, MAX_CONFIG_BYTES, undefined, `the ${what}`);
  if (!checked.ok) throw new ConfigError(`${file}: ${checked.reason.startsWith('file not found') ? `${what} file not found` : checked.reason}`);
  let text: string;
  try {
    text = fs.readFileSync(checked.real, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${file}: expected a JSON object`);
  return raw as Record<string, unknown>;
}

export function readConfigFile(file: string): Record<string, unknown> {
  const raw = readJsonObjectFile(file);
  // A run's config.json also records its provenance, which is not config (callers split it off).
  validateConfigSchema(splitProvenance(raw).config, file);
  const obj = raw as Record<string, unknown>;
  const text_ = obj.text as Record<string, unknown> | undefined;
  if (text_ && typeof text_.vocab === 'string' && text_.vocab) {
    const dir = path.dirname(path.resolve(file));
    const inside = resolveInside(dir, text_.vocab);
    if (!inside) throw new ConfigError(`${file}: text.vocab '${text_.vocab}' must be a relative path inside the config's folder`, 'text.vocab');
    const real = realFileUnder(inside, {
      roots: [realDir(dir) ?? dir], rootName: "the config's folder", maxBytes: MAX_VOCAB_BYTES, shown: text_.vocab,
    });
    if (!real.ok) throw new ConfigError(`${file}: text.vocab: ${real.reason}`, 'text.vocab');
    obj.text = { ...text_, vocab: real.real };
  }
  return obj;
}
