// Shape of the radiology knowledge base (kb.json) and its validator. The validator turns an
// untrusted JSON value into typed data and reports every problem it finds in one DataError, naming
// the file, the entity and the field, so a user extending the KB can fix everything in one pass.
import { DataError } from '../errors';

export type EntityKind = 'finding' | 'location' | 'modifier' | 'device';
export const ENTITY_KINDS: readonly EntityKind[] = ['finding', 'location', 'modifier', 'device'];

export type Laterality = 'left' | 'right' | 'bilateral';
const LATERALITIES: readonly Laterality[] = ['left', 'right', 'bilateral'];

/** The 14 CheXpert observations, the label vocabulary `chexpert` may name. */
export const CHEXPERT_OBSERVATIONS: readonly string[] = [
  'No Finding', 'Enlarged Cardiomediastinum', 'Cardiomegaly', 'Lung Opacity', 'Lung Lesion', 'Edema',
  'Consolidation', 'Pneumonia', 'Atelectasis', 'Pneumothorax', 'Pleural Effusion', 'Pleural Other',
  'Fracture', 'Support Devices',
];

export interface KbCategory {
  id: string;
  kind: EntityKind;
  description: string;
}

export interface KbEntity {
  /** Stable kebab-case identifier; never reused for another concept. */
  id: string;
  /** Preferred term, also matched in text. */
  name: string;
  kind: EntityKind;
  category: string;
  /** Other surface forms, matched case-insensitively, plural- and hyphen-tolerant. */
  synonyms: string[];
  /** Acronyms and short forms ("PTX", "ETT"), matched like synonyms. */
  abbreviations: string[];
  /** is-a (findings, devices, modifiers) or part-of (locations); same kind as this entity. */
  parents: string[];
  /** Findings and devices: ids of locations where this may occur (inherited from parents when absent). */
  locations?: string[];
  /** Locations whose side is part of their meaning ("right middle lobe", "bibasilar"). */
  laterality?: Laterality;
  /** The CheXpert observation this entity is labelled as. */
  chexpert?: string;
  description?: string;
}

export type CueDirection = 'pre' | 'post';

export interface KbCues {
  negation: { pre: string[]; post: string[]; pseudo: string[] };
  uncertainty: { pre: string[]; post: string[] };
  /** Words or phrases that end a negation/uncertainty scope. */
  terminators: string[];
  /** Auxiliaries that may precede a post cue ("is" + "not seen"). */
  postPrefixes: string[];
  /** Words a scope passes over without spending its token budget (list glue: "or", "the"). */
  transparent: string[];
}

export interface KbData {
  version: string;
  description?: string;
  categories: KbCategory[];
  cues: KbCues;
  entities: KbEntity[];
}

const ID_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const SEMVER_RE = /^\d+\.\d+\.\d+$/;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Problems {
  readonly list: string[] = [];
  add(where: string, msg: string): void {
    this.list.push(`${where}: ${msg}`);
  }
}

function str(o: Obj, key: string, where: string, p: Problems, optional = false): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.trim() === '') {
    p.add(where, `field "${key}" must be a non-empty string`);
    return undefined;
  }
  return v;
}

function strList(o: Obj, key: string, where: string, p: Problems, optional = false): string[] | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.trim() === '')) {
    p.add(where, `field "${key}" must be a list of non-empty strings`);
    return undefined;
  }
  return v as string[];
}

function parseCategory(raw: unknown, i: number, p: Problems): KbCategory | undefined {
  const where = `categories[${i}]`;
  if (!isObj(raw)) return p.add(where, 'must be an object'), undefined;
  const id = str(raw, 'id', where, p);
  const kind = str(raw, 'kind', where, p);
  const description = str(raw, 'description', where, p) ?? '';
  if (kind !== undefined && !ENTITY_KINDS.includes(kind as EntityKind)) p.add(where, `field "kind" must be one of ${ENTITY_KINDS.join(', ')}`);
  if (id === undefined || !ENTITY_KINDS.includes(kind as EntityKind)) return undefined;
  return { id, kind: kind as EntityKind, description };
}

