/**
 * The earlier callers' ResizeRules (the server's MAX_WIDTH, MAX_HEIGHT and
 * JPEG_QUALITY) told as output options: the earlier system's defaults with
 * that box and quality.
 */
import { DEFAULT_OUTPUT_OPTIONS, type OutputOptions } from '../contract/output-options.js';
import type { ResizeRules } from './rules.js';

export function optionsFromRules(rules: Pick<ResizeRules, 'maxWidth' | 'maxHeight' | 'quality'>): OutputOptions {
  return { ...DEFAULT_OUTPUT_OPTIONS, width: rules.maxWidth, height: rules.maxHeight, quality: rules.quality };
}
