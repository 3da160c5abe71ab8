/**
 * The cost model fitted to the measurements: what the admission can compute
 * from a header and the options before decoding anything.
 *
 *   memory = d_group × decoded bytes                       (the decode; group: jpeg, png, png-interlaced, webp)
 *          + p × input px × 3        (progressive JPEG)    (its whole-image DCT coefficients)
 *          + a_enc + b_enc × output px × bands / 3         (pipeline and encoder)
 *          + t × resized px          (cover + attention)   (smartcrop holds the resized image)
 *   cpu    = a + e_kind × input MP + r × decoded MP + c_enc × output MP
 *          + u × upsampled MP        (enlarging)
 *          + t × resized MP          (cover + attention)
 *
 * Fitted by non-negative least squares on relative error (least-squares.ts)
 * over the single-job cases, except PNG palette: libimagequant's cost
 * depends on the colours more than on the pixels (measured: not even
 * monotonic in the output size), so its a_enc and b_enc are the lowest
 * line above every palette case instead (upperEnvelope).
 */
import { ENCODINGS, type Encoding } from './matrix.js';
import { nonNegativeLeastSquares, predict, type Observation } from './least-squares.js';
import type { CaseResult } from './runner.js';

/** How the input is decoded: what decides the decode's time. */
export const DECODE_KINDS = ['jpeg', 'jpeg-progressive', 'jpeg-rotated', 'png', 'png-interlaced', 'webp'] as const;
export type DecodeKind = (typeof DECODE_KINDS)[number];
/** What decides the decode's memory: an EXIF turn or progressive scans change nothing there (progressive adds its own term). */
const MEMORY_GROUPS = ['jpeg', 'png', 'png-interlaced', 'webp'] as const;

export function decodeKindOf(r: Pick<CaseResult, 'case'>): DecodeKind {
  const i = r.case.input;
  if (i === 'jpeg-12mp-progressive') return 'jpeg-progressive';
  if (i === 'jpeg-12mp-rotated') return 'jpeg-rotated';
  if (i.startsWith('png')) return i.includes('interlaced') ? 'png-interlaced' : 'png';
  if (i.startsWith('webp')) return 'webp';
  return 'jpeg';
}

const memoryGroupOf = (k: DecodeKind) => (k.startsWith('jpeg') ? 'jpeg' : k);

export interface Term {
  name: string;
  unit: string;
  value: number;
}

export interface FittedModel {
  terms: Term[];
  /** measured / predicted over the single-job cases. */
  ratios: { id: string; ratio: number }[];
  maxRatio: number;
  p95Ratio: number;
  minRatio: number;
  predict(r: CaseResult): number;
}

const MiB = 1024 * 1024;
const MP = 1e6;
const isAttention = (r: CaseResult) => r.case.fit === 'cover' && r.case.position === 'attention';
const isEnvelope = (r: CaseResult) => r.case.encoding === 'png-palette';

interface Design {
  names: string[];
  units: string[];
  /** From the fitted coefficient to the unit reported. */
  scales: number[];
  features(r: CaseResult): number[];
  /** The encoder's per-output-pixel feature (for the envelope), and the index of its fixed and per-pixel columns. */
  encoderX(r: CaseResult): number;
  encoderColumns(e: Encoding): [number, number];
}

const encodingColumns = (e: Encoding, offset: number): [number, number] => {
  const i = ENCODINGS.indexOf(e);
  return [offset + i, offset + ENCODINGS.length + i];
};

const memoryDesign: Design = {
  names: [
    ...MEMORY_GROUPS.map((g) => `decode ${g}`),
    'progressive coefficients',
    ...ENCODINGS.map((e) => `${e} fixed`),
    ...ENCODINGS.map((e) => `${e} per output px`),
    'attention per resized px',
  ],
  units: [...MEMORY_GROUPS.map(() => 'B/decoded B'), 'B/(input px × 3)', ...ENCODINGS.map(() => 'MiB'), ...ENCODINGS.map(() => 'B/px (× bands/3)'), 'B/px'],
  scales: [...MEMORY_GROUPS.map(() => 1), 1, ...ENCODINGS.map(() => 1 / MiB), ...ENCODINGS.map(() => 1), 1],
  encoderX: (r) => (r.shape.outputPixels * r.shape.outputBands) / 3,
  encoderColumns: (e) => encodingColumns(e, MEMORY_GROUPS.length + 1),
  features(r) {
    const kind = decodeKindOf(r);
    const s = r.shape;
    const x = new Array<number>(this.names.length).fill(0);
    x[MEMORY_GROUPS.indexOf(memoryGroupOf(kind) as (typeof MEMORY_GROUPS)[number])] = s.decodedBytes;
    if (kind === 'jpeg-progressive') x[MEMORY_GROUPS.length] = s.inputPixels * 3;
    const [fixed, perPixel] = this.encoderColumns(r.case.encoding);
    x[fixed] = 1;
    x[perPixel] = this.encoderX(r);
    x[x.length - 1] = isAttention(r) ? s.resizedPixels : 0;
    return x;
  },
};

/**
 * Pixels an enlargement computes: the resize works per output pixel when it
 * enlarges (per decoded pixel when it shrinks: "per decoded MP"). cover +
 * attention computes the whole resized image (smartcrop looks at all of
 * it); cover + centre only the crop.
 */
function upsampledPixels(r: CaseResult): number {
  const s = r.shape;
  if (s.resizedPixels <= s.decodedPixels) return 0;
  return isAttention(r) ? s.resizedPixels : s.outputPixels;
}

