// `reclf vocab build`: learns a WordPiece vocabulary from a dataset's reports and writes vocab.txt
// (BERT format, loadable by Hugging Face tokenizers too), then checks it on the same reports.
import path from 'node:path';
import { bool, list, num, str, UsageError } from '../args';
import type { Command } from '../command';
import { formatInvalid, readDataset } from '../../core/data/manifest';
import { SPLITS, type Split } from '../../core/data/manifest-types';
import { writeFileAtomic } from '../../core/fs-atomic';
import { buildVocabDetailed, WordPieceTokenizer, type VocabBuildStats } from '../../core/text/index';

export interface VocabBuildSummary extends VocabBuildStats {
  out: string;
  vocabSize: number;
  vocabHash: string;
  splits: Split[];
  /** Share of corpus words that became [UNK] (0 by construction; checked, not assumed). */
  unkRate: number;
  piecesPerWord: number;
}

export const vocabBuildCommand: Command = {
  spec: {
    name: 'vocab build',
    summary: 'Learn a WordPiece vocabulary (vocab.txt) from a dataset\'s reports',
    usage: 'reclf vocab build --data DATASET --out vocab.txt [--size 4000] [--min-frequency 2] [--splits train] [--cased] [--json]',
    flags: {
      data: { type: 'string', value: 'DIR', required: true, description: 'Dataset folder containing manifest.jsonl' },
      out: { type: 'string', value: 'FILE', required: true, description: 'Where to write vocab.txt' },
      size: { type: 'number', value: 'N', default: 4000, description: 'Largest vocabulary size, special tokens included' },
      'min-frequency': { type: 'number', value: 'N', default: 2, description: 'Merge only piece pairs seen at least N times' },
      splits: { type: 'list', value: 'LIST', default: ['train'], description: 'Splits whose reports are read (comma-separated: train,valid,test)' },
      cased: { type: 'boolean', description: 'Keep case and accents (default: uncased, like bert-base-uncased)' },
      json: { type: 'boolean', description: 'Print the summary as JSON on stdout' },
    },
  },
  async run(ctx) {
    const { flags } = ctx.args;
    const data = str(flags, 'data') as string;
    const out = path.resolve(str(flags, 'out') as string);
    const size = num(flags, 'size') ?? 4000;
    const minFrequency = num(flags, 'minFrequency') ?? 2;
    if (!(Number.isInteger(size) && size > 0)) throw new UsageError(`--size must be a positive integer, got ${size}`);
    if (!(Number.isInteger(minFrequency) && minFrequency >= 1)) throw new UsageError(`--min-frequency must be an integer >= 1, got ${minFrequency}`);
    const splits = list(flags, 'splits') ?? ['train'];
    for (const s of splits) {
      if (!(SPLITS as readonly string[]).includes(s)) throw new UsageError(`--splits: unknown split '${s}' (expected ${SPLITS.join(', ')})`);
    }
    const lowerCase = !bool(flags, 'cased');

    const ds = readDataset(data, { onWarning: (r) => ctx.events.log(`skipped: ${formatInvalid(r)}`) });
    const reports = ds.studies.filter((s) => (splits as string[]).includes(s.split)).map((s) => s.report);
    if (reports.length === 0) throw new UsageError(`${ds.manifest}: no studies in split(s) ${splits.join(', ')}`);
    ctx.events.log(`reading ${reports.length} reports from ${ds.manifest} (splits: ${splits.join(', ')})`);

    const { vocab, stats } = buildVocabDetailed(reports, { size, minFrequency, lowerCase });
    const tokenizer = WordPieceTokenizer.fromTokens(vocab, { lowerCase });
    let words = 0;
    let unk = 0;
    let pieces = 0;
    for (const r of reports) {
      for (const t of tokenizer.basicTokens(r)) {
        const p = tokenizer.wordPieces(t);
        words++;
        pieces += p.length;
        if (p.length === 1 && p[0].piece === tokenizer.specialTokens.unk) unk++;
      }
    }
    writeFileAtomic(out, tokenizer.vocabText());

    const summary: VocabBuildSummary = {
      out,
      vocabSize: vocab.length,
      vocabHash: tokenizer.vocabHash,
      splits: splits as Split[],
      ...stats,
      unkRate: words ? unk / words : 0,
      piecesPerWord: words ? pieces / words : 0,
    };
    if (stats.stoppedBy === 'min-frequency' && vocab.length < size) {
      ctx.events.log(`note: stopped at ${vocab.length} tokens: no piece pair occurs ${minFrequency}+ times any more`);
    }
    process.stdout.write(bool(flags, 'json') ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary) + '\n');
    return 0;
  },
};

function formatSummary(s: VocabBuildSummary): string {
  return [
    `Wrote ${s.out}: ${s.vocabSize} tokens (sha256 ${s.vocabHash.slice(0, 12)}…)`,
    `corpus: ${s.texts} reports, ${s.totalWords} words, ${s.uniqueWords} distinct; alphabet ${s.alphabetSize}; merges ${s.merges} (stopped by ${s.stoppedBy})`,
    `check: ${(100 * s.unkRate).toFixed(2)}% [UNK] words, ${s.piecesPerWord.toFixed(3)} pieces per word`,
  ].join('\n');
}
