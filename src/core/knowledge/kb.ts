// The radiology knowledge base: the validated kb.json plus the indexes every caller needs (by id,
// by surface form, children, ancestors, category members, finding-location compatibility) and the
// compiled phrase tables the linker matches against. Built once; immutable afterwards.
import fs from 'node:fs';
import { DataError } from '../errors';
import bundled from './kb.json';
import { type CueDirection, type EntityKind, type KbCategory, type KbCues, type KbData, type KbEntity, validateKnowledgeBase } from './schema';
import { PhraseTable, termKey, termVariants } from './terms';

export type CueType = 'negation' | 'uncertainty' | 'pseudo' | 'terminator';

export interface CueInfo {
  type: CueType;
  directions: ReadonlySet<CueDirection>;
}

/** Kinds whose last word takes a plural ("effusions", "lung bases", "chest tubes"). */
const PLURAL_KINDS: ReadonlySet<EntityKind> = new Set(['finding', 'location', 'device']);

export class KnowledgeBase {
  readonly version: string;
  readonly description: string;
  readonly categories: readonly KbCategory[];
  readonly entities: readonly KbEntity[];
  readonly cues: KbCues;
  /** Surface form -> entity id, for the linker. */
  readonly terms = new PhraseTable<string>();
  /** Cue phrase -> cue type and direction, for the linker. */
  readonly cueTable = new PhraseTable<CueInfo>();
  /** Words a negation scope passes without spending budget. */
  readonly transparent: ReadonlySet<string>;

  private readonly byId = new Map<string, KbEntity>();
  private readonly index = new Map<string, number>();
  private readonly childIds = new Map<string, string[]>();
  private readonly ancestorIds = new Map<string, ReadonlySet<string>>();
  private readonly members = new Map<string, KbEntity[]>();

  constructor(data: KbData, source = 'kb.json') {
    this.version = data.version;
    this.description = data.description ?? '';
    this.categories = data.categories;
    this.entities = data.entities;
    this.cues = data.cues;
    data.entities.forEach((e, i) => {
      this.byId.set(e.id, e);
      this.index.set(e.id, i);
    });
    for (const c of data.categories) this.members.set(c.id, []);
    for (const e of data.entities) {
      this.members.get(e.category)?.push(e);
      for (const p of e.parents) {
        const list = this.childIds.get(p) ?? [];
        list.push(e.id);
        this.childIds.set(p, list);
      }
    }
    for (const e of data.entities) this.ancestorIds.set(e.id, this.collectAncestors(e.id));
    this.buildTerms(source);
    this.buildCues(source);
    this.transparent = new Set(data.cues.transparent.map(termKey));
  }

  private collectAncestors(id: string): ReadonlySet<string> {
    const out = new Set<string>();
    const stack = [...(this.byId.get(id)?.parents ?? [])];
    while (stack.length) {
      const p = stack.pop()!;
      if (out.has(p)) continue;
      out.add(p);
      stack.push(...(this.byId.get(p)?.parents ?? []));
    }
    return out;
  }

  /** Explicit forms first (so no generated plural can steal one), then plural variants; explicit clashes are errors. */
  private buildTerms(source: string): void {
    const owner = new Map<string, string>();
    const clashes: string[] = [];
    const forms = (e: KbEntity) => [e.name, ...e.synonyms, ...e.abbreviations];
    for (const e of this.entities) {
      for (const f of forms(e)) {
        for (const key of termVariants(f, false)) {
          const prev = owner.get(key);
          if (prev !== undefined && prev !== e.id) clashes.push(`"${f}" is a term of both "${prev}" and "${e.id}"`);
          else if (prev === undefined) {
            owner.set(key, e.id);
            this.terms.add(key, e.id);
          }
        }
      }
    }
    if (clashes.length) throw new DataError(`${source}: ambiguous terms (each surface form must name one entity):\n  ${clashes.join('\n  ')}`, source, 'synonyms');
    for (const e of this.entities) {
      if (!PLURAL_KINDS.has(e.kind)) continue;
      for (const f of [e.name, ...e.synonyms]) for (const key of termVariants(f, true)) this.terms.add(key, e.id);
    }
  }

