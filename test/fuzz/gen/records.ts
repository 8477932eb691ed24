// Bad manifest rows for the fuzz tier: lines that are not JSON or not objects, missing fields,
// wrong types, bad labels / boxes / words; paths that leave the dataset by their text or through
// symlinks (image, report_file, mask, linked folders, devices, FIFOs); reports that are empty,
// invisible, binary or huge. Each case makes its own files in the dataset it is given, so the same
// case can live alone in a folder (one reclf info per case) or with all the others (one train).
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

/** 'ok' = the record is accepted; otherwise it is refused naming `field` with a matching reason. */
export type RecordExpect = 'ok' | { field?: string; reason: RegExp };

export interface DatasetTools {
  /** The dataset folder (a real path). */
  dir: string;
  /** Unique per case: ids and file names. */
  tag: string;
  /** A folder outside the dataset: secret.png, secret.txt, folder/{x.png,r.txt}. */
  outside: string;
  /** A folder declared in the dataset's reclf-dataset.json linkRoots (as reclf import does). */
  linkRoot: string;
  /** Writes a file in the dataset; returns its relative path. */
  put(rel: string, data: string | Buffer): string;
  /** Makes a symlink at `rel` (in the dataset) to `target`; returns `rel`. */
  link(target: string, rel: string): string;
  /** Makes a FIFO at `rel`; false where mkfifo is unavailable. */
  fifo(rel: string): boolean;
}

export interface MadeRecord {
  /** The manifest line: an object (JSON-encoded), a raw string, or raw bytes. */
  line: object | string | Buffer;
  expect: RecordExpect;
}

export interface RecordCase {
  name: string;
  category: 'manifest' | 'path' | 'report';
  make(t: DatasetTools): MadeRecord;
}

export const GOOD_REPORT = 'Heart size normal. No pleural effusion. Lungs are clear.';
/** Files every dataset holds, for the cases to point at. */
export const GOOD_IMAGE = 'img/good.png';
export const GOOD_MASK = 'masks/good.png';

const rec = (t: DatasetTools, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: t.tag, image: GOOD_IMAGE, split: 'train', report: GOOD_REPORT, ...extra,
});
const without = (o: Record<string, unknown>, key: string): Record<string, unknown> => {
  const c = { ...o };
  delete c[key];
  return c;
};
const bad = (field: string | undefined, reason: RegExp): RecordExpect => ({ field, reason });

function randomBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; b[i] = x >>> 24; }
  return b;
}

const OUTSIDE = /resolves to .*, outside the dataset folder/;
const ESCAPES = /^path escapes the dataset folder: /;
const tenMiB = 'Effusion. '.repeat(1024 * 1024);

