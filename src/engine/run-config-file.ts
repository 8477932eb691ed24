// Reads a `*.reclf.json` config file for the CLI: JSON errors name the file and position; paths
// inside the config are resolved against the config's own folder and may not escape it.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors';
import { resolveInside } from '../core/fs-atomic';

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
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
  const obj = raw as Record<string, unknown>;
  const text_ = obj.text as Record<string, unknown> | undefined;
  if (text_ && typeof text_.vocab === 'string' && text_.vocab) {
    const inside = resolveInside(path.dirname(path.resolve(file)), text_.vocab);
    if (!inside) throw new ConfigError(`${file}: text.vocab '${text_.vocab}' must be a relative path inside the config's folder`, 'text.vocab');
    obj.text = { ...text_, vocab: inside };
  }
  return obj;
}
