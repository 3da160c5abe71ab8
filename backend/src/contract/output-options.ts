/**
 * A batch's output options: ONE schema, validated by the server (upload,
 * config), the desktop's main process and the renderer alike, so the
 * preview, "Resize locally" and the cluster apply the same rules. No Node
 * imports: the desktop renderer bundles this module.
 *
 * Metadata `keep` keeps the EXIF dates (DateTime, DateTimeOriginal,
 * DateTimeDigitized, their offsets and sub-seconds), Copyright and Artist;
 * GPS only with `keepGps`. Colour is always CONVERTED to sRGB (the input's
 * ICC profile is applied, never carried over): `keep` embeds the small sRGB
 * profile so colour-managed viewers are told, `strip` embeds none.
 */
import { z } from 'zod';
import { DEFAULT_NAMING_TEMPLATE, FORMAT_EXTENSIONS, renderName, splitName, templateProblem, type NamingValues } from './naming-template.js';
import { safeFolderSegments } from './file-names.js';

export const OUTPUT_FORMATS = ['jpeg', 'webp', 'avif', 'png'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export type Fit = 'inside' | 'cover';
export type CropPosition = 'centre' | 'attention';
export type MetadataPolicy = 'strip' | 'keep';
export type CollisionPolicy = 'suffix' | 'skip' | 'overwrite';

/**
 * The size is set in one of five ways (the "mode"), told by which of
 * width, height, longEdge and scale are given (the others null):
 * - a box: width and height, with `fit`;
 * - width only, or height only: that side, the other follows the aspect;
 * - longEdge: the longer side of the oriented image;
 * - scale: a percentage of the original's size (its longer side, rounded).
 * None given: the server's default (a box). None ever enlarges unless `enlarge`.
 */
export interface OutputOptions {
  /** Pixels; null: follows the aspect (height only), or another mode. */
  width: number | null;
  /** Pixels; null: follows the aspect (width only), or another mode. */
  height: number | null;
  /** The longer side of the oriented image, pixels; null: another mode. */
  longEdge: number | null;
  /** A percentage of the original (25: a quarter of each side); above 100 needs `enlarge`; null: another mode. */
  scale: number | null;
  /** `inside`: the whole image within the box, aspect kept. `cover`: fills the box, cropped (a box only). */
  fit: Fit;
  /** Where `cover` crops: the centre, or libvips' attention (skin, saturation, detail). */
  position: CropPosition;
  /** Scale images smaller than the box up (false: 600x400 stays 600x400). */
  enlarge: boolean;
  format: OutputFormat;
  /**
   * 1–100; PNG: 100 is lossless, below quantises to a palette. Resolved from
   * the format's default when omitted. With maxBytes: the highest quality tried.
   */
  quality: number;
  /**
   * JPEG, WebP and AVIF: a target file size in bytes. The result is encoded
   * at the highest quality (on a grid of QUALITY_STEP from `quality` down)
   * whose file fits; null: `quality` as it is.
   */
  maxBytes: number | null;
  /** JPEG only: progressive scan. */
  progressive: boolean;
  /** JPEG only: mozjpeg's trellis quantisation and optimised scans (smaller, slower). */
  mozjpeg: boolean;
  /** JPEG only: the colour transparent pixels are flattened onto, #rgb or #rrggbb. */
  background: string;
  metadata: MetadataPolicy;
  /** With `keep`: also keep the GPS position. */
  keepGps: boolean;
  /** Output file name template; see naming-template.ts for the tokens. */
  template: string;
  /** Recreate the dropped folders' structure in the output folder and the ZIP. */
  keepFolders: boolean;
  /** When a name is taken: add " (n)", skip the file, or replace the other. */
  collision: CollisionPolicy;
}

export type OutputOptionsInput = Partial<OutputOptions>;

export const OUTPUT_OPTION_KEYS = [
  'width',
  'height',
  'longEdge',
  'scale',
  'fit',
  'position',
  'enlarge',
  'format',
  'quality',
  'maxBytes',
  'progressive',
  'mozjpeg',
  'background',
  'metadata',
  'keepGps',
  'template',
  'keepFolders',
  'collision',
] as const satisfies readonly (keyof OutputOptions)[];

/** The fields that set the size; at most one mode of them may be given. */
export const SIZE_KEYS = ['width', 'height', 'longEdge', 'scale'] as const satisfies readonly (keyof OutputOptions)[];

export type SizeMode = 'box' | 'width' | 'height' | 'longEdge' | 'scale';

/** Which way the size is set (see OutputOptions); `box` when nothing is (the caller resolves defaults first). */
export function sizeModeOf(options: Pick<OutputOptions, 'width' | 'height'> & Partial<Pick<OutputOptions, 'longEdge' | 'scale'>>): SizeMode {
  if (options.scale != null) return 'scale';
  if (options.longEdge != null) return 'longEdge';
  if (options.width != null && options.height == null) return 'width';
  if (options.height != null && options.width == null) return 'height';
  return 'box';
}

/** Formats whose quality trades against size, so maxBytes can search it. */
export const MAX_BYTES_FORMATS: readonly OutputFormat[] = ['jpeg', 'webp', 'avif'];
/** maxBytes' bounds: below 1 KiB no photo fits; the top is far above any upload. */
export const MAX_BYTES_RANGE = Object.freeze({ min: 1024, max: 1_000_000_000 });
/** scale's bounds, percent: above 100 only with enlarge. */
export const SCALE_RANGE = Object.freeze({ min: 0.1, max: 1000 });

export const BOX_PRESETS = Object.freeze([
  { label: '800 × 600', width: 800, height: 600 },
  { label: '1280 × 960', width: 1280, height: 960 },
  { label: '1920 × 1080 (Full HD)', width: 1920, height: 1080 },
  { label: '2560 × 1440 (QHD)', width: 2560, height: 1440 },
  { label: '3840 × 2160 (4K)', width: 3840, height: 2160 },
] as const);

/** Sensible defaults per format: JPEG 85 as the earlier system; WebP and AVIF as sharp's own; PNG lossless. */
export const DEFAULT_QUALITY: Readonly<Record<OutputFormat, number>> = Object.freeze({ jpeg: 85, webp: 80, avif: 50, png: 100 });

export const OUTPUT_CONTENT_TYPES: Readonly<Record<OutputFormat, string>> = Object.freeze({
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  avif: 'image/avif',
  png: 'image/png',
});

export function contentTypeOf(format: OutputFormat): string {
  return OUTPUT_CONTENT_TYPES[format];
}

/** The file extension (no dot) a result of this format is saved with. */
export function extensionOf(format: OutputFormat): string {
  return FORMAT_EXTENSIONS[format][0]!;
}

/** The earlier system's rules: fit inside 800x600, never enlarge, JPEG 85, metadata stripped. */
export const DEFAULT_OUTPUT_OPTIONS: Readonly<OutputOptions> = Object.freeze({
  width: 800,
  height: 600,
  longEdge: null,
  scale: null,
  fit: 'inside',
  position: 'centre',
  enlarge: false,
  format: 'jpeg',
  quality: DEFAULT_QUALITY.jpeg,
  maxBytes: null,
  progressive: false,
  mozjpeg: false,
  background: '#ffffff',
  metadata: 'strip',
  keepGps: false,
  template: DEFAULT_NAMING_TEMPLATE,
  keepFolders: true,
  collision: 'suffix',
});

/** What a server accepts; served by GET /api/v1/config so clients validate alike. */
export interface OutputLimits {
  maxWidth: number;
  maxHeight: number;
  /** Formats this server can encode. */
  formats: readonly OutputFormat[];
}

export const DEFAULT_OUTPUT_LIMITS: Readonly<OutputLimits> = Object.freeze({
  maxWidth: 8192,
  maxHeight: 8192,
  formats: OUTPUT_FORMATS,
});

const HEX_COLOUR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

/** A side in pixels; null or absent: not given (the mode decides, see resolveSize). */
function dimension(name: string, max: number) {
  return z
    .int({ error: `${name} must be a whole number of pixels` })
    .min(1, { error: `${name} must be at least 1 pixel` })
    .max(max, { error: `${name} may be at most ${max} pixels on this server` })
    .nullable()
    .optional();
}

function fieldsFor(limits: OutputLimits, d: OutputOptions) {
  const formats = limits.formats.length > 0 ? limits.formats : OUTPUT_FORMATS;
  return {
    width: dimension('width', limits.maxWidth),
    height: dimension('height', limits.maxHeight),
    longEdge: dimension('longEdge', Math.max(limits.maxWidth, limits.maxHeight)),
    scale: z
      .number({ error: 'scale must be a percentage, like 50' })
      .min(SCALE_RANGE.min, { error: `scale must be at least ${SCALE_RANGE.min} (percent)` })
      .max(SCALE_RANGE.max, { error: `scale may be at most ${SCALE_RANGE.max} (percent)` })
      .nullable()
      .optional(),
    fit: z.enum(['inside', 'cover']).default(d.fit),
    position: z.enum(['centre', 'attention']).default(d.position),
    enlarge: z.boolean().default(d.enlarge),
    format: z.enum(formats as [OutputFormat, ...OutputFormat[]]).default(formats.includes(d.format) ? d.format : formats[0]!),
    quality: z.int({ error: 'quality must be a whole number from 1 to 100' }).min(1).max(100).optional(),
    maxBytes: z
      .int({ error: 'maxBytes must be a whole number of bytes' })
      .min(MAX_BYTES_RANGE.min, { error: `maxBytes must be at least ${MAX_BYTES_RANGE.min} bytes` })
      .max(MAX_BYTES_RANGE.max, { error: `maxBytes may be at most ${MAX_BYTES_RANGE.max} bytes` })
      .nullable()
      .optional(),
    progressive: z.boolean().default(d.progressive),
    mozjpeg: z.boolean().default(d.mozjpeg),
    background: z.string().regex(HEX_COLOUR, { error: 'background must be a colour like #ffffff' }).default(d.background),
    metadata: z.enum(['strip', 'keep']).default(d.metadata),
    keepGps: z.boolean().default(d.keepGps),
    template: z
      .string()
      .check((ctx) => {
        const problem = templateProblem(ctx.value);
        if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
      })
      .default(d.template),
    keepFolders: z.boolean().default(d.keepFolders),
    collision: z.enum(['suffix', 'skip', 'overwrite']).default(d.collision),
  };
}

type SizeFields = Pick<OutputOptions, 'width' | 'height' | 'longEdge' | 'scale'>;
type RawSize = { [K in keyof SizeFields]?: number | null | undefined };

/** The size fields as given, or the defaults' when none is (older defaults may lack longEdge and scale). */
function resolveSize(given: RawSize, defaults: OutputOptions): SizeFields {
  const any = SIZE_KEYS.some((k) => given[k] != null);
  const from: RawSize = any ? given : defaults;
  return { width: from.width ?? null, height: from.height ?? null, longEdge: from.longEdge ?? null, scale: from.scale ?? null };
}

interface Issue {
  path: string;
  message: string;
  input: unknown;
}

/** Combinations that mean nothing, each named by the field that does not belong. */
function combinationProblems(
  o: RawSize & { fit: Fit; enlarge: boolean; format: OutputFormat; maxBytes?: number | null | undefined; keepGps: boolean; metadata: MetadataPolicy },
  defaults: OutputOptions,
): Issue[] {
  const issues: Issue[] = [];
  const box = o.width != null || o.height != null;
  if (o.scale != null && (box || o.longEdge != null)) {
    issues.push({ path: 'scale', message: 'scale cannot be combined with width, height or longEdge (choose one way to size)', input: o.scale });
  } else if (o.longEdge != null && box) {
    issues.push({ path: 'longEdge', message: 'longEdge cannot be combined with width or height (choose one way to size)', input: o.longEdge });
  }
  if (o.scale != null && o.scale > 100 && !o.enlarge) {
    issues.push({ path: 'scale', message: 'scale above 100 enlarges: it needs enlarge', input: o.scale });
  }
  const size = resolveSize(o, defaults);
  if (o.fit === 'cover' && (size.width == null || size.height == null)) {
    issues.push({ path: 'fit', message: 'fit "cover" needs both width and height (a box to fill)', input: o.fit });
  }
  if (o.maxBytes != null && !MAX_BYTES_FORMATS.includes(o.format)) {
    issues.push({ path: 'maxBytes', message: `maxBytes needs a lossy format (JPEG, WebP or AVIF), not ${o.format.toUpperCase()}`, input: o.maxBytes });
  }
  if (o.keepGps && o.metadata !== 'keep') issues.push({ path: 'keepGps', message: 'keepGps needs metadata "keep"', input: o.keepGps });
  return issues;
}

/**
 * The schema against one server's limits and defaults. Unknown fields are
 * refused (a typo must not silently fall back to a default), and so are
 * combinations that mean nothing (scale with longEdge, maxBytes with PNG…).
 * An omitted quality gets the format's default (the server's own for its
 * default format); no size field at all gets the defaults' size. What it
 * gives parses again to itself, so stored options can be checked again.
 */
export function buildOutputOptionsSchema(limits: OutputLimits = DEFAULT_OUTPUT_LIMITS, defaults: OutputOptions = DEFAULT_OUTPUT_OPTIONS) {
  return z
    .strictObject(fieldsFor(limits, defaults))
    .check((ctx) => {
      for (const issue of combinationProblems(ctx.value, defaults)) {
        ctx.issues.push({ code: 'custom', path: [issue.path], message: issue.message, input: issue.input });
      }
    })
    .transform((o): OutputOptions => ({
      ...o,
      ...resolveSize(o, defaults),
      quality: o.quality ?? (o.format === defaults.format ? defaults.quality : DEFAULT_QUALITY[o.format]),
      maxBytes: o.maxBytes ?? null,
    }));
}

export type OutputOptionsSchema = ReturnType<typeof buildOutputOptionsSchema>;

/** Against the built-in limits and defaults. */
export const outputOptionsSchema: OutputOptionsSchema = buildOutputOptionsSchema();

export interface OptionsProblem {
  /** The option at fault, e.g. `quality`; `options` when the value is not an object at all. */
  field: string;
  message: string;
}

/** Each issue told as the field it is about, for a 422 that names it. */
export function optionsProblems(error: z.ZodError): OptionsProblem[] {
  return error.issues.flatMap((issue): OptionsProblem[] => {
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ field: key, message: `unknown option "${key}"` }));
    const field = issue.path.map(String).join('.') || 'options';
    return [{ field, message: issue.message }];
  });
}

