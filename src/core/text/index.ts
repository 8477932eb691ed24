// Public surface of the text package: BERT-compatible tokenisation, word spans, vocabulary learning.
export { basicTokenize, basicWords, isChineseChar, isPunctuation } from './basic-tokenizer';
export type { BasicToken, BasicTokenizerOptions, NormChar, WordSpan } from './basic-tokenizer';
export {
  BERT_SPECIAL_TOKENS,
  WordPieceTokenizer,
  batchWordsToPieceMatrix,
  parseTokenizerJson,
  parseVocabText,
  wordsToPieceMatrix,
} from './wordpiece';
export type { EncodeOptions, Encoding, SpecialTokens, WordPieceOptions } from './wordpiece';
export { VOCAB_SPECIALS, buildVocab, buildVocabDetailed } from './vocab-build';
export type { BuildVocabOptions, VocabBuildResult, VocabBuildStats } from './vocab-build';
