/**
 * The server's output configuration (GET /api/v1/config) as the apps use
 * it: read on connect, validated, or the built-in one when offline (or the
 * server is older and has no config endpoint). The options schema built
 * from it is the one the server validates uploads with, so the panel
 * refuses what the server would refuse before anything is sent. No Node
 * imports: the renderer bundles it.
 */
import { z } from 'zod';
import {
  BOX_PRESETS,
  buildOutputOptionsSchema,
  DEFAULT_OUTPUT_LIMITS,
  DEFAULT_OUTPUT_OPTIONS,
  OUTPUT_FORMATS,
  parseOutputOptions,
  type OptionsProblem,
  type OutputOptions,
  type OutputOptionsSchema,
} from '@imgfleet/backend/contract/output-options';
import { DEFAULT_RULES } from '@imgfleet/backend/imaging/rules';
import type { ServerConfig } from './models.js';

export const OFFLINE_CONFIG: Readonly<ServerConfig> = Object.freeze({
  version: 'offline',
  defaults: { ...DEFAULT_OUTPUT_OPTIONS },
  limits: {
    maxWidth: DEFAULT_OUTPUT_LIMITS.maxWidth,
    maxHeight: DEFAULT_OUTPUT_LIMITS.maxHeight,
    maxUploadBytes: DEFAULT_RULES.maxBytes,
    maxPixels: DEFAULT_RULES.maxPixels,
    maxFilesPerUpload: 100,
    formats: [...OUTPUT_FORMATS],
    decodeMemoryBytes: 0,
  },
  presets: BOX_PRESETS.map((p) => ({ ...p })),
  source: 'offline',
});

const positive = z.number().int().positive();
const configSchema = z.object({
  version: z.string(),
  defaults: z.record(z.string(), z.unknown()),
  limits: z.object({
    maxWidth: positive,
    maxHeight: positive,
    maxUploadBytes: positive,
    maxPixels: positive,
    maxFilesPerUpload: positive,
    formats: z.array(z.enum(OUTPUT_FORMATS)).min(1),
    decodeMemoryBytes: z.number().int().nonnegative(),
  }),
  presets: z.array(z.object({ label: z.string(), width: positive, height: positive })),
});

/** A config answer checked field by field; null when it is not one (then the offline config applies). */
export function parseServerConfig(body: unknown): ServerConfig | null {
  const parsed = configSchema.safeParse(body);
  if (!parsed.success) return null;
  const limits = parsed.data.limits;
  const defaults = parseOutputOptions(parsed.data.defaults, buildOutputOptionsSchema(limits));
  if (!defaults.ok) return null;
  return { version: parsed.data.version, defaults: defaults.options, limits, presets: parsed.data.presets, source: 'server' };
}

export function schemaFor(config: ServerConfig): OutputOptionsSchema {
  return buildOutputOptionsSchema(config.limits, config.defaults);
}

/** Options checked against a server's limits: the problems name each field, as the server's 422 does. */
export function validateOptions(input: unknown, config: ServerConfig = OFFLINE_CONFIG): { ok: true; options: OutputOptions } | { ok: false; problems: OptionsProblem[] } {
  return parseOutputOptions(input, schemaFor(config));
}