function parseCues(raw: unknown, p: Problems): KbCues {
  const empty: KbCues = { negation: { pre: [], post: [], pseudo: [] }, uncertainty: { pre: [], post: [] }, terminators: [], postPrefixes: [], transparent: [] };
  if (!isObj(raw)) return p.add('cues', 'must be an object'), empty;
  const neg = isObj(raw.negation) ? raw.negation : (p.add('cues', 'field "negation" must be an object'), {});
  const unc = isObj(raw.uncertainty) ? raw.uncertainty : (p.add('cues', 'field "uncertainty" must be an object'), {});
  return {
    negation: {
      pre: strList(neg, 'pre', 'cues.negation', p) ?? [],
      post: strList(neg, 'post', 'cues.negation', p) ?? [],
      pseudo: strList(neg, 'pseudo', 'cues.negation', p, true) ?? [],
    },
    uncertainty: {
      pre: strList(unc, 'pre', 'cues.uncertainty', p) ?? [],
      post: strList(unc, 'post', 'cues.uncertainty', p) ?? [],
    },
    terminators: strList(raw, 'terminators', 'cues', p) ?? [],
    postPrefixes: strList(raw, 'postPrefixes', 'cues', p, true) ?? [],
    transparent: strList(raw, 'transparent', 'cues', p, true) ?? [],
  };
}

function parseEntity(raw: unknown, i: number, p: Problems): KbEntity | undefined {
  let where = `entities[${i}]`;
  if (!isObj(raw)) return p.add(where, 'must be an object'), undefined;
  const id = str(raw, 'id', where, p);
  if (id !== undefined) {
    where = `entity "${id}"`;
    if (!ID_RE.test(id)) p.add(where, 'field "id" must be lowercase kebab-case (a-z, 0-9, "-")');
  }
  const name = str(raw, 'name', where, p);
  const kind = str(raw, 'kind', where, p);
  if (kind !== undefined && !ENTITY_KINDS.includes(kind as EntityKind)) p.add(where, `field "kind" must be one of ${ENTITY_KINDS.join(', ')}`);
  const category = str(raw, 'category', where, p);
  const synonyms = strList(raw, 'synonyms', where, p) ?? [];
  const abbreviations = strList(raw, 'abbreviations', where, p, true) ?? [];
  const parents = strList(raw, 'parents', where, p) ?? [];
  const locations = strList(raw, 'locations', where, p, true);
  const laterality = str(raw, 'laterality', where, p, true);
  if (laterality !== undefined && !LATERALITIES.includes(laterality as Laterality)) p.add(where, `field "laterality" must be one of ${LATERALITIES.join(', ')}`);
  const chexpert = str(raw, 'chexpert', where, p, true);
  if (chexpert !== undefined && !CHEXPERT_OBSERVATIONS.includes(chexpert)) p.add(where, `field "chexpert" must be a CheXpert observation, got "${chexpert}"`);
  const description = str(raw, 'description', where, p, true);
  // An entity with a broken id, kind or category is left out of the graph checks, which would
  // otherwise repeat its problem once per reference.
  if (id === undefined || name === undefined || category === undefined || !ENTITY_KINDS.includes(kind as EntityKind)) return undefined;
  const e: KbEntity = { id, name, kind: kind as EntityKind, category, synonyms, abbreviations, parents };
  if (locations !== undefined) e.locations = locations;
  if (laterality !== undefined) e.laterality = laterality as Laterality;
  if (chexpert !== undefined) e.chexpert = chexpert;
  if (description !== undefined) e.description = description;
  return e;
}

