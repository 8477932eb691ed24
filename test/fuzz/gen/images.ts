// Damaged image files for the fuzz tier: PNG, JPEG and DICOM cut short, with corrupt pixel data,
// with headers that lie about their size (decompression bombs), with the wrong magic, plus valid
// controls in every variant the decoders must accept. Deterministic: the same bytes every run.
import zlib from 'node:zlib';
import sharp from 'sharp';
import { buildDicom } from '../../core/data/dicom-writer';
import { pngClaiming } from '../../core/data/png-claiming';

/**
 * What the engine must do with an image. `header`: what reading its header says (reclf info
 * without --decode); `decode`: what a full decode says (info --decode, train, explain). 'ok' =
 * accepted; a RegExp = refused with a reason matching it.
 */
export interface ImageExpect {
  header: 'ok' | RegExp;
  decode: 'ok' | RegExp;
}

export interface ImageCase {
  name: string;
  /** File name (its extension matters for DICOM detection). */
  file: string;
  bytes: Buffer;
  expect: ImageExpect;
}

const OK: ImageExpect = { header: 'ok', decode: 'ok' };
const HEADER_BAD = /image header cannot be read/;
// A deflated DICOM inflates at most to what its declared Rows x Columns need (plus 8 MiB).
const BOMB_CAPPED = /deflated data set inflates to more than 8\.0 MiB, the most its 24x32 pixels of 1 x 16 bits and 8 MiB of other elements can take/;
// A .dcm name without 'DICM' is read as a bare data set: one that has no image elements.
const NOT_DICOM: ImageExpect = { header: /DICOM header has no Rows\/Columns/, decode: /DICOM has no PixelData/ };
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Deterministic noise, so pixel data does not compress away and cuts land inside it. */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([len, body, crc]);
}

interface PngChunk { type: string; data: Buffer; start: number; end: number }

function pngChunks(png: Buffer): PngChunk[] {
  const out: PngChunk[] = [];
  for (let o = 8; o + 12 <= png.length;) {
    const len = png.readUInt32BE(o);
    const type = png.toString('latin1', o + 4, o + 8);
    out.push({ type, data: png.subarray(o + 8, o + 8 + len), start: o, end: o + 12 + len });
    o += 12 + len;
  }
  return out;
}

/** A grey 8-bit PNG of w x h whose IDAT is `raw` (filter bytes included) deflated, CRCs valid. */
function pngFromRaw(w: number, h: number, idat: Buffer, colourType = 0): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = colourType;
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

/**
 * Raw deflate of `prefix` followed by `zeros` zero bytes, built from one full-flushed block
 * repeated (no back-references cross a full flush): hundreds of MB of output cost a few ms here.
 */
function deflateZeros(prefix: Buffer, zeros: number): Buffer {
  const flush = { finishFlush: zlib.constants.Z_FULL_FLUSH };
  const BLOCK = 1 << 20;
  const parts = [zlib.deflateRawSync(prefix, flush)];
  const block = zlib.deflateRawSync(Buffer.alloc(BLOCK), flush);
  for (let n = zeros; n > 0; n -= BLOCK) parts.push(n >= BLOCK ? block : zlib.deflateRawSync(Buffer.alloc(n), flush));
  parts.push(Buffer.from([0x03, 0x00])); // an empty final block
  return Buffer.concat(parts);
}

/** A zlib stream of n zero bytes: header, deflateZeros, Adler-32 (a = 1, b = n mod 65521). */
function zlibZeros(n: number): Buffer {
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE(((n % 65521) * 65536 + 1) >>> 0);
  return Buffer.concat([Buffer.from([0x78, 0x9c]), deflateZeros(Buffer.alloc(0), n), adler]);
}

/** An honest w x h all-black PNG (a decompression bomb when large); every row has filter byte 0. */
function blackPng(w: number, h: number): Buffer {
  return pngFromRaw(w, h, zlibZeros((w + 1) * h));
}