// ---- manifest rows -------------------------------------------------------------------------
const manifestCases: RecordCase[] = [
  { name: 'not JSON', category: 'manifest', make: () => ({ line: '{oops', expect: bad(undefined, /^not valid JSON/) }) },
  { name: 'JSON cut short', category: 'manifest', make: (t) => ({ line: JSON.stringify(rec(t)).slice(0, 30), expect: bad(undefined, /^not valid JSON/) }) },
  { name: 'trailing garbage after the object', category: 'manifest', make: (t) => ({ line: JSON.stringify(rec(t)) + ' x', expect: bad(undefined, /^not valid JSON/) }) },
  { name: 'two objects on one line', category: 'manifest', make: (t) => ({ line: JSON.stringify(rec(t)) + JSON.stringify(rec(t)), expect: bad(undefined, /^not valid JSON/) }) },
  // Each line is decoded as UTF-8 with its BOM dropped: a manifest saved by a Windows editor reads.
  { name: 'a UTF-8 BOM before the object (accepted)', category: 'manifest', make: (t) => ({ line: '\ufeff' + JSON.stringify(rec(t)), expect: 'ok' }) },
  { name: 'single quotes', category: 'manifest', make: () => ({ line: "{'id': 'x', 'image': 'img/good.png'}", expect: bad(undefined, /^not valid JSON/) }) },
  { name: 'a JSON array', category: 'manifest', make: () => ({ line: '[1,2,3]', expect: bad('(record)', /must be a JSON object, got an array/) }) },
  { name: 'a JSON string', category: 'manifest', make: () => ({ line: '"img/good.png"', expect: bad('(record)', /must be a JSON object/) }) },
  { name: 'a JSON number', category: 'manifest', make: () => ({ line: '42', expect: bad('(record)', /must be a JSON object, got number 42/) }) },
  { name: 'JSON null', category: 'manifest', make: () => ({ line: 'null', expect: bad('(record)', /must be a JSON object, got null/) }) },
  { name: 'JSON true', category: 'manifest', make: () => ({ line: 'true', expect: bad('(record)', /must be a JSON object/) }) },
  { name: 'an empty object', category: 'manifest', make: () => ({ line: '{}', expect: bad('report', /one of report or report_file is required/) }) },
  { name: 'invalid UTF-8 bytes', category: 'manifest', make: (t) => ({ line: Buffer.concat([Buffer.from(`{"id":"${t.tag}","image":"img/good.png","split":"train","report":"`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]), expect: bad(undefined, /line is not valid UTF-8/) }) },
  { name: 'missing id', category: 'manifest', make: (t) => ({ line: without(rec(t), 'id'), expect: bad('id', /is required/) }) },
  { name: 'missing image', category: 'manifest', make: (t) => ({ line: without(rec(t), 'image'), expect: bad('image', /is required/) }) },
  { name: 'missing split', category: 'manifest', make: (t) => ({ line: without(rec(t), 'split'), expect: bad('split', /is required/) }) },
  { name: 'missing report and report_file', category: 'manifest', make: (t) => ({ line: without(rec(t), 'report'), expect: bad('report', /one of report or report_file is required/) }) },
  { name: 'id a number', category: 'manifest', make: (t) => ({ line: rec(t, { id: 7 }), expect: bad('id', /must be string, got number 7/) }) },
  { name: 'id empty', category: 'manifest', make: (t) => ({ line: rec(t, { id: '' }), expect: bad('id', /must not be empty/) }) },
  { name: 'id an object', category: 'manifest', make: (t) => ({ line: rec(t, { id: { a: 1 } }), expect: bad('id', /must be string, got an object/) }) },
  { name: 'image a number', category: 'manifest', make: (t) => ({ line: rec(t, { image: 3 }), expect: bad('image', /must be string/) }) },
  { name: 'image empty', category: 'manifest', make: (t) => ({ line: rec(t, { image: '' }), expect: bad('image', /must not be empty/) }) },
  { name: 'image a list', category: 'manifest', make: (t) => ({ line: rec(t, { image: [GOOD_IMAGE] }), expect: bad('image', /must be string, got an array/) }) },
  { name: 'split "dev"', category: 'manifest', make: (t) => ({ line: rec(t, { split: 'dev' }), expect: bad('split', /must be one of "train", "valid", "test", got "dev"/) }) },
  { name: 'split "Train" (case)', category: 'manifest', make: (t) => ({ line: rec(t, { split: 'Train' }), expect: bad('split', /must be one of/) }) },
  { name: 'split null', category: 'manifest', make: (t) => ({ line: rec(t, { split: null }), expect: bad('split', /must be one of .*got null/) }) },
  { name: 'report a number', category: 'manifest', make: (t) => ({ line: rec(t, { report: 12 }), expect: bad('report', /must be string/) }) },
  { name: 'report a list of sentences', category: 'manifest', make: (t) => ({ line: rec(t, { report: ['Clear.', 'Normal.'] }), expect: bad('report', /must be string, got an array/) }) },
  { name: 'report_file a number', category: 'manifest', make: (t) => ({ line: without(rec(t, { report_file: 5 }), 'report'), expect: bad('report_file', /must be string/) }) },
  { name: 'report_file empty', category: 'manifest', make: (t) => ({ line: without(rec(t, { report_file: '' }), 'report'), expect: bad('report_file', /must not be empty/) }) },
  { name: 'view a number', category: 'manifest', make: (t) => ({ line: rec(t, { view: 1 }), expect: bad('view', /must be string/) }) },
  { name: 'meta a string', category: 'manifest', make: (t) => ({ line: rec(t, { meta: 'x' }), expect: bad('meta', /must be object/) }) },
  { name: 'labels a list', category: 'manifest', make: (t) => ({ line: rec(t, { labels: ['Effusion'] }), expect: bad('labels', /must be object, got an array/) }) },
  { name: 'label value 2', category: 'manifest', make: (t) => ({ line: rec(t, { labels: { Effusion: 2 } }), expect: bad('labels.Effusion', /must be one of 1, 0, -1, got number 2/) }) },
  { name: 'label value "1"', category: 'manifest', make: (t) => ({ line: rec(t, { labels: { Effusion: '1' } }), expect: bad('labels.Effusion', /must be one of 1, 0, -1, got "1"/) }) },
  { name: 'label value true', category: 'manifest', make: (t) => ({ line: rec(t, { labels: { Effusion: true } }), expect: bad('labels.Effusion', /must be one of/) }) },
  { name: 'label value null', category: 'manifest', make: (t) => ({ line: rec(t, { labels: { Effusion: null } }), expect: bad('labels.Effusion', /must be one of .*got null/) }) },
  { name: 'label value 0.5', category: 'manifest', make: (t) => ({ line: rec(t, { labels: { Effusion: 0.5 } }), expect: bad('labels.Effusion', /must be one of/) }) },
  { name: 'boxes an object', category: 'manifest', make: (t) => ({ line: rec(t, { boxes: { x: 1 } }), expect: bad('boxes', /must be array/) }) },
  { name: 'box with 4 items', category: 'manifest', make: (t) => ({ line: rec(t, { boxes: [[1, 2, 3, 4]] }), expect: bad('boxes[0]', /exactly 5 items/) }) },
  { name: 'box with 6 items', category: 'manifest', make: (t) => ({ line: rec(t, { boxes: [[1, 2, 3, 4, 'Effusion', 'x']] }), expect: bad('boxes[0]', /exactly 5 items/) }) },
  { name: 'box negative x', category: 'manifest', make: (t) => ({ line: rec(t, { boxes: [[-1, 0, 5, 5, 'Effusion']] }), expect: bad('boxes[0][0]', /must be >= 0/) }) },
  { name: 'box zero width', category: 'manifest', make: (t) => ({ line: rec(t, { boxes: [[0, 0, 0, 5, 'Effusion']] }), expect: bad('boxes[0][2]', /must be > 0/) }) },
  { name: 'box negative height', category: 'manifest', make: (t) => ({ line: rec(t, { boxes: [[0, 0, 5, -5, 'Effusion']] }), expect: bad('boxes[0][3]', /must be > 0/) }) },
  { name: 'box empty label', category: 'manifest', make: (t) => ({ line: rec(t, { boxes: [[0, 0, 5, 5, '']] }), expect: bad('boxes[0][4]', /must not be empty/) }) },
  { name: 'box numeric label', category: 'manifest', make: (t) => ({ line: rec(t, { boxes: [[0, 0, 5, 5, 3]] }), expect: bad('boxes[0][4]', /must be string/) }) },
  { name: 'box string coordinate', category: 'manifest', make: (t) => ({ line: rec(t, { boxes: [['0', 0, 5, 5, 'Effusion']] }), expect: bad('boxes[0][0]', /must be number/) }) },
  { name: 'box a flat list', category: 'manifest', make: (t) => ({ line: rec(t, { boxes: [0, 0, 5, 5, 'Effusion'] }), expect: bad('boxes[0]', /must be array/) }) },
  { name: 'words an object', category: 'manifest', make: (t) => ({ line: rec(t, { words: { text: 'heart' } }), expect: bad('words', /must be array/) }) },
  { name: 'word without role', category: 'manifest', make: (t) => ({ line: rec(t, { words: [{ text: 'heart' }] }), expect: bad('words[0].role', /is required/) }) },
  { name: 'word without text', category: 'manifest', make: (t) => ({ line: rec(t, { words: [{ role: 'finding' }] }), expect: bad('words[0].text', /is required/) }) },
  { name: 'word empty text', category: 'manifest', make: (t) => ({ line: rec(t, { words: [{ text: '', role: 'finding' }] }), expect: bad('words[0].text', /must not be empty/) }) },
  { name: 'word unknown role', category: 'manifest', make: (t) => ({ line: rec(t, { words: [{ text: 'heart', role: 'organ' }] }), expect: bad('words[0].role', /must be one of "finding", "location"/) }) },
  { name: 'word negative start', category: 'manifest', make: (t) => ({ line: rec(t, { words: [{ text: 'heart', role: 'location', start: -1 }] }), expect: bad('words[0].start', /must be >= 0/) }) },
  { name: 'word fractional end', category: 'manifest', make: (t) => ({ line: rec(t, { words: [{ text: 'heart', role: 'location', end: 2.5 }] }), expect: bad('words[0].end', /must be integer/) }) },
  { name: 'word negated "yes"', category: 'manifest', make: (t) => ({ line: rec(t, { words: [{ text: 'effusion', role: 'finding', negated: 'yes' }] }), expect: bad('words[0].negated', /must be boolean/) }) },
  { name: 'word a string', category: 'manifest', make: (t) => ({ line: rec(t, { words: ['heart'] }), expect: bad('words[0]', /must be object/) }) },
  { name: 'mask a number', category: 'manifest', make: (t) => ({ line: rec(t, { mask: 1 }), expect: bad('mask', /must be string/) }) },
  { name: 'mask empty', category: 'manifest', make: (t) => ({ line: rec(t, { mask: '' }), expect: bad('mask', /must not be empty/) }) },
  { name: 'duplicate id', category: 'manifest', make: (t) => ({ line: rec(t, { id: 'good' }), expect: bad('id', /duplicate id \(first used on line 1\)/) }) },
  // Accepted: what the schema tolerates on purpose.
  { name: 'unknown extra field (tolerated)', category: 'manifest', make: (t) => ({ line: rec(t, { foo: { bar: [1, 2] } }), expect: 'ok' }) },
  { name: 'both report and report_file (report wins)', category: 'manifest', make: (t) => ({ line: rec(t, { report_file: t.put(`rep/${t.tag}.txt`, 'Other words.') }), expect: 'ok' }) },
  { name: 'huge box coordinates (schema-valid)', category: 'manifest', make: (t) => ({ line: rec(t, { boxes: [[0, 0, 1e300, 1e300, 'Effusion']] }), expect: 'ok' }) },
  { name: 'id of 10,000 characters', category: 'manifest', make: (t) => ({ line: rec(t, { id: t.tag + 'x'.repeat(10_000) }), expect: 'ok' }) },
  { name: 'id with a NUL and a newline escaped', category: 'manifest', make: (t) => ({ line: rec(t, { id: `${t.tag}\u0000\n` }), expect: 'ok' }) },
  { name: 'meta nested 2,000 levels deep', category: 'manifest', make: (t) => ({ line: JSON.stringify(rec(t)).replace(/}$/, `,"meta":{"d":${'['.repeat(2000)}${']'.repeat(2000)}}}`), expect: 'ok' }) },
  { name: 'CRLF line ending', category: 'manifest', make: (t) => ({ line: JSON.stringify(rec(t)) + '\r', expect: 'ok' }) },
];

