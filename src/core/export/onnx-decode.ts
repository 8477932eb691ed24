// Decoding of ONNX ModelProto bytes: the inverse of onnx-proto's encoder for the subset it writes
// (benchmarks prune exported graphs; sessions read metadata without loading a model).
import type { AttributeValue, DataTypeId, Dim, ModelProto, NodeProto, TensorProto, ValueInfoProto } from './onnx-proto';


type Visit = (field: number, wire: number, value: Uint8Array | bigint) => void;

function readVarint(buf: Uint8Array, at: { p: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (at.p >= buf.length) throw new Error('truncated varint');
    const b = buf[at.p++];
    result |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return result;
    shift += 7n;
  }
}

function fields(buf: Uint8Array, visit: Visit): void {
  const at = { p: 0 };
  while (at.p < buf.length) {
    const key = Number(readVarint(buf, at));
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) visit(field, wire, readVarint(buf, at));
    else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (at.p + n > buf.length) throw new Error('truncated fixed field');
      visit(field, wire, buf.subarray(at.p, at.p + n));
      at.p += n;
    } else if (wire === 2) {
      const len = Number(readVarint(buf, at));
      if (at.p + len > buf.length) throw new Error('truncated length-delimited field');
      visit(field, wire, buf.subarray(at.p, at.p + len));
      at.p += len;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

const text = (v: Uint8Array | bigint): string => new TextDecoder().decode(v as Uint8Array);
const int64 = (v: bigint): number => Number(BigInt.asIntN(64, v));
const f32 = (v: Uint8Array): number => new DataView(v.buffer, v.byteOffset, 4).getFloat32(0, true);

/** Repeated int64 field, packed (wire 2) or not (wire 0). */
function pushInts(out: number[], wire: number, v: Uint8Array | bigint): void {
  if (wire === 0) {
    out.push(int64(v as bigint));
    return;
  }
  const buf = v as Uint8Array;
  const at = { p: 0 };
  while (at.p < buf.length) out.push(int64(readVarint(buf, at)));
}

function decodeTensor(buf: Uint8Array): TensorProto {
  let name = '';
  let dataType = 1;
  const dims: number[] = [];
  let raw: Uint8Array | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  fields(buf, (f, w, v) => {
    if (f === 1) pushInts(dims, w, v);
    else if (f === 2) dataType = Number(v);
    else if (f === 8) name = text(v);
    else if (f === 9) raw = (v as Uint8Array).slice();
    else if (f === 4) {
      if (w === 5) floats.push(f32(v as Uint8Array));
      else for (let k = 0; k + 4 <= (v as Uint8Array).length; k += 4) floats.push(f32((v as Uint8Array).subarray(k, k + 4)));
    } else if (f === 7) pushInts(ints, w, v);
  });
  if (!raw) {
    // Typed-field tensors (float_data / int64_data) become raw bytes, the form the encoder writes.
    raw = dataType === 7 ? new Uint8Array(BigInt64Array.from(ints.map(BigInt)).buffer) : new Uint8Array(Float32Array.from(floats).buffer);
  }
  return { name, dataType: dataType as DataTypeId, dims, raw };
}

function decodeAttribute(buf: Uint8Array): [string, AttributeValue] {
  let name = '';
  let type = 0;
  let f = 0;
  let i = 0;
  let s = '';
  let t: TensorProto | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  fields(buf, (field, w, v) => {
    if (field === 1) name = text(v);
    else if (field === 2) f = f32(v as Uint8Array);
    else if (field === 3) i = int64(v as bigint);
    else if (field === 4) s = text(v);
    else if (field === 5) t = decodeTensor(v as Uint8Array);
    else if (field === 7) {
      if (w === 5) floats.push(f32(v as Uint8Array));
      else for (let k = 0; k + 4 <= (v as Uint8Array).length; k += 4) floats.push(f32((v as Uint8Array).subarray(k, k + 4)));
    } else if (field === 8) pushInts(ints, w, v);
    else if (field === 20) type = Number(v);
  });
  switch (type) {
    case 1: return [name, { kind: 'float', value: f }];
    case 2: return [name, { kind: 'int', value: i }];
    case 3: return [name, { kind: 'string', value: s }];
    case 4: if (t) return [name, { kind: 'tensor', value: t }]; break;
    case 6: return [name, { kind: 'floats', value: floats }];
    case 7: return [name, { kind: 'ints', value: ints }];
  }
  throw new Error(`attribute '${name}' has an unsupported type ${type}`);
}

function decodeNode(buf: Uint8Array): NodeProto {
  const node: NodeProto = { opType: '', name: '', inputs: [], outputs: [], attributes: {} };
  fields(buf, (f, _w, v) => {
    if (f === 1) node.inputs.push(text(v));
    else if (f === 2) node.outputs.push(text(v));
    else if (f === 3) node.name = text(v);
    else if (f === 4) node.opType = text(v);
    else if (f === 5) {
      const [k, a] = decodeAttribute(v as Uint8Array);
      node.attributes[k] = a;
    } else if (f === 7) node.domain = text(v);
  });
  return node;
}

function decodeValueInfo(buf: Uint8Array): ValueInfoProto {
  const vi: ValueInfoProto = { name: '', elemType: 1, shape: [] };
  fields(buf, (f, _w, v) => {
    if (f === 1) vi.name = text(v);
    else if (f === 2) {
      fields(v as Uint8Array, (tf, _tw, tv) => {
        if (tf !== 1) return;
        fields(tv as Uint8Array, (sf, _sw, sv) => {
          if (sf === 1) vi.elemType = Number(sv) as DataTypeId;
          else if (sf === 2) {
            fields(sv as Uint8Array, (df, _dw, dv) => {
              if (df !== 1) return;
              let dim: Dim = '?';
              fields(dv as Uint8Array, (xf, _xw, xv) => {
                if (xf === 1) dim = int64(xv as bigint);
                else if (xf === 2) dim = text(xv);
              });
              vi.shape.push(dim);
            });
          }
        });
      });
    }
  });
  return vi;
}

/** Decodes the ModelProto subset our encoder writes (one default-domain opset). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const model: ModelProto = {
    graph: { name: '', nodes: [], initializers: [], inputs: [], outputs: [] },
    opsetVersion: 17, producerName: '', producerVersion: '', metadata: {},
  };
  fields(bytes, (f, _w, v) => {
    if (f === 2) model.producerName = text(v);
    else if (f === 3) model.producerVersion = text(v);
    else if (f === 6) model.docString = text(v);
    else if (f === 8) {
      let domain = '';
      let version = 0;
      fields(v as Uint8Array, (of, _ow, ov) => {
        if (of === 1) domain = text(ov);
        else if (of === 2) version = Number(ov);
      });
      if (domain === '' || domain === 'ai.onnx') model.opsetVersion = version;
    } else if (f === 14) {
      let key = '';
      let val = '';
      fields(v as Uint8Array, (mf, _mw, mv) => {
        if (mf === 1) key = text(mv);
        else if (mf === 2) val = text(mv);
      });
      model.metadata[key] = val;
    } else if (f === 7) {
      const g = model.graph;
      fields(v as Uint8Array, (gf, _gw, gv) => {
        if (gf === 1) g.nodes.push(decodeNode(gv as Uint8Array));
        else if (gf === 2) g.name = text(gv);
        else if (gf === 5) g.initializers.push(decodeTensor(gv as Uint8Array));
        else if (gf === 11) g.inputs.push(decodeValueInfo(gv as Uint8Array));
        else if (gf === 12) g.outputs.push(decodeValueInfo(gv as Uint8Array));
      });
    }
  });
  return model;
}

/** Reads ModelProto.metadata_props (field 14) by walking the top-level fields only. */
export function readModelMetadata(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  fields(bytes, (field, wire, value) => {
    if (field !== 14 || wire !== 2) return;
    let key = '';
    let val = '';
    fields(value as Uint8Array, (f, w, v) => {
      if (w !== 2) return;
      if (f === 1) key = text(v);
      else if (f === 2) val = text(v);
    });
    out[key] = val;
  });
  return out;
}