const cpuDesign: Design = {
  names: [
    'fixed',
    ...DECODE_KINDS.map((k) => `decode ${k} per input MP`),
    'per decoded MP',
    ...ENCODINGS.map((e) => `${e} fixed`),
    ...ENCODINGS.map((e) => `${e} per output MP`),
    'enlarge per upsampled MP',
    'attention per resized MP',
  ],
  units: ['', ...DECODE_KINDS.map(() => '/MP'), '/MP', ...ENCODINGS.map(() => ''), ...ENCODINGS.map(() => '/MP'), '/MP', '/MP'],
  scales: [1, ...DECODE_KINDS.map(() => 1), 1, ...ENCODINGS.map(() => 1), ...ENCODINGS.map(() => 1), 1, 1],
  encoderX: (r) => r.shape.outputPixels / MP,
  encoderColumns: (e) => encodingColumns(e, DECODE_KINDS.length + 2),
  features(r) {
    const s = r.shape;
    const x = new Array<number>(this.names.length).fill(0);
    x[0] = 1;
    x[1 + DECODE_KINDS.indexOf(decodeKindOf(r))] = s.inputPixels / MP;
    x[1 + DECODE_KINDS.length] = s.decodedPixels / MP;
    // Only the envelope gives an encoding a fixed part: the shared `fixed` is the rest's.
    if (isEnvelope(r)) x[this.encoderColumns(r.case.encoding)[0]] = 1;
    x[this.encoderColumns(r.case.encoding)[1]] = this.encoderX(r);
    x[x.length - 2] = upsampledPixels(r) / MP;
    x[x.length - 1] = isAttention(r) ? s.resizedPixels / MP : 0;
    return x;
  },
};

/**
 * The lowest line a + b·x (a, b ≥ 0) on or above every point, lowest meaning
 * the least sum over the points: such a line passes through two of them, or
 * is flat through the highest, or goes through the origin.
 */
export function upperEnvelope(points: readonly { x: number; y: number }[]): { a: number; b: number } {
  const candidates: { a: number; b: number }[] = [{ a: Math.max(0, ...points.map((p) => p.y)), b: 0 }];
  candidates.push({ a: 0, b: Math.max(0, ...points.map((p) => (p.x > 0 ? p.y / p.x : 0))) });
  for (const p of points) {
    for (const q of points) {
      if (q.x <= p.x) continue;
      const b = (q.y - p.y) / (q.x - p.x);
      const a = p.y - b * p.x;
      if (a >= 0 && b >= 0) candidates.push({ a, b });
    }
  }
  const fits = (c: { a: number; b: number }) => points.every((p) => c.a + c.b * p.x >= p.y * (1 - 1e-9));
  const total = (c: { a: number; b: number }) => points.reduce((sum, p) => sum + c.a + c.b * p.x, 0);
  return candidates.filter(fits).sort((u, v) => total(u) - total(v))[0] ?? { a: 0, b: 0 };
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** The least-squares part, then each envelope encoding's own line above what the rest of the model leaves. */
function coefficients(design: Design, points: readonly CaseResult[], measure: (r: CaseResult) => number): number[] {
  const fitted = points.filter((r) => !isEnvelope(r));
  const obs: Observation[] = fitted.map((r) => ({ x: design.features(r), y: measure(r), weight: 1 / measure(r) ** 2 }));
  const b = nonNegativeLeastSquares(obs, design.names.length);
  for (const e of ENCODINGS) {
    const own = points.filter((r) => isEnvelope(r) && r.case.encoding === e);
    if (own.length === 0) continue;
    const [fixed, perPixel] = design.encoderColumns(e);
    const rest = (r: CaseResult) =>
      predict(
        design.features(r).map((v, i) => (i === fixed || i === perPixel ? 0 : v)),
        b,
      );
    const line = upperEnvelope(own.map((r) => ({ x: design.encoderX(r), y: measure(r) - rest(r) })));
    b[fixed] = line.a;
    b[perPixel] = line.b;
  }
  return b;
}

function fit(design: Design, cases: readonly CaseResult[], measure: (r: CaseResult) => number, unit: string): FittedModel {
  const points = cases.filter((r) => r.measured && r.case.concurrent === 1 && measure(r) > 0);
  const b = coefficients(design, points, measure);
  const predictOne = (r: CaseResult) => predict(design.features(r), b);
  const ratios = points.map((r) => ({ id: r.case.id, ratio: measure(r) / predictOne(r) }));
  const sorted = ratios.map((x) => x.ratio).sort((x, y) => x - y);
  const used = design.names.map((_, i) => points.some((r) => design.features(r)[i] !== 0));
  return {
    terms: design.names.flatMap((name, i) => (used[i] ? [{ name, unit: `${unit}${design.units[i]}`, value: b[i]! * design.scales[i]! }] : [])),
    ratios,
    maxRatio: sorted[sorted.length - 1] ?? Number.NaN,
    p95Ratio: quantile(sorted, 0.95),
    minRatio: sorted[0] ?? Number.NaN,
    predict: predictOne,
  };
}

export interface JobCostModel {
  memory: FittedModel;
  cpu: FittedModel;
  /** CPU in reference jobs (1 MP JPEG → 800x600 JPEG) timed in the same child. */
  cpuReference: FittedModel;
}

export function fitModels(cases: readonly CaseResult[]): JobCostModel {
  return {
    memory: fit(memoryDesign, cases, (r) => r.measured?.hwmPeakBytes ?? 0, ''),
    cpu: fit(cpuDesign, cases, (r) => r.measured?.cpuMs ?? 0, 'ms'),
    cpuReference: fit(cpuDesign, cases, (r) => (r.measured ? r.measured.cpuMs / r.measured.referenceCpuMs : 0), 'ref'),
  };
}