// ---- paths and symlinks --------------------------------------------------------------------
const pathCases: RecordCase[] = [
  { name: 'image ../ out of the dataset', category: 'path', make: (t) => ({ line: rec(t, { image: '../secret.png' }), expect: bad('image', ESCAPES) }) },
  { name: 'image ../../etc/passwd', category: 'path', make: (t) => ({ line: rec(t, { image: '../../../../../../etc/passwd' }), expect: bad('image', ESCAPES) }) },
  { name: 'image img/../../ out', category: 'path', make: (t) => ({ line: rec(t, { image: 'img/../../outside/secret.png' }), expect: bad('image', ESCAPES) }) },
  { name: 'image absolute outside', category: 'path', make: (t) => ({ line: rec(t, { image: path.join(t.outside, 'secret.png') }), expect: bad('image', ESCAPES) }) },
  { name: 'image absolute inside (still refused: paths are relative)', category: 'path', make: (t) => ({ line: rec(t, { image: path.join(t.dir, GOOD_IMAGE) }), expect: bad('image', ESCAPES) }) },
  { name: 'image /etc/passwd', category: 'path', make: (t) => ({ line: rec(t, { image: '/etc/passwd' }), expect: bad('image', ESCAPES) }) },
  { name: 'image /dev/zero', category: 'path', make: (t) => ({ line: rec(t, { image: '/dev/zero' }), expect: bad('image', ESCAPES) }) },
  { name: 'image with a NUL byte', category: 'path', make: (t) => ({ line: rec(t, { image: `${GOOD_IMAGE}\u0000.txt` }), expect: bad('image', ESCAPES) }) },
  { name: 'image "."', category: 'path', make: (t) => ({ line: rec(t, { image: '.' }), expect: bad('image', ESCAPES) }) },
  { name: 'image a folder', category: 'path', make: (t) => ({ line: rec(t, { image: 'img/' }), expect: bad('image', /img\/ is a folder, not a regular file/) }) },
  { name: 'image missing', category: 'path', make: (t) => ({ line: rec(t, { image: `img/${t.tag}-missing.png` }), expect: bad('image', /^file not found: img\/.*-missing\.png$/) }) },
  { name: 'image below a regular file', category: 'path', make: (t) => ({ line: rec(t, { image: `${GOOD_IMAGE}/x.png` }), expect: bad('image', /file not found/) }) },
  { name: 'image file:// URL', category: 'path', make: (t) => ({ line: rec(t, { image: 'file:///etc/passwd' }), expect: bad('image', /file not found: file:\/\/\/etc\/passwd/) }) },
  { name: 'image ~/', category: 'path', make: (t) => ({ line: rec(t, { image: '~/.ssh/id_rsa' }), expect: bad('image', /file not found/) }) },
  // Windows separators are read as separators, so `..\\` is refused like `../`.
  { name: 'image ..\\ backslashes', category: 'path', make: (t) => ({ line: rec(t, { image: '..\\..\\secret.png' }), expect: bad('image', ESCAPES) }) },
  { name: 'image path of 5,000 characters', category: 'path', make: (t) => ({ line: rec(t, { image: 'img/' + 'a'.repeat(5000) + '.png' }), expect: bad('image', /ENAMETOOLONG|file not found/) }) },
  { name: 'image symlink out of the dataset', category: 'path', make: (t) => ({ line: rec(t, { image: t.link(path.join(t.outside, 'secret.png'), `img/${t.tag}.png`) }), expect: bad('image', OUTSIDE) }) },
  { name: 'image relative symlink out', category: 'path', make: (t) => ({ line: rec(t, { image: t.link(path.relative(path.join(t.dir, 'img'), path.join(t.outside, 'secret.png')), `img/${t.tag}.png`) }), expect: bad('image', OUTSIDE) }) },
  {
    name: 'image symlink chain in -> in -> out', category: 'path', make: (t) => {
      t.link(path.join(t.outside, 'secret.png'), `img/${t.tag}-c.png`);
      t.link(`${t.tag}-c.png`, `img/${t.tag}-b.png`);
      return { line: rec(t, { image: t.link(`${t.tag}-b.png`, `img/${t.tag}.png`) }), expect: bad('image', OUTSIDE) };
    },
  },
  { name: 'image in a linked outside folder', category: 'path', make: (t) => ({ line: rec(t, { image: `${t.link(path.join(t.outside, 'folder'), `linked-${t.tag}`)}/x.png` }), expect: bad('image', OUTSIDE) }) },
  { name: 'image symlink to /dev/zero', category: 'path', make: (t) => ({ line: rec(t, { image: t.link('/dev/zero', `img/${t.tag}.png`) }), expect: bad('image', /resolves to \/dev\/zero, outside/) }) },
  { name: 'image symlink to /etc/passwd', category: 'path', make: (t) => ({ line: rec(t, { image: t.link('/etc/passwd', `img/${t.tag}.png`) }), expect: bad('image', /resolves to \/etc\/passwd, outside/) }) },
  { name: 'image symlink to the dataset folder', category: 'path', make: (t) => ({ line: rec(t, { image: t.link(t.dir, `img/${t.tag}.png`) }), expect: bad('image', /is a folder, not a regular file/) }) },
  { name: 'image dangling symlink', category: 'path', make: (t) => ({ line: rec(t, { image: t.link(path.join(t.dir, 'nowhere.png'), `img/${t.tag}.png`) }), expect: bad('image', /file not found: .* \(a broken link to .*nowhere\.png\)/) }) },
  {
    name: 'image symlink loop', category: 'path', make: (t) => {
      t.link(`${t.tag}-b.png`, `img/${t.tag}.png`);
      t.link(`${t.tag}.png`, `img/${t.tag}-b.png`);
      return { line: rec(t, { image: `img/${t.tag}.png` }), expect: bad('image', /too many levels of symbolic links/) };
    },
  },
  {
    name: 'image a FIFO', category: 'path', make: (t) => {
      const rel = `img/${t.tag}.png`;
      // Without mkfifo: a folder stands in (also not a regular file).
      if (!t.fifo(rel)) fs.mkdirSync(path.join(t.dir, rel));
      return { line: rec(t, { image: rel }), expect: bad('image', /is (a FIFO \(named pipe\)|a folder), not a regular file/) };
    },
  },
  { name: 'image symlink to another file inside (accepted)', category: 'path', make: (t) => ({ line: rec(t, { image: t.link('good.png', `img/${t.tag}.png`) }), expect: 'ok' }) },
  { name: 'image via a linked folder inside (accepted)', category: 'path', make: (t) => ({ line: rec(t, { image: `${t.link(path.join(t.dir, 'img'), `alias-${t.tag}`)}/good.png` }), expect: 'ok' }) },
  { name: 'image img/../img/ normalised inside (accepted)', category: 'path', make: (t) => ({ line: rec(t, { image: 'img/../img/good.png' }), expect: 'ok' }) },
  { name: 'image ./img/ (accepted)', category: 'path', make: (t) => ({ line: rec(t, { image: './img/good.png' }), expect: 'ok' }) },
  { name: 'image symlink into the import\'s declared root (accepted)', category: 'path', make: (t) => ({ line: rec(t, { image: t.link(path.join(t.linkRoot, 'source.png'), `img/${t.tag}.png`) }), expect: 'ok' }) },
  { name: 'image symlink next to the declared root (refused)', category: 'path', make: (t) => ({ line: rec(t, { image: t.link(path.join(t.outside, 'secret.png'), `img/${t.tag}.png`) }), expect: bad('image', /outside the dataset folder and the link roots in reclf-dataset\.json/) }) },
  { name: 'report_file ../', category: 'path', make: (t) => ({ line: without(rec(t, { report_file: '../secret.txt' }), 'report'), expect: bad('report_file', ESCAPES) }) },
  { name: 'report_file absolute', category: 'path', make: (t) => ({ line: without(rec(t, { report_file: path.join(t.outside, 'secret.txt') }), 'report'), expect: bad('report_file', ESCAPES) }) },
  { name: 'report_file /dev/zero', category: 'path', make: (t) => ({ line: without(rec(t, { report_file: '/dev/zero' }), 'report'), expect: bad('report_file', ESCAPES) }) },
  { name: 'report_file symlink out', category: 'path', make: (t) => ({ line: without(rec(t, { report_file: t.link(path.join(t.outside, 'secret.txt'), `rep/${t.tag}.txt`) }), 'report'), expect: bad('report_file', /outside the dataset folder \(a report_file must be inside the dataset folder\)/) }) },
  { name: 'report_file in a linked outside folder', category: 'path', make: (t) => ({ line: without(rec(t, { report_file: `${t.link(path.join(t.outside, 'folder'), `linked-${t.tag}`)}/r.txt` }), 'report'), expect: bad('report_file', OUTSIDE) }) },
  { name: 'report_file symlink into the declared image root', category: 'path', make: (t) => ({ line: without(rec(t, { report_file: t.link(path.join(t.linkRoot, 'source.txt'), `rep/${t.tag}.txt`) }), 'report'), expect: bad('report_file', /a report_file must be inside the dataset folder/) }) },
  { name: 'report_file symlink to /dev/zero', category: 'path', make: (t) => ({ line: without(rec(t, { report_file: t.link('/dev/zero', `rep/${t.tag}.txt`) }), 'report'), expect: bad('report_file', /resolves to \/dev\/zero/) }) },
  { name: 'report_file symlink to /dev/urandom', category: 'path', make: (t) => ({ line: without(rec(t, { report_file: t.link('/dev/urandom', `rep/${t.tag}.txt`) }), 'report'), expect: bad('report_file', /resolves to \/dev\/urandom/) }) },
  {
    name: 'report_file a FIFO', category: 'path', make: (t) => {
      const rel = `rep/${t.tag}.txt`;
      if (!t.fifo(rel)) fs.mkdirSync(path.join(t.dir, rel));
      return { line: without(rec(t, { report_file: rel }), 'report'), expect: bad('report_file', /is (a FIFO \(named pipe\)|a folder), not a regular file/) };
    },
  },
  { name: 'report_file a folder', category: 'path', make: (t) => ({ line: without(rec(t, { report_file: 'rep' }), 'report'), expect: bad('report_file', /rep is a folder, not a regular file/) }) },
  { name: 'report_file missing', category: 'path', make: (t) => ({ line: without(rec(t, { report_file: `rep/${t.tag}-missing.txt` }), 'report'), expect: bad('report_file', /file not found/) }) },
  { name: 'report_file symlink inside (accepted)', category: 'path', make: (t) => ({ line: without(rec(t, { report_file: t.link('good.txt', `rep/${t.tag}.txt`) }), 'report'), expect: 'ok' }) },
  { name: 'mask ../', category: 'path', make: (t) => ({ line: rec(t, { mask: '../m.png' }), expect: bad('mask', ESCAPES) }) },
  { name: 'mask absolute', category: 'path', make: (t) => ({ line: rec(t, { mask: path.join(t.outside, 'secret.png') }), expect: bad('mask', ESCAPES) }) },
  { name: 'mask symlink out', category: 'path', make: (t) => ({ line: rec(t, { mask: t.link(path.join(t.outside, 'secret.png'), `masks/${t.tag}.png`) }), expect: bad('mask', /outside the dataset folder \(a mask must be inside the dataset folder\)/) }) },
  { name: 'mask in a linked outside folder', category: 'path', make: (t) => ({ line: rec(t, { mask: `${t.link(path.join(t.outside, 'folder'), `linked-${t.tag}`)}/x.png` }), expect: bad('mask', OUTSIDE) }) },
  { name: 'mask symlink into the declared image root', category: 'path', make: (t) => ({ line: rec(t, { mask: t.link(path.join(t.linkRoot, 'source.png'), `masks/${t.tag}.png`) }), expect: bad('mask', /a mask must be inside the dataset folder/) }) },
  { name: 'mask symlink to /dev/zero', category: 'path', make: (t) => ({ line: rec(t, { mask: t.link('/dev/zero', `masks/${t.tag}.png`) }), expect: bad('mask', /resolves to \/dev\/zero/) }) },
  { name: 'mask a folder', category: 'path', make: (t) => ({ line: rec(t, { mask: 'masks' }), expect: bad('mask', /masks is a folder, not a regular file/) }) },
  { name: 'mask missing', category: 'path', make: (t) => ({ line: rec(t, { mask: `masks/${t.tag}-missing.png` }), expect: bad('mask', /file not found/) }) },
  { name: 'mask symlink inside (accepted)', category: 'path', make: (t) => ({ line: rec(t, { mask: t.link('good.png', `masks/${t.tag}.png`) }), expect: 'ok' }) },
];

