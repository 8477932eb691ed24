// Minimal DICOM writer for tests: explicit VR little endian Part 10 files (or a bare implicit-VR
// data set), enough attributes to exercise every branch of the decoder.

export interface DicomSpec {
  rows: number;
  cols: number;
  bitsAllocated?: 8 | 16;
  bitsStored?: number;
  pixelRepresentation?: 0 | 1;
  photometric?: string;
  samplesPerPixel?: number;
  rescaleSlope?: string;
  rescaleIntercept?: string;
  windowCenter?: string;
  windowWidth?: string;
  /** Raw stored sample words (already masked/encoded as the file should hold them). */
  pixels?: number[];
  /** Encapsulated fragments (e.g. one baseline JPEG) instead of native pixels. */
  fragments?: Uint8Array[];
  transferSyntax?: string;
  /** Bare implicit-VR data set without preamble or meta group. */
  implicit?: boolean;
}

const UNDEFINED = 0xffffffff;
const LONG_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN']);

function padded(bytes: Uint8Array, pad: number): Uint8Array {
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = pad;
  return out;
}

function str(value: string, vr: string): Uint8Array {
  return padded(new TextEncoder().encode(value), vr === 'UI' ? 0 : 0x20);
}

function u16(v: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v, true);
  return b;
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function tag(group: number, element: number): Uint8Array {
  return concat([u16(group), u16(element)]);
}

function explicit(group: number, element: number, vr: string, value: Uint8Array, length = value.length): Uint8Array {
  const vrBytes = new TextEncoder().encode(vr);
  const head = LONG_VRS.has(vr)
    ? concat([tag(group, element), vrBytes, new Uint8Array(2), u32(length)])
    : concat([tag(group, element), vrBytes, u16(length)]);
  return concat([head, value]);
}

function implicitEl(group: number, element: number, value: Uint8Array): Uint8Array {
  return concat([tag(group, element), u32(value.length), value]);
}

export function buildDicom(spec: DicomSpec): Uint8Array {
  const bits = spec.bitsAllocated ?? 16;
  const el = spec.implicit
    ? (g: number, e: number, _vr: string, v: Uint8Array) => implicitEl(g, e, v)
    : (g: number, e: number, vr: string, v: Uint8Array) => explicit(g, e, vr, v);
  const body: Uint8Array[] = [];
  body.push(el(0x0028, 0x0002, 'US', u16(spec.samplesPerPixel ?? 1)));
  body.push(el(0x0028, 0x0004, 'CS', str(spec.photometric ?? 'MONOCHROME2', 'CS')));
  body.push(el(0x0028, 0x0010, 'US', u16(spec.rows)));
  body.push(el(0x0028, 0x0011, 'US', u16(spec.cols)));
  body.push(el(0x0028, 0x0100, 'US', u16(bits)));
  body.push(el(0x0028, 0x0101, 'US', u16(spec.bitsStored ?? bits)));
  body.push(el(0x0028, 0x0102, 'US', u16((spec.bitsStored ?? bits) - 1)));
  body.push(el(0x0028, 0x0103, 'US', u16(spec.pixelRepresentation ?? 0)));
  if (spec.windowCenter !== undefined) body.push(el(0x0028, 0x1050, 'DS', str(spec.windowCenter, 'DS')));
  if (spec.windowWidth !== undefined) body.push(el(0x0028, 0x1051, 'DS', str(spec.windowWidth, 'DS')));
  if (spec.rescaleIntercept !== undefined) body.push(el(0x0028, 0x1052, 'DS', str(spec.rescaleIntercept, 'DS')));
  if (spec.rescaleSlope !== undefined) body.push(el(0x0028, 0x1053, 'DS', str(spec.rescaleSlope, 'DS')));
  if (spec.fragments) {
    const items = [concat([tag(0xfffe, 0xe000), u32(0)])]; // empty basic offset table
    for (const f of spec.fragments) {
      const p = padded(f, 0);
      items.push(concat([tag(0xfffe, 0xe000), u32(p.length), p]));
    }
    items.push(concat([tag(0xfffe, 0xe0dd), u32(0)]));
    body.push(explicit(0x7fe0, 0x0010, 'OB', concat(items), UNDEFINED));
  } else if (spec.pixels) {
    const bytes = new Uint8Array(padded(new Uint8Array(spec.pixels.length * (bits >> 3)), 0).length);
    const view = new DataView(bytes.buffer);
    spec.pixels.forEach((v, i) => (bits === 8 ? view.setUint8(i, v & 0xff) : view.setUint16(i * 2, v & 0xffff, true)));
    body.push(el(0x7fe0, 0x0010, bits === 8 ? 'OB' : 'OW', bytes));
  }
  if (spec.implicit) return concat(body);

  const ts = str(spec.transferSyntax ?? '1.2.840.10008.1.2.1', 'UI');
  const metaRest = concat([
    explicit(0x0002, 0x0001, 'OB', new Uint8Array([0, 1])),
    explicit(0x0002, 0x0002, 'UI', str('1.2.840.10008.5.1.4.1.1.1', 'UI')),
    explicit(0x0002, 0x0003, 'UI', str('1.2.3.4.5.6.7', 'UI')),
    explicit(0x0002, 0x0010, 'UI', ts),
  ]);
  const meta = concat([explicit(0x0002, 0x0000, 'UL', u32(metaRest.length)), metaRest]);
  const preamble = new Uint8Array(132);
  preamble.set(new TextEncoder().encode('DICM'), 128);
  return concat([preamble, meta, ...body]);
}
