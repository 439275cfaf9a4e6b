import { confidenceFourBucket } from './buckets.js';
import { reliabilityDiagram, riskCoverage } from './calibration.js';
import type { Figure, FigureContext } from './common.js';
import { hypothesisValidation } from './hypothesis.js';
import { tokenSavings } from './savings.js';
import { accuracyVsTokens } from './sweep.js';
import { confidenceTraces } from './traces.js';

export type { Figure, FigureContext } from './common.js';
export {
  confidenceFourBucket,
  tokenSavings,
  hypothesisValidation,
  accuracyVsTokens,
  confidenceTraces,
  riskCoverage,
  reliabilityDiagram,
};

/** Every figure the report shows, in reading order; figures a run cannot support are left out. */
export function allFigures(ctx: FigureContext): Figure[] {
  return [
    hypothesisValidation(ctx),
    riskCoverage(ctx),
    reliabilityDiagram(ctx),
    confidenceFourBucket(ctx),
    tokenSavings(ctx),
    accuracyVsTokens(ctx),
    confidenceTraces(ctx),
  ].filter((f): f is Figure => f !== null);
}
