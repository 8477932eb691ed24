// Named config presets (`reclf train --preset`), as the extension offers them: names, one line
// each, and the method a preset is for (undefined: any). A plain list with no TF.js behind it;
// src/core/train/presets.ts holds the configs, keyed by these names.
import type { MethodName } from './methods';

export const PRESET_NAMES = ['default', 'grounding', 'paper'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface PresetInfo {
  help: string;
  /** The method whose fields the preset sets; it cannot train another. */
  method?: MethodName;
}

export const PRESETS: Record<PresetName, PresetInfo> = {
  default: { help: 'the CPU default config' },
  grounding: {
    help: "RECLF at the explanation study's best setting (stage-2 regions with positions, position-free words, cosine attention, SRM before attention, location-swap negatives)",
    method: 'reclf',
  },
  paper: { help: 'ResNet-50 224 px + BERT-base, batch 48' },
};

/** The presets that can train `method`, besides 'default'. */
export function presetsFor(method: string): PresetName[] {
  return PRESET_NAMES.filter((p) => p !== 'default' && (PRESETS[p].method === undefined || PRESETS[p].method === method));
}
