// JSON pointers (RFC 6901) as schema validators report them, turned into the field names our
// error messages use, and the value they point at.

/** "/model/image/widths/0" -> "model.image.widths[0]"; "/labels/Edema" -> "labels.Edema". */
export function fieldPath(pointer: string): string {
  if (!pointer) return '';
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  }
  return out;
}

/** The value at `pointer` inside `obj` (undefined when the path does not exist). */
export function valueAt(obj: unknown, pointer: string): unknown {
  if (!pointer) return obj;
  let cur: unknown = obj;
  for (const raw of pointer.slice(1).split('/')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}
