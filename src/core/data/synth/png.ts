// The generator's PNG writer is the shared codec (deterministic bytes, no native library).
export { encodeGreyPng } from '../../io/png';
