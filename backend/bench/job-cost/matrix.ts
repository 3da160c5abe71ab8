/**
 * What the job-cost bench measures: one case is one input, one set of
 * output options and a number of identical jobs run at once in one process.
 */
import { DEFAULT_OUTPUT_OPTIONS, DEFAULT_QUALITY, type OutputFormat, type OutputOptions } from '../../src/contract/output-options.js';
import type { InputKind } from './inputs.js';

/** The encoder settings the options panel offers, each a distinct cost. */
export const ENCODINGS = ['jpeg', 'jpeg-progressive', 'jpeg-mozjpeg', 'webp', 'avif', 'png-lossless', 'png-palette'] as const;
export type Encoding = (typeof ENCODINGS)[number];

export const BOXES = {
  '800x600': { width: 800, height: 600 },
  '1920x1080': { width: 1920, height: 1080 },
  '3840x2160': { width: 3840, height: 2160 },
  '8192x8192': { width: 8192, height: 8192 },
} as const;
export type BoxName = keyof typeof BOXES;

export interface Case {
  /** Unique, stable: input/encoding/box/fit[/xN]. */
  id: string;
  /** Which part of the matrix asked for it (formats, cover, largest, inputs, enlarge, concurrency). */
  group: string;
  input: InputKind;
  encoding: Encoding;
  box: BoxName;
  fit: 'inside' | 'cover';
  position: 'centre' | 'attention';
  enlarge: boolean;
  concurrent: number;
}

const FORMAT_OF: Readonly<Record<Encoding, OutputFormat>> = {
  jpeg: 'jpeg',
  'jpeg-progressive': 'jpeg',
  'jpeg-mozjpeg': 'jpeg',
  webp: 'webp',
  avif: 'avif',
  'png-lossless': 'png',
  'png-palette': 'png',
};

/** The full OutputOptions the product would run the case with: the defaults, the format's default quality. */
export function optionsFor(c: Case): OutputOptions {
  const format = FORMAT_OF[c.encoding];
  return {
    ...DEFAULT_OUTPUT_OPTIONS,
    ...BOXES[c.box],
    fit: c.fit,
    position: c.position,
    enlarge: c.enlarge,
    format,
    quality: c.encoding === 'png-palette' ? 80 : DEFAULT_QUALITY[format],
    progressive: c.encoding === 'jpeg-progressive',
    mozjpeg: c.encoding === 'jpeg-mozjpeg',
  };
}

type Fit = 'inside' | 'cover-centre' | 'cover-attention';

function makeCase(group: string, input: InputKind, encoding: Encoding, box: BoxName, fit: Fit = 'inside', concurrent = 1, enlarge = box === '8192x8192'): Case {
  const id = `${input}/${encoding}/${box}/${fit}${enlarge && box !== '8192x8192' ? '/enlarge' : ''}${concurrent > 1 ? `/x${concurrent}` : ''}`;
  return {
    id,
    group,
    input,
    encoding,
    box,
    fit: fit === 'inside' ? 'inside' : 'cover',
    position: fit === 'cover-attention' ? 'attention' : 'centre',
    enlarge,
    concurrent,
  };
}

const ALL_INPUTS: readonly InputKind[] = [
  'jpeg-12mp',
  'jpeg-20mp',
  'jpeg-12mp-progressive',
  'jpeg-12mp-rotated',
  'png-12mp-rgb8',
  'png-6mp-rgba16-interlaced',
  'webp-12mp',
  'jpeg-small',
];

function fullMatrix(): Case[] {
  const cases: Case[] = [];
  const add = (...c: Case[]) => cases.push(...c);
  // Every encoding at every preset size from the 12 MP photo; 8192 from the largest input (below).
  for (const e of ENCODINGS) for (const b of ['800x600', '1920x1080', '3840x2160'] as const) add(makeCase('formats', 'jpeg-12mp', e, b));
  for (const e of ENCODINGS) add(makeCase('cover', 'jpeg-12mp', e, '3840x2160', 'cover-attention'));
  add(makeCase('cover', 'jpeg-12mp', 'jpeg', '3840x2160', 'cover-centre'));
  add(makeCase('cover', 'jpeg-12mp', 'jpeg', '800x600', 'cover-attention'), makeCase('cover', 'jpeg-12mp', 'jpeg', '1920x1080', 'cover-attention'));
  for (const e of ENCODINGS) add(makeCase('largest', 'jpeg-20mp', e, '3840x2160'), makeCase('largest', 'jpeg-20mp', e, '8192x8192'));
  // 8192x8192 cover: the most output pixels any legal job makes (67 MP).
  for (const e of ['jpeg', 'webp', 'avif', 'png-lossless'] as const) add(makeCase('largest', 'jpeg-20mp', e, '8192x8192', 'cover-attention'));
  add(makeCase('largest', 'jpeg-20mp', 'avif', '3840x2160', 'cover-attention'));
  for (const i of ALL_INPUTS) {
    add(makeCase('inputs', i, 'jpeg', '800x600'), makeCase('inputs', i, 'jpeg', '1920x1080'), makeCase('inputs', i, 'avif', '3840x2160'));
  }
  add(makeCase('inputs', 'jpeg-12mp-rotated', 'jpeg', '3840x2160'), makeCase('inputs', 'png-6mp-rgba16-interlaced', 'png-lossless', '3840x2160'));
  for (const e of ['jpeg', 'webp', 'avif', 'png-lossless'] as const) add(makeCase('enlarge', 'jpeg-small', e, '3840x2160', 'inside', 1, true));
  add(makeCase('enlarge', 'jpeg-small', 'jpeg', '8192x8192'), makeCase('enlarge', 'jpeg-small', 'png-lossless', '8192x8192'));
  for (const n of [2, 4]) {
    add(
      makeCase('concurrency', 'jpeg-20mp', 'avif', '3840x2160', 'inside', n),
      makeCase('concurrency', 'jpeg-20mp', 'webp', '3840x2160', 'inside', n),
      makeCase('concurrency', 'jpeg-20mp', 'png-lossless', '8192x8192', 'inside', n),
    );
  }
  return dedupe(cases);
}

/** A few minutes: every encoding small, each decode kind that matters, one concurrency pair. */
function quickMatrix(): Case[] {
  const cases: Case[] = [];
  for (const e of ENCODINGS) cases.push(makeCase('formats', 'jpeg-12mp', e, '800x600'));
  cases.push(
    makeCase('formats', 'jpeg-12mp', 'jpeg', '1920x1080'),
    makeCase('formats', 'jpeg-12mp', 'avif', '1920x1080'),
    makeCase('cover', 'jpeg-12mp', 'jpeg', '1920x1080', 'cover-attention'),
    makeCase('inputs', 'jpeg-12mp-progressive', 'jpeg', '800x600'),
    makeCase('inputs', 'png-6mp-rgba16-interlaced', 'jpeg', '800x600'),
    makeCase('enlarge', 'jpeg-small', 'webp', '1920x1080', 'inside', 1, true),
    makeCase('concurrency', 'jpeg-12mp', 'webp', '800x600', 'inside', 2),
  );
  return dedupe(cases);
}

function dedupe(cases: Case[]): Case[] {
  const seen = new Set<string>();
  return cases.filter((c) => !seen.has(c.id) && seen.add(c.id));
}

export function matrix(quick: boolean): Case[] {
  return quick ? quickMatrix() : fullMatrix();
}

export function inputsOf(cases: readonly Case[]): InputKind[] {
  return [...new Set(cases.map((c) => c.input))];
}
