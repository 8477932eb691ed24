// Tiny declarative flag parser: each subcommand declares its flags once, which gives both the
// parsing and the --help text.

// 'multi': repeatable, each occurrence one value, never split at commas (an #SBATCH line may hold some).
export type FlagType = 'string' | 'number' | 'boolean' | 'list' | 'multi';

export interface FlagSpec {
  type: FlagType;
  description: string;
  default?: string | number | boolean | string[];
  required?: boolean;
  /** Placeholder shown in help, e.g. DIR. */
  value?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Description of positional arguments for help, if any. */
  positionals?: string;
}

export type ParsedFlags = Record<string, string | number | boolean | string[] | undefined>;

export interface ParsedArgs {
  flags: ParsedFlags;
  positionals: string[];
  help: boolean;
}

/** A user mistake: printed as one clear line, no stack trace, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function parseArgs(spec: CommandSpec, argv: string[]): ParsedArgs {
  const flags: ParsedFlags = {};
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { help = true; continue; }
    if (a === '--') { positionals.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith('--')) { positionals.push(a); continue; }
    let name = a.slice(2);
    let inline: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) { inline = name.slice(eq + 1); name = name.slice(0, eq); }
    let negate = false;
    let f = spec.flags[name];
    if (!f && name.startsWith('no-') && spec.flags[name.slice(3)]?.type === 'boolean') {
      negate = true;
      name = name.slice(3);
      f = spec.flags[name];
    }
    if (!f) throw new UsageError(`unknown option --${name} for 'reclf ${spec.name}' (see 'reclf ${spec.name} --help')`);
    const key = camel(name);
    if (f.type === 'boolean') {
      flags[key] = inline !== undefined ? !['false', '0', 'no'].includes(inline) : !negate;
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw new UsageError(`option --${name} needs a value`);
    if (f.type === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new UsageError(`option --${name} expects a number, got '${raw}'`);
      flags[key] = n;
    } else if (f.type === 'multi') {
      const prev = flags[key];
      flags[key] = [...(Array.isArray(prev) ? prev : []), raw];
    } else if (f.type === 'list') {
      flags[key] = raw.split(',').map((s) => s.trim()).filter(Boolean);
    } else {
      flags[key] = raw;
    }
  }
  for (const [name, f] of Object.entries(spec.flags)) {
    const key = camel(name);
    if (flags[key] === undefined && f.default !== undefined) flags[key] = f.default;
    if (!help && f.required && flags[key] === undefined) {
      throw new UsageError(`missing required option --${name} for 'reclf ${spec.name}' (see 'reclf ${spec.name} --help')`);
    }
  }
  return { flags, positionals, help };
}

export function formatHelp(spec: CommandSpec): string {
  const lines = [`reclf ${spec.name} — ${spec.summary}`, '', `Usage: ${spec.usage}`];
  if (spec.positionals) lines.push('', spec.positionals);
  const entries = Object.entries(spec.flags);
  if (entries.length) {
    lines.push('', 'Options:');
    const left = entries.map(([n, f]) => `  --${n}${f.type === 'boolean' ? '' : ` ${f.value ?? f.type.toUpperCase()}`}`);
    const width = Math.max(...left.map((l) => l.length)) + 2;
    entries.forEach(([, f], i) => {
      const extra = [f.required ? 'required' : '', f.default !== undefined && f.default !== false ? `default: ${String(f.default)}` : '']
        .filter(Boolean).join('; ');
      lines.push(`${left[i].padEnd(width)}${f.description}${extra ? ` (${extra})` : ''}`);
    });
    lines.push(`${'  --help'.padEnd(width)}Show this help`);
  }
  return lines.join('\n');
}

export function str(flags: ParsedFlags, key: string): string | undefined {
  const v = flags[key];
  return typeof v === 'string' ? v : undefined;
}
export function num(flags: ParsedFlags, key: string): number | undefined {
  const v = flags[key];
  return typeof v === 'number' ? v : undefined;
}
export function bool(flags: ParsedFlags, key: string): boolean {
  return flags[key] === true;
}
export function list(flags: ParsedFlags, key: string): string[] | undefined {
  const v = flags[key];
  return Array.isArray(v) ? v : undefined;
}
