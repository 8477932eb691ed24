// Worker-thread entry of the ImageLoader pool (bundled as dist/engine/decode-worker.cjs): turns
// one path at a time into a normalised plane and transfers its buffer back without copying.
import { parentPort, workerData } from 'node:worker_threads';
import { describeFailure, preprocessFile, type DecodeReply, type DecodeRequest, type WorkerReady, type PreprocessConfig } from './image-loader';

const port = parentPort;
if (!port) throw new Error('decode-worker must be started as a worker thread by ImageLoader');
const cfg = workerData as PreprocessConfig;

port.on('message', (req: DecodeRequest) => {
  void handle(req);
});
const ready: WorkerReady = { ready: true };
port.postMessage(ready);

async function handle(req: DecodeRequest): Promise<void> {
  let reply: DecodeReply;
  try {
    reply = { id: req.id, ok: true, data: await preprocessFile(req.path, req.seed, req.augment, cfg) };
  } catch (e) {
    reply = { id: req.id, ok: false, error: describeFailure(req.path, e) };
  }
  if (reply.ok) port?.postMessage(reply, [reply.data.buffer as ArrayBuffer]);
  else port?.postMessage(reply);
}
