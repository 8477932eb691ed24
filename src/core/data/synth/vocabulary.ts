// Vocabulary of the synthetic benchmark: findings, their synonyms and severity words, locations and
// their phrasings. The report writer draws from these tables, and the same tables are exported for
// zero-shot prompts and the knowledge base, so prompts use exactly the words the reports use.

/** Canonical finding names (lowercase), used in WordTruth.finding. */
export type FindingName =
  | 'atelectasis'
  | 'cardiomegaly'
  | 'consolidation'
  | 'edema'
  | 'pleural effusion'
  | 'pneumothorax'
  | 'nodule';

export const FINDING_NAMES: readonly FindingName[] = [
  'atelectasis', 'cardiomegaly', 'consolidation', 'edema', 'pleural effusion', 'pneumothorax', 'nodule',
];

/** Manifest label (CheXpert spelling) of each finding. */
export const FINDING_LABEL: Readonly<Record<FindingName, string>> = {
  atelectasis: 'Atelectasis',
  cardiomegaly: 'Cardiomegaly',
  consolidation: 'Consolidation',
  edema: 'Edema',
  'pleural effusion': 'Pleural Effusion',
  pneumothorax: 'Pneumothorax',
  nodule: 'Nodule',
};

/** The manifest label of a finding name from the word ground truth; other names stay as they are. */
export function labelOfFinding(finding: string): string {
  return (FINDING_LABEL as Record<string, string>)[finding] ?? finding;
}

export const NO_FINDING_LABEL = 'No Finding';

/** Every label a synthetic study carries, in manifest order. */
export const SYNTH_LABELS: readonly string[] = [...FINDING_NAMES.map((f) => FINDING_LABEL[f]), NO_FINDING_LABEL];

/** Canonical location names, used in WordTruth.location. */
export type LocationName =
  | 'right upper zone' | 'right middle zone' | 'right lower zone'
  | 'left upper zone' | 'left middle zone' | 'left lower zone'
  | 'right apical' | 'left apical'
  | 'right basal' | 'left basal'
  | 'bilateral basal' | 'bilateral perihilar'
  | 'right hemithorax' | 'left hemithorax'
  | 'retrocardiac' | 'cardiac';

export type Severity = 'mild' | 'moderate' | 'severe';

export interface FindingPhrase {
  /** Phrase as written; every word of it is a finding word. */
  text: string;
  /** Plural form when the finding is bilateral ("pleural effusions"). */
  plural?: string;
  /** Count noun (takes "a"/"an"); mass nouns ("consolidation") take no article. */
  countable: boolean;
}

export interface FindingVocabulary {
  name: FindingName;
  label: string;
  /** Phrases for a present finding. */
  synonyms: readonly FindingPhrase[];
  /** Phrases used after a negation ("no focal consolidation": "focal" is a modifier word). */
  negated: readonly { modifier?: string; text: string }[];
  /** Severity words (adjectives) by severity. */
  severity: Readonly<Record<Severity, readonly string[]>>;
  /** Descriptors that may precede the finding ("patchy", "linear"); modifier words. */
  descriptors: readonly string[];
  /** Locations at which the generator places this finding. */
  locations: readonly LocationName[];
}

