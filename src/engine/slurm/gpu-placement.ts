// Which GPU a Slurm task was given, and what the chosen backend makes of it, for the run header.
//
// Slurm's gres plugin names the allocated GPUs three ways: SLURM_JOB_GPUS / SLURM_STEP_GPUS (the
// node's own indices), CUDA_VISIBLE_DEVICES (NVIDIA, the indices CUDA will see) and
// GPU_DEVICE_ORDINAL / ROCR_VISIBLE_DEVICES (AMD). CUDA (tfjs-node-gpu) honours
// CUDA_VISIBLE_DEVICES by itself. Vulkan, and so Dawn's WebGPU adapter, has no index variable:
// Dawn opens its high-performance adapter among the devices it can see, which is the allocated
// one when the cluster confines devices (cgroup.conf ConstrainDevices=yes, the common setup)
// and possibly another otherwise; RECLF_WEBGPU_ADAPTER=NAME then picks an adapter by name.

export interface GpuPlacement {
  /** The node's GPU indices Slurm allocated (SLURM_STEP_GPUS / SLURM_JOB_GPUS). */
  allocated: string[];
  /** The indices the task's CUDA / ROCm runtime sees. */
  visible: string[];
  /** Which variable said so. */
  source: string;
}

function ids(v: string | undefined): string[] {
  if (v === undefined) return [];
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== 'NoDevFiles');
}

/** What the environment says about GPU placement, or undefined outside a GPU allocation. */
export function readGpuPlacement(env: NodeJS.ProcessEnv): GpuPlacement | undefined {
  const allocatedVar = env.SLURM_STEP_GPUS !== undefined ? 'SLURM_STEP_GPUS' : env.SLURM_JOB_GPUS !== undefined ? 'SLURM_JOB_GPUS' : undefined;
  const visibleVar = ['CUDA_VISIBLE_DEVICES', 'GPU_DEVICE_ORDINAL', 'ROCR_VISIBLE_DEVICES'].find((k) => env[k] !== undefined);
  if (!allocatedVar && !visibleVar) return undefined;
  const allocated = ids(allocatedVar ? env[allocatedVar] : undefined);
  const visible = ids(visibleVar ? env[visibleVar] : undefined);
  if (allocated.length === 0 && visible.length === 0) return undefined;
  return { allocated, visible, source: [allocatedVar, visibleVar].filter(Boolean).map((k) => `${k}=${env[k!]}`).join(', ') };
}

/**
 * One line for the run header: which GPU the task has, and how the backend picks it (or why it
 * cannot). Undefined when the environment names no GPU.
 */
export function gpuPlacement(env: NodeJS.ProcessEnv, backend: string): string | undefined {
  const p = readGpuPlacement(env);
  if (!p) return undefined;
  const node = p.allocated.length ? `GPU ${p.allocated.join(',')} of this node` : `GPU ${p.visible.join(',')}`;
  const extra = p.allocated.length + p.visible.length > 2 || p.visible.length > 1 ? `; the engine uses one, the first visible (${p.visible[0] ?? p.allocated[0]})` : '';
  switch (backend) {
    case 'tfjs-node-gpu':
      return `${node} (${p.source}): CUDA sees only the allocated device${p.visible.length ? `, as device ${p.visible.length > 1 ? '0..' + (p.visible.length - 1) : '0'}` : ''}${extra}`;
    case 'webgpu': {
      const named = env.RECLF_WEBGPU_ADAPTER;
      if (named) return `${node} (${p.source}): WebGPU adapter chosen by name, RECLF_WEBGPU_ADAPTER='${named}'`;
      return `${node} (${p.source}): Vulkan has no device-index variable, so Dawn takes its high-performance adapter among the GPUs it sees; that is the allocated one when the cluster confines devices (cgroup ConstrainDevices=yes), otherwise set RECLF_WEBGPU_ADAPTER to its name${extra}`;
    }
    default:
      return `${node} (${p.source}) allocated, but backend ${backend} runs on the CPU`;
  }
}
