export interface SeedCandidate {
  seed: number;
  run: string;
  step: number;
  validation: Record<string, number>;
}
export interface SeedChoice {
  by: 'pointing_game' | 'acc1';
  seed: number;
  run: string;
  candidates: SeedCandidate[];
}
export function validationAt(eventsText: string, step: number): Record<string, number>;
export function chooseSeed(candidates: SeedCandidate[]): SeedChoice;
