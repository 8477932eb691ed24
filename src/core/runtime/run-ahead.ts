// How far the host may run ahead of a GPU. Without reads, a training loop records steps faster
// than the device runs them, and every queued step holds its bind groups and buffers: unbounded,
// that grows until the driver fails (Mesa's lavapipe crashes allocating descriptor pools after
// ~15 queued RECLF steps). Waiting for submitted work is not a read-back: no data comes to the
// host, and with two steps in flight the device never idles while the host records the next.
import * as tf from '@tensorflow/tfjs-core';

interface QueueBackend {
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  queue: { onSubmittedWorkDone(): Promise<void> };
}

function queueBackend(): QueueBackend | undefined {
  const b = tf.backend() as unknown as Partial<QueueBackend>;
  return typeof b.submitQueue === 'function' && typeof b.queue?.onSubmittedWorkDone === 'function' ? (b as QueueBackend) : undefined;
}

export class RunAhead {
  private readonly pending: Promise<void>[] = [];

  constructor(private readonly maxInFlight = 2) {}

  /** Call after recording a step: submits it, and waits while more than maxInFlight are unfinished. A no-op on CPU backends. */
  async step(): Promise<void> {
    const b = queueBackend();
    if (!b) return;
    // tfjs-backend-webgpu's own flush before a read: close the open pass, submit the encoder.
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    b.submitQueue();
    this.pending.push(b.queue.onSubmittedWorkDone());
    while (this.pending.length > this.maxInFlight) await this.pending.shift();
  }

  /** Waits for every submitted step. */
  async drain(): Promise<void> {
    while (this.pending.length) await this.pending.shift();
  }
}