function replaceIn(buf: Buffer, at: number, bytes: Buffer): Buffer {
  const out = Buffer.from(buf);
  bytes.copy(out, at);
  return out;
}

/** The offset of the first JPEG marker 0xFF `marker` after the SOI. */
function jpegMarker(jpg: Buffer, marker: number): number {
  for (let i = 2; i < jpg.length - 1; i++) if (jpg[i] === 0xff && jpg[i + 1] === marker) return i;
  throw new Error(`no JPEG marker ${marker.toString(16)}`);
}

function jpegSof(jpg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpg);
  const sof = jpegMarker(out, 0xc0);
  out.writeUInt16BE(height, sof + 5);
  out.writeUInt16BE(width, sof + 7);
  return out;
}

function dicom(spec: Parameters<typeof buildDicom>[0]): Buffer {
  return Buffer.from(buildDicom(spec));
}

/** Every image case; the valid controls first. */
export async function imageCases(): Promise<ImageCase[]> {
  const W = 64;
  const pixels = noise(W * W, 7);
  const png = await sharp(pixels, { raw: { width: W, height: W, channels: 1 } }).png({ compressionLevel: 0 }).toBuffer();
  const jpg = await sharp(pixels, { raw: { width: W, height: W, channels: 1 } }).jpeg({ quality: 90 }).toBuffer();
  const rgb = noise(W * W * 3, 11);
  const chunks = pngChunks(png);
  const idat = chunks.find((c) => c.type === 'IDAT')!;
  const iend = chunks.find((c) => c.type === 'IEND')!;
  const dcmPixels = Array.from({ length: 32 * 24 }, (_, i) => (i * 37) % 4096);
  const dcm = (extra: Partial<Parameters<typeof buildDicom>[0]> = {}): Buffer => dicom({ rows: 32, cols: 24, bitsStored: 12, pixels: dcmPixels, ...extra });
  const goodDcm = dcm();
  const pixelStart = goodDcm.length - dcmPixels.length * 2;

  const cases: ImageCase[] = [
    // Valid controls: every variant the decoders must take.
    { name: 'png grey 8-bit', file: 'ok-grey.png', bytes: png, expect: OK },
    { name: 'png rgb', file: 'ok-rgb.png', bytes: await sharp(rgb, { raw: { width: W, height: W, channels: 3 } }).png().toBuffer(), expect: OK },
    { name: 'png rgba', file: 'ok-rgba.png', bytes: await sharp(noise(W * W * 4, 3), { raw: { width: W, height: W, channels: 4 } }).png().toBuffer(), expect: OK },
    { name: 'png 16-bit grey', file: 'ok-16.png', bytes: await sharp(noise(W * W * 2, 5), { raw: { width: W, height: W, channels: 1 } }).toColourspace('grey16').png().toBuffer(), expect: OK },
    { name: 'png palette', file: 'ok-palette.png', bytes: await sharp(rgb, { raw: { width: W, height: W, channels: 3 } }).png({ palette: true }).toBuffer(), expect: OK },
    { name: 'png interlaced', file: 'ok-interlaced.png', bytes: await sharp(pixels, { raw: { width: W, height: W, channels: 1 } }).png({ progressive: true }).toBuffer(), expect: OK },
    { name: 'png 1x1', file: 'ok-1x1.png', bytes: await sharp({ create: { width: 1, height: 1, channels: 3, background: '#888' } }).png().toBuffer(), expect: OK },
    { name: 'png 1000x1 (extreme aspect)', file: 'ok-wide.png', bytes: blackPng(1000, 1), expect: OK },
    { name: 'png bytes after IEND', file: 'ok-trailing.png', bytes: Buffer.concat([png, noise(512, 9)]), expect: OK },
    // A 20 MP black PNG of ~20 KB: at the pixel limit, accepted, decoded within the memory bound.
    { name: 'png 4000x5000 at the pixel limit', file: 'ok-20mp.png', bytes: blackPng(4000, 5000), expect: OK },
    { name: 'jpeg baseline grey', file: 'ok.jpg', bytes: jpg, expect: OK },
    { name: 'jpeg progressive rgb', file: 'ok-prog.jpg', bytes: await sharp(rgb, { raw: { width: W, height: W, channels: 3 } }).jpeg({ progressive: true }).toBuffer(), expect: OK },
    { name: 'png named .jpg', file: 'ok-png-named.jpg', bytes: png, expect: OK },
    { name: 'dicom part 10, 12 bits stored', file: 'ok.dcm', bytes: goodDcm, expect: OK },
    { name: 'dicom 8-bit', file: 'ok-8.dcm', bytes: dicom({ rows: 16, cols: 16, bitsAllocated: 8, pixels: Array.from({ length: 256 }, (_, i) => i) }), expect: OK },
    { name: 'dicom MONOCHROME1 with window', file: 'ok-mono1.dcm', bytes: dcm({ photometric: 'MONOCHROME1', windowCenter: '2048', windowWidth: '4096' }), expect: OK },
    { name: 'dicom signed with rescale', file: 'ok-signed.dcm', bytes: dcm({ pixelRepresentation: 1, rescaleSlope: '2', rescaleIntercept: '-1024' }), expect: OK },
    // Issue 14: info used to refuse a bare data set (no 128-byte preamble) that train and explain decode.
    { name: 'dicom without the 128-byte preamble', file: 'ok-bare.dcm', bytes: dicom({ rows: 10, cols: 12, implicit: true, pixels: new Array<number>(120).fill(5) }), expect: OK },
    { name: 'dicom part 10 named .png', file: 'ok-dcm-named.png', bytes: goodDcm, expect: OK },

    // PNG, damaged.
    { name: 'png empty file', file: 'empty.png', bytes: Buffer.alloc(0), expect: { header: /empty file/, decode: /empty file/ } },
    { name: 'png signature only', file: 'sig.png', bytes: PNG_SIGNATURE, expect: { header: HEADER_BAD, decode: /cannot decode image/ } },
    { name: 'png cut inside IHDR', file: 'cut-ihdr.png', bytes: png.subarray(0, 20), expect: { header: HEADER_BAD, decode: /cannot decode image/ } },
    { name: 'png cut after IHDR', file: 'cut-33.png', bytes: png.subarray(0, 33), expect: { header: HEADER_BAD, decode: /cannot decode image/ } },
    { name: 'png cut at 10% of IDAT', file: 'cut-10.png', bytes: png.subarray(0, idat.start + Math.floor(idat.data.length / 10)), expect: { header: 'ok', decode: /cannot decode image/ } },
    { name: 'png cut at 50%', file: 'cut-50.png', bytes: png.subarray(0, Math.floor(png.length / 2)), expect: { header: 'ok', decode: /cannot decode image/ } },
    { name: 'png cut at 99%', file: 'cut-99.png', bytes: png.subarray(0, idat.end - 6), expect: { header: 'ok', decode: /cannot decode image/ } },
    // libpng stops once it has every row: the pixels are complete.
    { name: 'png without IEND', file: 'no-iend.png', bytes: png.subarray(0, iend.start), expect: OK },
    { name: 'png corrupt pixel bytes (CRC mismatch)', file: 'crc.png', bytes: replaceIn(png, idat.start + 8 + 200, noise(64, 13)), expect: { header: 'ok', decode: /cannot decode image/ } },
    {
      name: 'png corrupt deflate stream (valid CRC)', file: 'zlib.png',
      bytes: pngFromRaw(W, W, Buffer.concat([Buffer.from([0x78, 0x9c]), noise(2000, 17)])), expect: { header: 'ok', decode: /cannot decode image/ },
    },
    {
      name: 'png IDAT too short for its rows', file: 'short-idat.png',
      bytes: pngFromRaw(W, W, zlib.deflateSync(Buffer.alloc((W + 1) * 8))), expect: { header: 'ok', decode: /cannot decode image/ },
    },
    { name: 'png bad IHDR CRC', file: 'ihdr-crc.png', bytes: replaceIn(png, 29, Buffer.from([0, 0, 0, 0])), expect: { header: 'ok', decode: /cannot decode image/ } },
    { name: 'png bad signature', file: 'badsig.png', bytes: replaceIn(png, 1, Buffer.from('XNG')), expect: { header: HEADER_BAD, decode: /cannot decode image/ } },
    { name: 'png IHDR bit depth 7', file: 'depth7.png', bytes: (() => { const b = Buffer.from(png); b[24] = 7; return Buffer.concat([b.subarray(0, 8), chunk('IHDR', b.subarray(16, 29)), b.subarray(33)]); })(), expect: { header: HEADER_BAD, decode: /cannot decode image/ } },
    { name: 'png claims 0x0', file: 'zero.png', bytes: pngClaiming(0, 0), expect: { header: HEADER_BAD, decode: /cannot decode image/ } },
    { name: 'png claims 2^31-1 x 1', file: 'huge-w.png', bytes: pngClaiming(0x7fffffff, 1), expect: { header: HEADER_BAD, decode: /cannot decode image/ } },
    { name: 'png claims 16000x16000 (decompression bomb header)', file: 'bomb-header.png', bytes: pngClaiming(16000, 16000), expect: { header: /image is 16000x16000 \(256 MP\), more than the 20 MP limit/, decode: /image is 16000x16000 \(256 MP\), more than the 20 MP limit/ } },
    { name: 'png claims 20000x1001 (just over the limit)', file: 'over.png', bytes: pngClaiming(20000, 1001), expect: { header: /image is 20000x1001 .*more than the 20 MP limit/, decode: /more than the 20 MP limit/ } },
    // Issue 14: a ~250 KB PNG that really decodes to 16000x16000 took 1.4 GB in explain.
    { name: 'png honest 16000x16000 bomb', file: 'bomb.png', bytes: blackPng(16000, 16000), expect: { header: /image is 16000x16000 \(256 MP\)/, decode: /image is 16000x16000 \(256 MP\)/ } },
    // A tiny image whose IDAT inflates to 64 MB: the decoder must stop at the rows it needs.
    { name: 'png 8x8 with a 64 MB IDAT', file: 'idat-bomb.png', bytes: pngFromRaw(8, 8, zlibZeros(64 << 20)), expect: OK },
    { name: 'text file named .png', file: 'text.png', bytes: Buffer.from('this is not an image\n'), expect: { header: HEADER_BAD, decode: /cannot decode image/ } },
    { name: 'random bytes named .png', file: 'random.png', bytes: noise(4096, 19), expect: { header: HEADER_BAD, decode: /cannot decode image/ } },
    { name: 'gzip file named .png', file: 'gzip.png', bytes: zlib.gzipSync(png), expect: { header: HEADER_BAD, decode: /cannot decode image/ } },

    // JPEG, damaged.
    { name: 'jpeg SOI only', file: 'soi.jpg', bytes: jpg.subarray(0, 2), expect: { header: HEADER_BAD, decode: /cannot decode image/ } },
    { name: 'jpeg cut before SOF', file: 'cut-sof.jpg', bytes: jpg.subarray(0, jpegMarker(jpg, 0xc0)), expect: { header: HEADER_BAD, decode: /cannot decode image/ } },
    { name: 'jpeg cut at 50%', file: 'cut-50.jpg', bytes: jpg.subarray(0, Math.floor(jpg.length / 2)), expect: { header: 'ok', decode: /cannot decode image/ } },
    { name: 'jpeg without EOI', file: 'no-eoi.jpg', bytes: jpg.subarray(0, jpg.length - 2), expect: { header: 'ok', decode: /cannot decode image/ } },
    { name: 'jpeg corrupt scan data', file: 'scan.jpg', bytes: replaceIn(jpg, jpegMarker(jpg, 0xda) + 40, Buffer.from([0xff, 0xd0, 0xff, 0xd7, 0xff, 0xc4])), expect: { header: 'ok', decode: /cannot decode image/ } },
    { name: 'jpeg SOF claims 16000x16000', file: 'bomb.jpg', bytes: jpegSof(jpg, 16000, 16000), expect: { header: /image is 16000x16000 \(256 MP\)/, decode: /image is 16000x16000 \(256 MP\)/ } },
    { name: 'jpeg SOF claims 65535x65535', file: 'max.jpg', bytes: jpegSof(jpg, 65535, 65535), expect: { header: /image header cannot be read .*Maximum supported image dimension is 65500 pixels/, decode: /cannot decode image .*Maximum supported image dimension/ } },
    { name: 'jpeg SOF claims height 0', file: 'h0.jpg', bytes: jpegSof(jpg, 64, 0), expect: { header: HEADER_BAD, decode: /cannot decode image/ } },
    { name: 'jpeg SOF claims 128x128 (more rows than the scan holds)', file: 'sof-lie.jpg', bytes: jpegSof(jpg, 128, 128), expect: { header: 'ok', decode: /cannot decode image/ } },
    { name: 'jpeg bad marker after SOI', file: 'marker.jpg', bytes: replaceIn(jpg, 2, Buffer.from([0x00, 0x00, 0x00, 0x00])), expect: { header: 'ok', decode: /cannot decode image/ } },

    // DICOM, damaged.
    { name: 'dicom empty .dcm', file: 'empty.dcm', bytes: Buffer.alloc(0), expect: { header: /empty file/, decode: /empty file/ } },
    { name: 'dicom preamble and magic only', file: 'magic.dcm', bytes: goodDcm.subarray(0, 132), expect: { header: /DICOM header cannot be read/, decode: /corrupt or truncated DICOM/ } },
    { name: 'dicom cut inside the meta group', file: 'cut-meta.dcm', bytes: goodDcm.subarray(0, 150), expect: { header: /DICOM header cannot be read/, decode: /corrupt or truncated DICOM/ } },
    { name: 'dicom cut inside the pixel data', file: 'cut-pixels.dcm', bytes: goodDcm.subarray(0, pixelStart + 100), expect: { header: 'ok', decode: /corrupt or truncated DICOM|truncated PixelData/ } },
    { name: 'dicom pixel data shorter than Rows x Columns', file: 'short.dcm', bytes: dcm({ pixels: dcmPixels.slice(0, 100) }), expect: { header: 'ok', decode: /truncated PixelData: 200 bytes present, 1536 needed/ } },
    { name: 'dicom without PixelData', file: 'nopixels.dcm', bytes: dcm({ pixels: undefined }), expect: { header: 'ok', decode: /DICOM has no PixelData/ } },
    { name: 'dicom Rows 0', file: 'rows0.dcm', bytes: dcm({ rows: 0 }), expect: { header: /Rows|header cannot be read/, decode: /missing or zero Rows/ } },
    { name: 'dicom Rows x Columns 16000x16000', file: 'bomb.dcm', bytes: dicom({ rows: 16000, cols: 16000, pixels: [1, 2, 3, 4] }), expect: { header: /16000x16000 \(256 MP\)/, decode: /image is 16000x16000 \(256 MP\), more than the 20 MP limit \(data\.maxImagePixels\) by its Rows\/Columns/ } },
    { name: 'dicom Rows x Columns 65535x65535', file: 'max.dcm', bytes: dicom({ rows: 65535, cols: 65535, pixels: [1, 2] }), expect: { header: /65535x65535/, decode: /65535x65535 .*by its Rows\/Columns/ } },
    { name: 'dicom BitsAllocated 32', file: 'bits32.dcm', bytes: (() => { const b = dcm(); const at = b.indexOf(Buffer.from([0x28, 0x00, 0x00, 0x01, 0x55, 0x53, 0x02, 0x00])); b.writeUInt16LE(32, at + 8); return b; })(), expect: { header: 'ok', decode: /BitsAllocated 32 not supported/ } },
    { name: 'dicom BitsStored 20 of 16', file: 'stored20.dcm', bytes: dcm({ bitsStored: 20 }), expect: { header: 'ok', decode: /BitsStored 20 inconsistent with BitsAllocated 16/ } },
    { name: 'dicom SamplesPerPixel 4', file: 'spp4.dcm', bytes: dcm({ samplesPerPixel: 4 }), expect: { header: 'ok', decode: /SamplesPerPixel 4 not supported/ } },
    { name: 'dicom PALETTE COLOR', file: 'palette.dcm', bytes: dcm({ photometric: 'PALETTE COLOR' }), expect: { header: 'ok', decode: /PALETTE COLOR not supported/ } },
    { name: 'dicom JPEG 2000 transfer syntax', file: 'j2k.dcm', bytes: dicom({ rows: 8, cols: 8, fragments: [noise(64, 23)], transferSyntax: '1.2.840.10008.1.2.4.90' }), expect: { header: 'ok', decode: /compressed DICOM transfer syntax 1\.2\.840\.10008\.1\.2\.4\.90 \(JPEG 2000 lossless\) not supported/ } },
    { name: 'dicom JPEG baseline with a garbage frame', file: 'jpegframe.dcm', bytes: dicom({ rows: 8, cols: 8, fragments: [noise(64, 29)], transferSyntax: '1.2.840.10008.1.2.4.50' }), expect: { header: 'ok', decode: /cannot decode JPEG frame/ } },
    { name: 'dicom JPEG baseline frame of the wrong size', file: 'jpegsize.dcm', bytes: dicom({ rows: 8, cols: 8, fragments: [jpg], transferSyntax: '1.2.840.10008.1.2.4.50' }), expect: { header: 'ok', decode: /JPEG frame is 64x64 but Rows\/Columns say 8x8/ } },
    { name: 'dicom unknown transfer syntax', file: 'ts.dcm', bytes: dcm({ transferSyntax: '1.2.3.4.5.6' }), expect: { header: 'ok', decode: /transfer syntax 1\.2\.3\.4\.5\.6 \(unknown\) not supported/ } },
    // An element whose length runs past the end of the file.
    { name: 'dicom element length past the end', file: 'len.dcm', bytes: (() => { const b = dcm(); b.writeUInt32LE(0x7ffffff0, b.length - dcmPixels.length * 2 - 4); return b; })(), expect: { header: 'ok', decode: /corrupt or truncated DICOM/ } },
    { name: 'dicom wrong magic (DICX at 128)', file: 'dicx.dcm', bytes: replaceIn(goodDcm, 131, Buffer.from('X')), expect: NOT_DICOM },
    { name: 'random bytes named .dcm', file: 'random.dcm', bytes: noise(4096, 31), expect: NOT_DICOM },
    { name: 'png named .dcm', file: 'png-named.dcm', bytes: png, expect: NOT_DICOM },
    {
      // 600 MB of zeros in ~600 KB after the pixel data: the inflate stops at what its 24x32
      // pixels need plus 8 MiB for the other elements, not at data.maxImageBytes (512 MiB, 2.5 s).
      name: 'dicom deflated data set bomb', file: 'deflate-bomb.dcm',
      bytes: (() => {
        const plain = dcm({ transferSyntax: '1.2.840.10008.1.2.1.99' });
        const start = 132 + 12 + plain.readUInt32LE(132 + 8);
        return Buffer.concat([plain.subarray(0, start), deflateZeros(plain.subarray(start), 600 << 20)]);
      })(),
      expect: { header: BOMB_CAPPED, decode: BOMB_CAPPED },
    },
  ];
  return cases;
}