  private buildCues(source: string): void {
    const table = new Map<string, { type: CueType; directions: Set<CueDirection> }>();
    const clashes: string[] = [];
    const put = (phrase: string, type: CueType, dir: CueDirection | undefined, generated = false) => {
      for (const key of termVariants(phrase, false)) {
        const cur = table.get(key);
        if (cur && cur.type !== type) {
          if (!generated) clashes.push(`"${phrase}" is both a ${cur.type} and a ${type} cue`);
          continue;
        }
        const entry = cur ?? { type, directions: new Set<CueDirection>() };
        if (dir) entry.directions.add(dir);
        table.set(key, entry);
      }
    };
    const c = this.cues;
    for (const p of c.negation.pre) put(p, 'negation', 'pre');
    for (const p of c.negation.post) put(p, 'negation', 'post');
    for (const p of c.negation.pseudo) put(p, 'pseudo', undefined);
    for (const p of c.uncertainty.pre) put(p, 'uncertainty', 'pre');
    for (const p of c.uncertainty.post) put(p, 'uncertainty', 'post');
    for (const p of c.terminators) put(p, 'terminator', undefined);
    // "is not seen", "has been excluded": the auxiliary belongs to the cue, not to the scope.
    for (const [type, posts] of [['negation', c.negation.post], ['uncertainty', c.uncertainty.post]] as const) {
      for (const p of posts) for (const pre of c.postPrefixes) put(`${pre} ${p}`, type, 'post', true);
    }
    if (clashes.length) throw new DataError(`${source}: conflicting cues:\n  ${clashes.join('\n  ')}`, source, 'cues');
    for (const [key, v] of table) this.cueTable.add(key, v);
  }

  get size(): number {
    return this.entities.length;
  }

  get(id: string): KbEntity | undefined {
    return this.byId.get(id);
  }

  /** The entity with this id; a DataError naming the id when there is none. */
  require(id: string): KbEntity {
    const e = this.byId.get(id);
    if (!e) throw new DataError(`knowledge base ${this.version}: unknown entity "${id}"`);
    return e;
  }

  /** Position in `entities`: the row of an entity-embedding table (stable within a major version). */
  indexOf(id: string): number {
    return this.index.get(id) ?? -1;
  }

  /** Entity named exactly by this phrase (case-, plural- and hyphen-tolerant), or undefined. */
  lookup(phrase: string): KbEntity | undefined {
    const id = this.terms.get(termKey(phrase));
    return id === undefined ? undefined : this.byId.get(id);
  }

  children(id: string): readonly KbEntity[] {
    return (this.childIds.get(id) ?? []).map((c) => this.byId.get(c)!);
  }

  /** Transitive parents (is-a / part-of), nearest first not guaranteed. */
  ancestors(id: string): readonly string[] {
    return [...(this.ancestorIds.get(id) ?? [])];
  }

  /** Transitive children. */
  descendants(id: string): readonly string[] {
    const out = new Set<string>();
    const stack = [...(this.childIds.get(id) ?? [])];
    while (stack.length) {
      const c = stack.pop()!;
      if (out.has(c)) continue;
      out.add(c);
      stack.push(...(this.childIds.get(c) ?? []));
    }
    return [...out];
  }

  /** Reflexive, transitive is-a / part-of. */
  isA(id: string, ancestorId: string): boolean {
    return id === ancestorId || (this.ancestorIds.get(id)?.has(ancestorId) ?? false);
  }

  categoryMembers(category: string): readonly KbEntity[] {
    return this.members.get(category) ?? [];
  }

  byKind(kind: EntityKind): readonly KbEntity[] {
    return this.entities.filter((e) => e.kind === kind);
  }

  /** A finding's or device's own locations, else the nearest ancestors' (breadth-first). */
  compatibleLocations(id: string): readonly string[] {
    const seen = new Set<string>();
    let frontier = [id];
    while (frontier.length) {
      const found = new Set<string>();
      const next: string[] = [];
      for (const f of frontier) {
        if (seen.has(f)) continue;
        seen.add(f);
        const e = this.byId.get(f);
        if (!e) continue;
        if (e.locations && e.locations.length) e.locations.forEach((l) => found.add(l));
        else next.push(...e.parents);
      }
      if (found.size) return [...found];
      frontier = next;
    }
    return [];
  }

  /**
   * Whether a finding/device may sit at a location: the location or one of its part-of ancestors is
   * listed. Laterality words ("left", "bilateral") qualify any location and are always compatible.
   */
  isCompatible(findingId: string, locationId: string): boolean {
    const loc = this.byId.get(locationId);
    if (!loc || loc.kind !== 'location') return false;
    if (loc.category === 'laterality') return true;
    return this.compatibleLocations(findingId).some((l) => this.isA(locationId, l));
  }
}

/** Validates and indexes a parsed kb.json value. */
export function buildKnowledgeBase(raw: unknown, source = 'kb.json'): KnowledgeBase {
  return new KnowledgeBase(validateKnowledgeBase(raw, source), source);
}

/** Loads a user's knowledge base file (e.g. an extended copy of the bundled one). */
export function loadKnowledgeBase(file: string): KnowledgeBase {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new DataError(`${file}: cannot read knowledge base (${(e as Error).message})`, file);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DataError(`${file}: not valid JSON (${(e as Error).message})`, file);
  }
  return buildKnowledgeBase(raw, file);
}

let cached: KnowledgeBase | undefined;

/** The knowledge base shipped with the engine (src/core/knowledge/kb.json). */
export function defaultKnowledgeBase(): KnowledgeBase {
  cached ??= buildKnowledgeBase(bundled as unknown, 'src/core/knowledge/kb.json');
  return cached;
}
