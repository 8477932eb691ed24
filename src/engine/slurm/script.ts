// The sbatch scripts the engine writes (pure text; nothing here touches the cluster).
//
// One array job per submission of an ablation grid: array index = the task's index in the grid,
// so a resubmission of the missing tasks keeps their numbers. Each task runs
// `reclf ablate --out DIR --task NAME`, which trains with resume and evaluates (the same
// function the local executor calls, so the table is the same).
//
// Signals: Slurm sends USR1 to the batch shell (`--signal=B:USR1@S`) S seconds before the time
// limit; the shell forwards TERM to the engine (which checkpoints and exits 143 `cancelled`),
// leaves a `.requeue` marker and requeues the task, which then resumes from that checkpoint.
// USR1 rather than TERM so that an `scancel` (TERM) is not mistaken for the clock running out:
// a cancelled task stays cancelled until `reclf ablate` resubmits it.
import type { SlurmOptions } from './config';

/** Quotes a word for bash (single quotes; a single quote inside is closed, escaped, reopened). */
export function shQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The array spec: "0-3", "1,3,5-6", with "%N" when at most N run at once. */
export function arraySpec(indices: readonly number[], maxParallel: number): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  return parts.join(',') + (maxParallel > 0 ? `%${maxParallel}` : '');
}

function directives(o: SlurmOptions, jobName: string, output: string): string[] {
  const d = [`--job-name=${jobName}`, `--output=${output}`, '--open-mode=append', `--time=${o.time}`, `--mem=${o.mem}`, `--cpus-per-task=${o.cpusPerTask}`, '--requeue'];
  if (o.signalSeconds > 0) d.push(`--signal=B:USR1@${o.signalSeconds}`);
  if (o.partition) d.push(`--partition=${o.partition}`);
  if (o.gpus > 0) d.push(`--gres=gpu:${o.gpus}`);
  if (o.account) d.push(`--account=${o.account}`);
  if (o.qos) d.push(`--qos=${o.qos}`);
  // The user's lines last: sbatch lets a later directive override an earlier one.
  d.push(...o.sbatchLines);
  return d.map((x) => `#SBATCH ${x}`);
}

/**
 * The part every script shares: runs ENGINE ARGS in the background (bash runs traps only between
 * commands, so a foreground child would delay them until it ends), forwards signals, records the
 * attempt's exit status in RUN/slurm-attempts.jsonl, and requeues itself on the time signal.
 */
function runAndRequeue(engineArgs: string): string[] {
  return [
    'echo "reclf: job ${JOB} on $(hostname), restart ${SLURM_RESTART_COUNT:-0}, $(date -Is)"',
    `"$NODE" "$ENGINE" ${engineArgs} &`,
    'child=$!',
    'requeue=0',
    "trap 'kill -TERM \"$child\" 2>/dev/null' TERM INT",
    "trap 'requeue=1; : >\"$RUN/.requeue\"; kill -TERM \"$child\" 2>/dev/null' USR1",
    // wait returns early (status > 128) when a trap runs: wait again until the child is gone,
    // then once more for its real status (bash remembers the status of a reaped child).
    'while :; do wait "$child"; rc=$?; kill -0 "$child" 2>/dev/null || break; done',
    'wait "$child" 2>/dev/null; last=$?; [ "$last" -ne 127 ] && rc=$last',
    'printf \'{"job":"%s","restart":%d,"exit":%d,"requeue":%d,"time":"%s"}\\n\' "$JOB" "${SLURM_RESTART_COUNT:-0}" "$rc" "$requeue" "$(date -Is)" >>"$RUN/slurm-attempts.jsonl"',
    'if [ "$requeue" = 1 ]; then',
    '  echo "reclf: time limit near: requeueing ${JOB} to resume from its checkpoint"',
    '  "$SCONTROL" requeue "$JOB" && exit 0',
    'fi',
    'exit "$rc"',
  ];
}

function header(o: SlurmOptions, what: string, created: string): string[] {
  return [
    '#!/bin/bash',
    `# Written by reclf (${what}) on ${created}. Submit with sbatch; 'reclf jobs' follows it.`,
  ];
}

function paths(o: SlurmOptions, scontrol: string): string[] {
  return [`NODE=${shQuote(o.nodePath)}`, `ENGINE=${shQuote(o.enginePath)}`, `SCONTROL=${shQuote(scontrol)}`];
}

export interface AblationScript {
  /** Ablation folder (absolute). */
  dir: string;
  jobName: string;
  /** Run names (`VARIANT-seedS`) in grid order: the array index picks one. */
  runs: readonly string[];
  /** Grid indices this submission runs. */
  indices: readonly number[];
  options: SlurmOptions;
  /** scontrol as the compute nodes find it. */
  scontrol: string;
  created: string;
}

export function ablationScript(a: AblationScript): string {
  const o = a.options;
  return [
    ...header(o, `ablate --executor slurm, ${a.indices.length} of ${a.runs.length} runs`, a.created),
    `#SBATCH --array=${arraySpec(a.indices, o.maxParallel)}`,
    // Slurm's own file keeps what happens outside the task (the scheduler's cancel and requeue notes).
    ...directives(o, a.jobName, `${a.dir}/slurm/logs/%A_%a.out`),
    'set -u',
    ...paths(o, a.scontrol),
    `ABLATION=${shQuote(a.dir)}`,
    `RUNS=(${a.runs.map(shQuote).join(' ')})`,
    'NAME="${RUNS[$SLURM_ARRAY_TASK_ID]}"',
    'RUN="$ABLATION/$NAME"',
    'JOB="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"',
    // The task's output lives in its run folder, one file per job id (appended across requeues).
    'mkdir -p "$RUN" && exec >>"$RUN/slurm-$JOB.log" 2>&1',
    'export RECLF_SLURM_JOB="$JOB" RECLF_SLURM_LOG="$RUN/slurm-$JOB.log"',
    ...runAndRequeue('ablate --out "$ABLATION" --task "$NAME"'),
    '',
  ].join('\n');
}

export interface RunScript {
  /** The run folder (train: --out; eval: --run), where the log goes. */
  runDir: string;
  jobName: string;
  /** The command's arguments as given, without the executor flags; `--resume` is added on restarts of a train job. */
  argv: readonly string[];
  kind: 'train' | 'eval';
  options: SlurmOptions;
  scontrol: string;
  created: string;
}

/** One job for `reclf train|eval --executor slurm`. */
export function runScript(r: RunScript): string {
  const o = r.options;
  const args = r.argv.map(shQuote).join(' ');
  return [
    ...header(o, `${r.kind} --executor slurm`, r.created),
    ...directives(o, r.jobName, `${r.runDir}/slurm-%j.out`),
    'set -u',
    ...paths(o, r.scontrol),
    `RUN=${shQuote(r.runDir)}`,
    'JOB="$SLURM_JOB_ID"',
    'mkdir -p "$RUN" && exec >>"$RUN/slurm-$JOB.log" 2>&1',
    // A train job that was requeued (or resubmitted) continues its run: --resume once the run
    // folder has its config.json, which training writes before the first step.
    r.kind === 'train'
      ? `RESUME=(); [ -f "$RUN/config.json" ] && RESUME=(--resume)`
      : 'RESUME=()',
    ...runAndRequeue(`${r.kind} ${args} "\${RESUME[@]}"`),
    '',
  ].join('\n');
}