// ---- reports -------------------------------------------------------------------------------
const reportCases: RecordCase[] = [
  { name: 'inline report empty', category: 'report', make: (t) => ({ line: rec(t, { report: '' }), expect: bad('report', /report text is empty/) }) },
  { name: 'inline report whitespace only', category: 'report', make: (t) => ({ line: rec(t, { report: ' \n\t \r\n ' }), expect: bad('report', /report text is empty/) }) },
  { name: 'inline report zero-width only', category: 'report', make: (t) => ({ line: rec(t, { report: '\u200b\u200c\u200d\u2060\ufeff\u200b' }), expect: bad('report', /report text has no words/) }) },
  { name: 'inline report punctuation only', category: 'report', make: (t) => ({ line: rec(t, { report: '... ;;; --- !!!' }), expect: bad('report', /report text has no words/) }) },
  { name: 'inline report emoji only', category: 'report', make: (t) => ({ line: rec(t, { report: '\u{1FAC1}\u{1FAC1} \u{1F4A8}' }), expect: bad('report', /report text has no words/) }) },
  { name: 'inline report NUL characters', category: 'report', make: (t) => ({ line: rec(t, { report: 'Heart\u0000size\u0000normal' }), expect: bad('report', /contains NUL characters/) }) },
  { name: 'inline report control characters', category: 'report', make: (t) => ({ line: rec(t, { report: '\u0001\u0002\u0003\u0004 heart \u0005\u0006\u0007\u0008' }), expect: bad('report', /does not look like text/) }) },
  { name: 'inline report 10 MB', category: 'report', make: (t) => ({ line: rec(t, { report: tenMiB }), expect: bad('report', /report text is 10 MiB, more than the 1 MiB limit \(data\.maxReportBytes\)/) }) },
  { name: 'inline report 1 MiB + 1 byte', category: 'report', make: (t) => ({ line: rec(t, { report: 'E'.repeat(1024 * 1024 + 1) }), expect: bad('report', /more than the 1 MiB limit/) }) },
  { name: 'inline report with a lone surrogate', category: 'report', make: (t) => ({ line: `{"id":"${t.tag}","image":"${GOOD_IMAGE}","split":"train","report":"Heart \\ud800 normal."}`, expect: 'ok' }) },
  { name: 'inline report non-Latin scripts (accepted)', category: 'report', make: (t) => ({ line: rec(t, { report: 'Épanchement pleural gauche. 胸水なし。 Плевральный выпот.' }), expect: 'ok' }) },
  { name: 'inline report one 200,000-letter word (accepted)', category: 'report', make: (t) => ({ line: rec(t, { report: 'Effusion ' + 'a'.repeat(200_000) }), expect: 'ok' }) },
  { name: 'inline report with bidi overrides (accepted)', category: 'report', make: (t) => ({ line: rec(t, { report: '\u202eNo effusion.\u202c Heart normal.' }), expect: 'ok' }) },
  { name: 'report_file empty', category: 'report', make: (t) => ({ line: without(rec(t, { report_file: t.put(`rep/${t.tag}.txt`, '') }), 'report'), expect: bad('report_file', /rep\/.*\.txt is empty/) }) },
  { name: 'report_file random bytes', category: 'report', make: (t) => ({ line: without(rec(t, { report_file: t.put(`rep/${t.tag}.txt`, randomBytes(4096, 5)) }), 'report'), expect: bad('report_file', /is not valid UTF-8 text/) }) },
  { name: 'report_file 10 MB', category: 'report', make: (t) => ({ line: without(rec(t, { report_file: t.put(`rep/${t.tag}.txt`, tenMiB) }), 'report'), expect: bad('report_file', /is 10 MiB, more than the 1 MiB limit \(data\.maxReportBytes\)/) }) },
  { name: 'report_file zero-width only', category: 'report', make: (t) => ({ line: without(rec(t, { report_file: t.put(`rep/${t.tag}.txt`, '\u200b\u200b\u200b\n') }), 'report'), expect: bad('report_file', /has no words/) }) },
  { name: 'report_file UTF-16 with BOM', category: 'report', make: (t) => ({ line: without(rec(t, { report_file: t.put(`rep/${t.tag}.txt`, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Heart size normal.', 'utf16le')])) }), 'report'), expect: bad('report_file', /is not valid UTF-8 text|NUL characters/) }) },
  { name: 'report_file Latin-1', category: 'report', make: (t) => ({ line: without(rec(t, { report_file: t.put(`rep/${t.tag}.txt`, Buffer.from('Épanchement pleural.', 'latin1')) }), 'report'), expect: bad('report_file', /is not valid UTF-8 text/) }) },
  { name: 'report_file a PNG', category: 'report', make: (t) => ({ line: without(rec(t, { report_file: GOOD_IMAGE }), 'report'), expect: bad('report_file', /is not valid UTF-8 text|NUL characters|does not look like text/) }) },
  { name: 'report_file with a UTF-8 BOM and CRLF (accepted)', category: 'report', make: (t) => ({ line: without(rec(t, { report_file: t.put(`rep/${t.tag}.txt`, '\ufeffHeart size normal.\r\nNo effusion.\r\n') }), 'report'), expect: 'ok' }) },
];

export const recordCases: RecordCase[] = [...manifestCases, ...pathCases, ...reportCases];

/** The id a refusal names: the record's own id when it has a usable one. */
export function expectedId(line: MadeRecord['line']): string | undefined {
  if (typeof line !== 'object' || Buffer.isBuffer(line)) return undefined;
  const id = (line as { id?: unknown }).id;
  return typeof id === 'string' && id ? id : undefined;
}

/** The tools over one dataset folder (`dir`, a real path). */
export function datasetTools(dir: string, tag: string, outside: string, linkRoot: string): DatasetTools {
  const full = (rel: string): string => {
    const f = path.join(dir, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    return f;
  };
  return {
    dir, tag, outside, linkRoot,
    put: (rel, data) => { fs.writeFileSync(full(rel), data); return rel; },
    link: (target, rel) => { fs.symlinkSync(target, full(rel)); return rel; },
    fifo: (rel) => spawnSync('mkfifo', [full(rel)]).status === 0,
  };
}
