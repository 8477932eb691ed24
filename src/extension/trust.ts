// Workspace Trust: a restricted workspace may hold a hostile `reclf.nodePath` or config, so
// nothing that starts the engine runs there. Read-only features (tree, hovers from cache) stay.
import * as vscode from 'vscode';

/** True when engine processes may run; otherwise tells the user why the action was refused. */
export function ensureTrusted(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(
    `RECLF: "${action}" is disabled in a restricted workspace: it runs the engine. Trust this workspace to enable it.`,
  );
  return false;
}

/** Wraps a command handler so it is refused (with a message) in a restricted workspace. */
export function trusted<A extends unknown[]>(action: string, handler: (...args: A) => unknown): (...args: A) => unknown {
  return (...args: A) => (ensureTrusted(action) ? handler(...args) : undefined);
}
