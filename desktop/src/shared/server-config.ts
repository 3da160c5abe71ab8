/**
 * The server's output configuration (GET /api/v1/config) as the apps use
 * it: read on connect, validated, or the built-in one when offline (or the
 * server is older and has no config endpoint). The options schema built
 * from it is the one the server validates uploads with, so the panel
 * refuses what the server would refuse before anything is sent. No Node
 * imports: the renderer bundles it.
 */
import { serverConfigSchema } from '@imgfleet/backend/contract';
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
    jobMemoryBytes: 0,
    decodeMemoryBytes: 0,
  },
  presets: BOX_PRESETS.map((p) => ({ ...p })),
  formats: [...OUTPUT_FORMATS],
  source: 'offline',
});

/**
 * The contract's schema, as servers before job costs answered it: no
 * `jobMemoryBytes` (their `decodeMemoryBytes` is the same figure) and no
 * top-level `formats` (their limits' formats are the same list).
 */
const configSchema = serverConfigSchema.omit({ formats: true }).extend({
  limits: serverConfigSchema.shape.limits.partial({ jobMemoryBytes: true }),
});

/** A config answer checked field by field; null when it is not one (then the offline config applies). */
export function parseServerConfig(body: unknown): ServerConfig | null {
  const parsed = configSchema.safeParse(body);
  if (!parsed.success) return null;
  const { jobMemoryBytes, ...rest } = parsed.data.limits;
  const limits = { ...rest, jobMemoryBytes: jobMemoryBytes ?? rest.decodeMemoryBytes };
  if (limits.formats.length === 0) return null;
  const defaults = parseOutputOptions(parsed.data.defaults, buildOutputOptionsSchema(limits));
  if (!defaults.ok) return null;
  return { version: parsed.data.version, defaults: defaults.options, limits, presets: parsed.data.presets, formats: limits.formats, source: 'server' };
}

export function schemaFor(config: ServerConfig): OutputOptionsSchema {
  return buildOutputOptionsSchema(config.limits, config.defaults);
}

/** Options checked against a server's limits: the problems name each field, as the server's 422 does. */
export function validateOptions(
  input: unknown,
  config: ServerConfig = OFFLINE_CONFIG,
): { ok: true; options: OutputOptions } | { ok: false; problems: OptionsProblem[] } {
  return parseOutputOptions(input, schemaFor(config));
}
