// A tiny ONNX graph builder: named inputs and outputs, initializers (weights) and constants, and
// nodes whose output names are generated, so exporters read like the TF.js forward they mirror.
import {
  DataType, encodeModel, floatTensor, int64Tensor,
  type AttributeValue, type DataTypeId, type Dim, type NodeProto, type TensorProto, type ValueInfoProto,
} from './onnx-proto';

export const OPSET = 17;

export const attr = {
  f: (value: number): AttributeValue => ({ kind: 'float', value }),
  i: (value: number): AttributeValue => ({ kind: 'int', value }),
  s: (value: string): AttributeValue => ({ kind: 'string', value }),
  ints: (value: number[]): AttributeValue => ({ kind: 'ints', value }),
  floats: (value: number[]): AttributeValue => ({ kind: 'floats', value }),
};

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;
  private readonly constCache = new Map<string, string>();

  constructor(readonly name: string) {}

  private fresh(hint: string): string {
    let n: string;
    do n = `${hint}_${this.counter++}`;
    while (this.names.has(n));
    this.names.add(n);
    return n;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph ${this.name}: value name '${name}' is already used`);
    this.names.add(name);
    return name;
  }

  input(name: string, elemType: DataTypeId, shape: Dim[]): string {
    this.inputs.push({ name: this.claim(name), elemType, shape });
    return name;
  }

  /** Exposes `value` as graph output `name` (through an Identity node when the names differ). */
  output(value: string, name: string, elemType: DataTypeId, shape: Dim[]): void {
    if (value !== name) this.nodes.push({ opType: 'Identity', name: `${name}_out`, inputs: [value], outputs: [this.claim(name)], attributes: {} });
    this.outputs.push({ name, elemType, shape });
  }

  /** A named float32 weight. */
  weight(name: string, dims: number[], values: ArrayLike<number>): string {
    this.initializers.push(floatTensor(this.claim(name), dims, values));
    return name;
  }

  /** A float32 constant (deduplicated by value), e.g. a scale or an epsilon. */
  constF(values: number | number[], dims?: number[]): string {
    const v = typeof values === 'number' ? [values] : values;
    const d = dims ?? (typeof values === 'number' ? [] : [v.length]);
    const key = `f:${d.join('x')}:${v.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh('const');
    this.initializers.push(floatTensor(name, d, v));
    this.constCache.set(key, name);
    return name;
  }

  /** An int64 constant (shapes, axes, indices). */
  constI(values: number | number[], dims?: number[]): string {
    const v = typeof values === 'number' ? [values] : values;
    const d = dims ?? (typeof values === 'number' ? [] : [v.length]);
    const key = `i:${d.join('x')}:${v.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh('const');
    this.initializers.push(int64Tensor(name, d, v));
    this.constCache.set(key, name);
    return name;
  }

  /** Adds one node; returns its single output name. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}): string {
    return this.opN(opType, inputs, 1, attributes)[0];
  }

  /** Adds one node with `outputs` outputs. */
  opN(opType: string, inputs: string[], outputs: number, attributes: Record<string, AttributeValue> = {}): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({ opType, name: `${outs[0]}_node`, inputs, outputs: outs, attributes });
    return outs;
  }

  nodeCount(): number {
    return this.nodes.length;
  }

  /** Serialised ModelProto at opset 17. */
  build(metadata: Record<string, string> = {}, docString?: string): Uint8Array {
    return encodeModel({
      graph: { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs },
      opsetVersion: OPSET,
      producerName: 'reclf-studio',
      producerVersion: '0.1.0',
      docString,
      metadata,
    });
  }
}

export { DataType };
