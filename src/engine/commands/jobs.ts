// `reclf jobs [DIR]`: each task of an ablation (or the job of a train/eval run) with its state,
// job id, progress and ETA. States come from the Slurm queue (squeue, which still lists finished
// tasks for a while; no accounting needed) and the run folders' own files, which also serve
// when the controller cannot be reached or the ablation ran locally. `--cancel` calls scancel.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../command';
import { bool, str } from '../args';
import { ConfigError } from '../../core/errors';
import type { AblationTaskEvent } from '../../protocol/events';
import { readSpec, SLURM_FILE, type TaskStatus } from '../slurm/ablation-folder';
import { activeJobIds, queueView, readRecord, taskStatuses } from '../slurm/ablation-executor';
import { scancel, squeueByName, type SlurmClient } from '../slurm/cli';

function duration(s: number | undefined): string {
  if (s === undefined) return '';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

function progressText(s: TaskStatus): string {
  if (s.state === 'finished') return s.metric ? `${s.metric.name} ${s.metric.value.toFixed(3)}` : 'done';
  if (s.evalTotal !== undefined && s.evalDone !== undefined && s.step !== undefined && s.step === s.totalSteps) return `eval ${s.evalDone}/${s.evalTotal}`;
  if (s.step !== undefined && s.totalSteps) return `step ${s.step}/${s.totalSteps} (${Math.round((100 * s.step) / s.totalSteps)}%)`;
  return '';
}

export function formatJobs(statuses: readonly TaskStatus[]): string {
  const rows = statuses.map((s) => [
    s.name, s.state, s.jobId ?? '', progressText(s),
    s.state === 'running' ? duration(s.etaS) : '',
    s.state === 'failed' || s.failures ? `failed ${s.failures}x${s.log ? `; log ${s.log}` : ''}` : s.message ?? '',
  ]);
  const head = ['run', 'state', 'job', 'progress', 'eta', 'note'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
}

export const jobsCommand: Command = {
  spec: {
    name: 'jobs',
    summary: "Show an ablation's tasks (or a run's Slurm job): state, job id, progress, ETA; --cancel stops them with scancel",
    usage: 'reclf jobs [DIR] [--json] [--cancel] [--slurm-bin DIR]',
    positionals: 'DIR: an ablation folder (default: ./ablation), or a run folder submitted with --executor slurm',
    flags: {
      json: { type: 'boolean', description: 'Print one ablation_task event per task on stdout (JSON lines) instead of the table' },
      cancel: { type: 'boolean', description: 'Cancel every queued or running task of DIR (scancel); their runs keep their checkpoints' },
      'slurm-bin': { type: 'string', description: 'Folder holding squeue and scancel (default: PATH)', value: 'DIR' },
    },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    const dir = path.resolve(ctx.args.positionals[0] ?? 'ablation');
    if (!fs.existsSync(dir)) throw new ConfigError(`${dir}: no such folder`, 'dir');
    const client: SlurmClient = { binDir: str(f, 'slurmBin') };
    const spec = readSpec(dir);
    const record = readRecord(dir);
    if (!spec) {
      if (!record) throw new ConfigError(`${dir} is neither an ablation folder (ablation-spec.json) nor a run submitted to Slurm (${SLURM_FILE})`, 'dir');
      return singleJob(ctx, dir, record, client, bool(f, 'cancel'));
    }
    let queue: Awaited<ReturnType<typeof queueView>> | undefined;
    if (record) {
      try {
        queue = await queueView(record, client);
      } catch (e) {
        ctx.events.log(`reclf jobs: ${(e as Error).message}; states below come from the run folders`);
      }
    }
    const statuses = taskStatuses(dir, spec, record, queue);
    if (bool(f, 'cancel')) {
      const ids = activeJobIds(statuses);
      if (!record || ids.length === 0) {
        ctx.events.log('nothing to cancel: no task of this ablation is queued or running on Slurm');
        return 0;
      }
      await scancel(ids, client);
      ctx.events.log(`cancelled ${ids.join(' ')}; 'reclf ablate' with the same arguments resubmits them, resuming from their checkpoints`);
      return 0;
    }
    if (bool(f, 'json')) {
      for (const s of statuses) {
        const e: AblationTaskEvent = {
          type: 'ablation_task', variant: s.variant, seed: s.seed, index: s.index + 1, total: statuses.length, state: s.state, run_dir: s.runDir,
          ...(s.jobId ? { job_id: s.jobId } : {}), ...(s.metric ? { metric: s.metric } : {}),
          ...(s.message || s.log ? { message: s.message ?? `log ${s.log}` } : {}),
        };
        ctx.events.emit(e);
      }
      return 0;
    }
    process.stdout.write(formatJobs(statuses) + '\n');
    const count = (st: string): number => statuses.filter((s) => s.state === st).length;
    ctx.events.log(`${count('finished')} finished, ${count('running')} running, ${count('queued') + count('requeued')} queued, ${count('failed')} failed, ${count('pending') + count('cancelled')} not submitted or cancelled, of ${statuses.length}`);
    return 0;
  },
};

async function singleJob(ctx: Parameters<Command['run']>[0], dir: string, record: NonNullable<ReturnType<typeof readRecord>>, client: SlurmClient, cancel: boolean): Promise<number> {
  const sub = record.submissions.filter((s) => s.jobId).at(-1);
  const entries = await squeueByName(record.jobName, client).catch((e: Error) => { ctx.events.log(`reclf jobs: ${e.message}`); return []; });
  const live = entries.find((e) => e.jobId === sub?.jobId);
  if (cancel) {
    if (!sub?.jobId) { ctx.events.log('nothing to cancel'); return 0; }
    await scancel([sub.jobId], client);
    ctx.events.log(`cancelled ${sub.jobId}`);
    return 0;
  }
  process.stdout.write(`${path.basename(dir)}  job ${sub?.jobId ?? '(none)'}  ${live ? `${live.state} ${live.reason !== 'None' ? live.reason : ''}`.trim() : 'not in the queue'}  log ${sub?.jobId ? path.join(dir, `slurm-${sub.jobId}.log`) : ''}\n`);
  return 0;
}
