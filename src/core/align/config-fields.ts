// The shape of a method's hyper-parameter spec, shared by every method's config module.
export type FieldSpec =
  | { kind: 'number'; default: number; min?: number; max?: number; positive?: boolean; doc: string }
  | { kind: 'int'; default: number; min: number; max: number; doc: string }
  | { kind: 'bool'; default: boolean; doc: string }
  | { kind: 'enum'; default: string; values: readonly string[]; aliases?: Record<string, string>; doc: string };

export type MethodConfigSpec = Record<string, FieldSpec>;

export const pos = (def: number, doc: string): FieldSpec => ({ kind: 'number', default: def, positive: true, doc });
export const weight = (doc: string): FieldSpec => ({ kind: 'number', default: 1, min: 0, doc });
