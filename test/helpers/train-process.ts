// `reclf train` as a child process whose engine events a test can act on (send a signal, fill
// the disk) while it runs: shared by the signal and the fault tests.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { parseEngineEvent, type EngineEvent } from '../../src/protocol/events';
import { repoRoot } from './tiny';

export interface TrainProcessEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: EngineEvent[];
  stderr: string;
}

/**
 * Runs `reclf train ...args`; `onEvent` sees each event until it returns true (it has acted).
 * Killed with SIGKILL and rejected when it has not exited within two minutes.
 */
export function trainProcess(args: string[], onEvent: (e: EngineEvent, child: ChildProcess) => boolean = () => true): Promise<TrainProcessEnd> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'reclf.js'), 'train', ...args], { cwd: repoRoot });
    const events: EngineEvent[] = [];
    let stderr = '';
    let buf = '';
    let acted = false;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no exit in time; stderr:\n${stderr}`)); }, 120_000);
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const e = parseEngineEvent(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (!e) continue;
        events.push(e);
        if (!acted) acted = onEvent(e, child);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, events, stderr }); });
  });
}