/** Cross-entity rules: unique ids, known categories, parents exist with the same kind, no is-a cycles, locations known. */
function checkGraph(entities: readonly KbEntity[], categories: readonly KbCategory[], p: Problems): void {
  const byId = new Map<string, KbEntity>();
  for (const e of entities) {
    if (byId.has(e.id)) p.add(`entity "${e.id}"`, 'duplicate id');
    else byId.set(e.id, e);
  }
  const catById = new Map(categories.map((c) => [c.id, c]));
  const seenCat = new Set<string>();
  for (const c of categories) {
    if (seenCat.has(c.id)) p.add(`category "${c.id}"`, 'duplicate id');
    seenCat.add(c.id);
  }
  for (const e of entities) {
    const where = `entity "${e.id}"`;
    const cat = catById.get(e.category);
    if (!cat) p.add(where, `field "category": unknown category "${e.category}"`);
    else if (cat.kind !== e.kind) p.add(where, `field "category": category "${e.category}" is for ${cat.kind} entities, not ${e.kind}`);
    for (const parent of e.parents) {
      const pe = byId.get(parent);
      if (!pe) p.add(where, `field "parents": unknown entity "${parent}"`);
      else if (pe.kind !== e.kind) p.add(where, `field "parents": "${parent}" is a ${pe.kind}, not a ${e.kind}`);
    }
    if (e.locations !== undefined) {
      if (e.kind !== 'finding' && e.kind !== 'device') p.add(where, 'field "locations" is only for findings and devices');
      for (const l of e.locations) {
        const le = byId.get(l);
        if (!le) p.add(where, `field "locations": unknown location "${l}"`);
        else if (le.kind !== 'location') p.add(where, `field "locations": "${l}" is a ${le.kind}, not a location`);
      }
    }
    if (e.laterality !== undefined && e.kind !== 'location') p.add(where, 'field "laterality" is only for locations');
  }
  // Cycle check by depth-first search with colours (0 new, 1 on stack, 2 done).
  const colour = new Map<string, number>();
  const visit = (id: string, path: string[]): void => {
    const c = colour.get(id) ?? 0;
    if (c === 2) return;
    if (c === 1) {
      p.add(`entity "${id}"`, `field "parents": cycle ${[...path.slice(path.indexOf(id)), id].join(' -> ')}`);
      return;
    }
    colour.set(id, 1);
    for (const parent of byId.get(id)?.parents ?? []) if (byId.has(parent)) visit(parent, [...path, id]);
    colour.set(id, 2);
  };
  for (const e of entities) visit(e.id, []);
  // Findings and devices must say where they occur, themselves or through an ancestor.
  const hasLocations = (id: string, seen: Set<string>): boolean => {
    const e = byId.get(id);
    if (!e || seen.has(id)) return false;
    seen.add(id);
    if (e.locations && e.locations.length) return true;
    return e.parents.some((parent) => hasLocations(parent, seen));
  };
  for (const e of entities) {
    if ((e.kind === 'finding' || e.kind === 'device') && !hasLocations(e.id, new Set())) {
      p.add(`entity "${e.id}"`, 'field "locations": a finding or device needs compatible locations (own or from a parent)');
    }
  }
}

/** Validates an untrusted kb.json value; throws one DataError listing every problem. */
export function validateKnowledgeBase(raw: unknown, source = 'kb.json'): KbData {
  const p = new Problems();
  if (!isObj(raw)) throw new DataError(`${source}: the knowledge base must be a JSON object`, source);
  const version = str(raw, 'version', 'top level', p) ?? '0.0.0';
  if (!SEMVER_RE.test(version)) p.add('top level', `field "version" must be MAJOR.MINOR.PATCH, got "${version}"`);
  const description = str(raw, 'description', 'top level', p, true);
  const categories = Array.isArray(raw.categories)
    ? raw.categories.map((c, i) => parseCategory(c, i, p)).filter((c): c is KbCategory => c !== undefined)
    : (p.add('top level', 'field "categories" must be a list'), []);
  const cues = parseCues(raw.cues, p);
  const entities = Array.isArray(raw.entities)
    ? raw.entities.map((e, i) => parseEntity(e, i, p)).filter((e): e is KbEntity => e !== undefined)
    : (p.add('top level', 'field "entities" must be a list'), []);
  checkGraph(entities, categories, p);
  if (p.list.length) {
    const shown = p.list.slice(0, 20).join('\n  ');
    const more = p.list.length > 20 ? `\n  ... and ${p.list.length - 20} more` : '';
    throw new DataError(`${source}: invalid knowledge base (${p.list.length} problem${p.list.length > 1 ? 's' : ''}):\n  ${shown}${more}`, source);
  }
  const out: KbData = { version, categories, cues, entities };
  if (description !== undefined) out.description = description;
  return out;
}