export const FINDINGS: Readonly<Record<FindingName, FindingVocabulary>> = {
  consolidation: {
    name: 'consolidation',
    label: 'Consolidation',
    synonyms: [
      { text: 'consolidation', countable: false },
      { text: 'airspace consolidation', countable: false },
      { text: 'airspace opacity', countable: true },
      { text: 'airspace disease', countable: false },
      { text: 'opacity', countable: true },
      { text: 'infiltrate', countable: true },
    ],
    negated: [
      { modifier: 'focal', text: 'consolidation' },
      { text: 'consolidation' },
      { modifier: 'focal', text: 'airspace disease' },
      { modifier: 'focal', text: 'airspace opacity' },
    ],
    severity: { mild: ['faint', 'subtle', 'mild'], moderate: ['patchy', 'focal'], severe: ['dense', 'confluent'] },
    descriptors: ['patchy', 'ill-defined', 'hazy'],
    locations: [
      'right upper zone', 'right middle zone', 'right lower zone',
      'left upper zone', 'left middle zone', 'left lower zone',
      'right basal', 'left basal',
    ],
  },
  nodule: {
    name: 'nodule',
    label: 'Nodule',
    synonyms: [
      { text: 'nodule', countable: true },
      { text: 'pulmonary nodule', countable: true },
      { text: 'nodular opacity', countable: true },
      { text: 'rounded opacity', countable: true },
    ],
    negated: [
      { text: 'pulmonary nodule' },
      { modifier: 'suspicious', text: 'pulmonary nodule' },
      { modifier: 'discrete', text: 'nodule' },
    ],
    severity: { mild: ['small'], moderate: ['well-circumscribed'], severe: ['large', 'dense'] },
    descriptors: ['round', 'well-defined', 'solitary'],
    locations: [
      'right upper zone', 'right middle zone', 'right lower zone',
      'left upper zone', 'left middle zone', 'left lower zone',
      'right apical', 'left apical',
    ],
  },
  'pleural effusion': {
    name: 'pleural effusion',
    label: 'Pleural Effusion',
    synonyms: [
      { text: 'pleural effusion', plural: 'pleural effusions', countable: true },
      { text: 'effusion', plural: 'effusions', countable: true },
    ],
    negated: [{ text: 'pleural effusion' }, { text: 'effusion' }],
    severity: { mild: ['small', 'trace'], moderate: ['moderate'], severe: ['large'] },
    descriptors: ['layering'],
    locations: ['right basal', 'left basal', 'bilateral basal'],
  },
  pneumothorax: {
    name: 'pneumothorax',
    label: 'Pneumothorax',
    synonyms: [{ text: 'pneumothorax', plural: 'pneumothoraces', countable: true }],
    negated: [{ text: 'pneumothorax' }],
    severity: { mild: ['small', 'tiny'], moderate: ['moderate'], severe: ['large'] },
    descriptors: [],
    locations: ['right apical', 'left apical', 'right hemithorax', 'left hemithorax'],
  },
  cardiomegaly: {
    name: 'cardiomegaly',
    label: 'Cardiomegaly',
    synonyms: [{ text: 'cardiomegaly', countable: false }, { text: 'enlarged', countable: false }, { text: 'enlargement', countable: false }],
    negated: [{ text: 'cardiomegaly' }],
    severity: { mild: ['mild'], moderate: ['moderate'], severe: ['marked', 'severe'] },
    descriptors: [],
    locations: ['cardiac'],
  },
  atelectasis: {
    name: 'atelectasis',
    label: 'Atelectasis',
    synonyms: [
      { text: 'atelectasis', countable: false },
      { text: 'atelectatic change', plural: 'atelectatic changes', countable: false },
      { text: 'volume loss', countable: false },
    ],
    negated: [{ text: 'atelectasis' }],
    severity: { mild: ['minimal', 'mild'], moderate: ['linear', 'subsegmental'], severe: ['plate-like', 'band-like'] },
    descriptors: ['linear', 'subsegmental', 'discoid'],
    locations: [
      'right lower zone', 'left lower zone', 'right middle zone', 'left middle zone',
      'right basal', 'left basal', 'bilateral basal', 'retrocardiac',
    ],
  },
  edema: {
    name: 'edema',
    label: 'Edema',
    synonyms: [
      { text: 'pulmonary edema', countable: false },
      { text: 'interstitial edema', countable: false },
      { text: 'edema', countable: false },
      { text: 'interstitial pulmonary edema', countable: false },
    ],
    negated: [{ text: 'pulmonary edema' }, { text: 'edema' }],
    severity: { mild: ['mild'], moderate: ['moderate'], severe: ['severe', 'marked'] },
    descriptors: [],
    locations: ['bilateral perihilar'],
  },
};

export interface LocationVocabulary {
  name: LocationName;
  /** Phrases that precede the finding ("left basal effusion"). */
  adjective: readonly string[];
  /** Noun phrases after a preposition ("at the left base"). */
  noun: readonly string[];
  preposition: 'in' | 'at';
  /** Which side(s) of the patient: the renderer places the lesion there. */
  sides: readonly ('right' | 'left')[];
}

