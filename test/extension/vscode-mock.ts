// A hand-written stand-in for the `vscode` module, installed with a require hook: importing
// this file first makes every `import * as vscode from 'vscode'` in src/extension get it.
// Only what the extension uses; calls are recorded so tests can assert on what users see.
import Module from 'node:module';
import path from 'node:path';

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  event = (l: Listener<T>): { dispose(): void } => {
    this.listeners.add(l);
    return { dispose: () => this.listeners.delete(l) };
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export class Uri {
  private constructor(readonly scheme: string, readonly fsPath: string) {}
  static file(p: string): Uri { return new Uri('file', path.resolve(p)); }
  static joinPath(u: Uri, ...parts: string[]): Uri { return new Uri(u.scheme, path.join(u.fsPath, ...parts)); }
  get path(): string { return this.fsPath; }
  toString(): string { return `${this.scheme}://${this.fsPath}`; }
}

export class Position {
  constructor(readonly line: number, readonly character: number) {}
}
export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: Position | number, b: Position | number, c?: number, d?: number) {
    this.start = typeof a === 'number' ? new Position(a, b as number) : a;
    this.end = typeof a === 'number' ? new Position(c!, d!) : b as Position;
  }
}
export class MarkdownString {
  isTrusted: boolean | { enabledCommands: string[] } | undefined;
  supportHtml = false;
  constructor(public value = '', public supportThemeIcons = false) {}
  appendMarkdown(s: string): this { this.value += s; return this; }
}
export class Hover {
  constructor(readonly contents: MarkdownString, readonly range?: Range) {}
}
export class ThemeIcon { constructor(readonly id: string) {} }
export enum TreeItemCollapsibleState { None = 0, Collapsed = 1, Expanded = 2 }
export class TreeItem {
  description?: string; iconPath?: unknown; resourceUri?: Uri; contextValue?: string; tooltip?: unknown;
  constructor(readonly label: string, readonly collapsibleState?: TreeItemCollapsibleState) {}
}
export class RelativePattern { constructor(readonly base: Uri, readonly pattern: string) {} }
export enum ProgressLocation { SourceControl = 1, Window = 10, Notification = 15 }

export class CancellationTokenSource {
  private emitter = new EventEmitter<void>();
  token = { isCancellationRequested: false, onCancellationRequested: this.emitter.event };
  cancel(): void { this.token.isCancellationRequested = true; this.emitter.fire(); }
}

export interface Shown { level: 'info' | 'warning' | 'error'; message: string; items: string[] }
export interface ProgressRecord { title: string; reports: Array<{ message?: string; increment?: number }>; cts: CancellationTokenSource }

export class Memento {
  private data = new Map<string, unknown>();
  get<T>(key: string, fallback?: T): T { return (this.data.has(key) ? structuredClone(this.data.get(key)) : fallback) as T; }
  update(key: string, value: unknown): Promise<void> { if (value === undefined) this.data.delete(key); else this.data.set(key, structuredClone(value)); return Promise.resolve(); }
  keys(): string[] { return [...this.data.keys()]; }
}

export function fakeLog(): { lines: string[]; shown: number; info(s: string): void; warn(s: string): void; error(s: string): void; show(): void; dispose(): void } {
  const log = {
    lines: [] as string[], shown: 0,
    info: (s: string) => { log.lines.push(`info ${s}`); },
    warn: (s: string) => { log.lines.push(`warn ${s}`); },
    error: (s: string) => { log.lines.push(`error ${s}`); },
    show: () => { log.shown++; },
    dispose: () => undefined,
  };
  return log;
}

/** Mutable test state: reset() between tests. */
export const mock = {
  trusted: true,
  config: {} as Record<string, unknown>,
  shown: [] as Shown[],
  /** Answer given to the next message with items (e.g. 'Open Log'). */
  answer: undefined as string | undefined,
  progress: [] as ProgressRecord[],
  /** Called when a progress notification starts (tests cancel from here). */
  onProgress: undefined as ((p: ProgressRecord) => void) | undefined,
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  executed: [] as Array<{ id: string; args: unknown[] }>,
  reset(): void {
    this.trusted = true; this.config = {}; this.shown = []; this.answer = undefined; this.progress = [];
    this.onProgress = undefined; this.commands.clear(); this.executed = [];
  },
};

function show(level: Shown['level']) {
  return (message: string, ...rest: unknown[]): Promise<string | undefined> => {
    const items = rest.filter((x): x is string => typeof x === 'string');
    mock.shown.push({ level, message, items });
    return Promise.resolve(items.includes(mock.answer ?? '\0') ? mock.answer : undefined);
  };
}

export const vscodeMock = {
  EventEmitter, Uri, Position, Range, MarkdownString, Hover, ThemeIcon, TreeItem, TreeItemCollapsibleState,
  RelativePattern, ProgressLocation, CancellationTokenSource,
  workspace: {
    get isTrusted() { return mock.trusted; },
    workspaceFolders: undefined as Array<{ uri: Uri }> | undefined,
    getConfiguration: () => ({ get: <T>(key: string): T | undefined => mock.config[key] as T | undefined }),
    findFiles: () => Promise.resolve([]),
  },
  window: {
    showInformationMessage: show('info'),
    showWarningMessage: show('warning'),
    showErrorMessage: show('error'),
    async withProgress<R>(o: { title: string }, task: (p: { report(v: { message?: string; increment?: number }): void }, token: CancellationTokenSource['token']) => Promise<R>): Promise<R> {
      const rec: ProgressRecord = { title: o.title, reports: [], cts: new CancellationTokenSource() };
      mock.progress.push(rec);
      const result = task({ report: (v) => { rec.reports.push(v); } }, rec.cts.token);
      mock.onProgress?.(rec);
      return result;
    },
  },
  commands: {
    registerCommand(id: string, fn: (...args: unknown[]) => unknown) {
      mock.commands.set(id, fn);
      return { dispose: () => mock.commands.delete(id) };
    },
    executeCommand(id: string, ...args: unknown[]) {
      mock.executed.push({ id, args });
      return Promise.resolve(mock.commands.get(id)?.(...args));
    },
  },
  languages: {},
};

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;
const M = Module as unknown as { _load: Loader };
const original = M._load;
M._load = function load(request, parent, isMain) {
  if (request === 'vscode') return vscodeMock;
  return original.call(this, request, parent, isMain);
};