export type ParsedOptions = { ok: true; options: OutputOptions } | { ok: false; problems: OptionsProblem[] };

export function parseOutputOptions(input: unknown, schema: OutputOptionsSchema = outputOptionsSchema): ParsedOptions {
  const parsed = schema.safeParse(input ?? {});
  return parsed.success ? { ok: true, options: parsed.data } : { ok: false, problems: optionsProblems(parsed.error) };
}

const NUMERIC = new Set<string>(['width', 'height', 'longEdge', 'scale', 'quality', 'maxBytes']);
const BOOLEAN = new Set<string>(['enlarge', 'progressive', 'mozjpeg', 'keepGps', 'keepFolders']);

/**
 * The option fields of a query string (`?width=1280&enlarge=true`), typed
 * so the schema can judge them: numbers and booleans written as text are
 * converted, anything else is passed on as given for the schema to refuse.
 * Query parameters that are not options are left out.
 */
export function outputOptionsFromQuery(query: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of OUTPUT_OPTION_KEYS) {
    const value = query[key];
    if (value === undefined) continue;
    // `?height=` (cleared): not given, so width alone sizes and height follows.
    if (typeof value === 'string' && NUMERIC.has(key) && value.trim() === '') continue;
    if (typeof value === 'string' && NUMERIC.has(key) && /^-?\d+(\.\d+)?$/.test(value.trim())) out[key] = Number(value);
    else if (typeof value === 'string' && BOOLEAN.has(key) && /^(true|false|1|0)$/i.test(value.trim())) out[key] = /^(true|1)$/i.test(value.trim());
    else out[key] = value;
  }
  return out;
}

export interface OutputNameSource {
  /** The original's path as dropped or uploaded, `/`-separated, e.g. `trip/day 1/IMG_1.JPG`. */
  path: string;
  width: number;
  height: number;
  batch?: string;
  index?: number;
  id?: string | number;
}

/** The result's path relative to the output folder or the ZIP root (`/`-separated). */
export function outputRelativePath(options: Pick<OutputOptions, 'template' | 'format' | 'keepFolders'>, source: OutputNameSource): string {
  const file = source.path.replace(/\\/g, '/').split('/').pop() ?? '';
  const { base, ext } = splitName(file);
  const values: NamingValues = { name: base, ext, width: source.width, height: source.height, format: options.format };
  if (source.batch !== undefined) values.batch = source.batch;
  if (source.index !== undefined) values.index = source.index;
  if (source.id !== undefined) values.id = source.id;
  const name = renderName(options.template, values);
  return options.keepFolders ? [...safeFolderSegments(source.path), name].join('/') : name;
}

// Collisions are decided as file systems compare names (see file-names.ts).
export { resolveCollision, suffixedName } from './file-names.js';
export { DEFAULT_NAMING_TEMPLATE, renderName, splitName, templateProblem };