function zone(side: 'right' | 'left', level: 'upper' | 'middle' | 'lower'): LocationVocabulary {
  const s = side;
  const byLevel = {
    upper: { adjective: [`${s} upper zone`, `${s} upper lobe`, `${s} upper lung`], noun: [`${s} upper zone`, `${s} upper lobe`, `${s} upper lung zone`] },
    middle: side === 'right'
      ? { adjective: ['right middle zone', 'right mid lung', 'right middle lobe'], noun: ['right mid lung zone', 'right middle zone', 'right middle lobe'] }
      : { adjective: ['left middle zone', 'left mid lung', 'lingular'], noun: ['left mid lung zone', 'left middle zone', 'lingula'] },
    lower: { adjective: [`${s} lower zone`, `${s} lower lobe`, `${s} lower lung`], noun: [`${s} lower zone`, `${s} lower lobe`, `${s} lower lung zone`] },
  }[level];
  const name = `${s} ${level} zone` as LocationName;
  return { name, ...byLevel, preposition: 'in', sides: [side] };
}

export const LOCATIONS: Readonly<Record<LocationName, LocationVocabulary>> = {
  'right upper zone': zone('right', 'upper'),
  'right middle zone': zone('right', 'middle'),
  'right lower zone': zone('right', 'lower'),
  'left upper zone': zone('left', 'upper'),
  'left middle zone': zone('left', 'middle'),
  'left lower zone': zone('left', 'lower'),
  'right apical': { name: 'right apical', adjective: ['right apical'], noun: ['right apex', 'right lung apex'], preposition: 'at', sides: ['right'] },
  'left apical': { name: 'left apical', adjective: ['left apical'], noun: ['left apex', 'left lung apex'], preposition: 'at', sides: ['left'] },
  'right basal': {
    name: 'right basal', adjective: ['right basal', 'right basilar', 'right base'],
    noun: ['right base', 'right lung base', 'right costophrenic angle'], preposition: 'at', sides: ['right'],
  },
  'left basal': {
    name: 'left basal', adjective: ['left basal', 'left basilar', 'left base'],
    noun: ['left base', 'left lung base', 'left costophrenic angle'], preposition: 'at', sides: ['left'],
  },
  'bilateral basal': {
    name: 'bilateral basal', adjective: ['bilateral', 'bibasilar', 'bilateral basal'],
    noun: ['both lung bases', 'both bases', 'bilateral lung bases'], preposition: 'at', sides: ['right', 'left'],
  },
  'bilateral perihilar': {
    name: 'bilateral perihilar', adjective: ['bilateral', 'bilateral perihilar'],
    noun: ['both perihilar regions', 'both lungs', 'bilateral perihilar regions'], preposition: 'in', sides: ['right', 'left'],
  },
  'right hemithorax': {
    name: 'right hemithorax', adjective: ['right', 'right-sided'], noun: ['right hemithorax', 'right pleural space'], preposition: 'in', sides: ['right'],
  },
  'left hemithorax': {
    name: 'left hemithorax', adjective: ['left', 'left-sided'], noun: ['left hemithorax', 'left pleural space'], preposition: 'in', sides: ['left'],
  },
  retrocardiac: {
    name: 'retrocardiac', adjective: ['retrocardiac', 'left retrocardiac'], noun: ['retrocardiac region', 'retrocardiac space'],
    preposition: 'in', sides: ['left'],
  },
  cardiac: { name: 'cardiac', adjective: ['cardiac'], noun: ['cardiac silhouette', 'heart', 'cardiac contour'], preposition: 'in', sides: ['left'] },
};

/** Everything a prompt builder or knowledge base needs, as plain data (also written to synth.json). */
export interface SynthVocabulary {
  labels: readonly string[];
  findings: { name: FindingName; label: string; synonyms: string[]; severity: string[]; locations: LocationName[] }[];
  locations: { name: LocationName; phrases: string[] }[];
  negations: readonly string[];
}

export const NEGATION_WORDS: readonly string[] = ['no', 'without', 'not', 'normal', 'negative', 'free'];

export function synthVocabulary(): SynthVocabulary {
  return {
    labels: SYNTH_LABELS,
    findings: FINDING_NAMES.map((name) => {
      const f = FINDINGS[name];
      const severity = [...new Set(Object.values(f.severity).flat())];
      return { name, label: f.label, synonyms: f.synonyms.map((s) => s.text), severity, locations: [...f.locations] };
    }),
    locations: (Object.keys(LOCATIONS) as LocationName[]).map((name) => {
      const l = LOCATIONS[name];
      return { name, phrases: [...new Set([...l.adjective, ...l.noun])] };
    }),
    negations: NEGATION_WORDS,
  };
}
