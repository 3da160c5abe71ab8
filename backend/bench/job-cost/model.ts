/**
 * The cost model fitted to the measurements: what the admission can compute
 * from a header and the options before decoding anything.
 *
 *   memory = Σ d_kind × decodeFeature_kind            (the decode)
 *          + a_enc + b_enc × output pixels            (pipeline and encoder)
 *          + t × resized pixels (cover + attention)   (smartcrop holds the resized image)
 *   cpu    = a + Σ e_kind × decoded MP + h × JPEG input MP
 *          + c_enc × output MP + t × resized MP (attention)
 *
 * Fitted by non-negative least squares on relative error (least-squares.ts)
 * over the single-job cases; the safety margin is the largest measured /
 * predicted ratio among them.
 */
import type { Encoding } from './matrix.js';
import { ENCODINGS } from './matrix.js';
import { nonNegativeLeastSquares, predict, type Observation } from './least-squares.js';
import type { CaseResult } from './runner.js';
import type { JobShape } from './shape.js';

/** How the input is decoded: what decides the decode's memory and time. */
export const DECODE_KINDS = ['jpeg', 'jpeg-progressive', 'png', 'png-interlaced', 'webp'] as const;
export type DecodeKind = (typeof DECODE_KINDS)[number];

export function decodeKindOf(r: CaseResult): DecodeKind {
  const i = r.case.input;
  if (i === 'jpeg-12mp-progressive') return 'jpeg-progressive';
  if (i.startsWith('png')) return i.includes('interlaced') ? 'png-interlaced' : 'png';
  if (i.startsWith('webp')) return 'webp';
  return 'jpeg';
}

/**
 * The decode's memory grows with what it must hold: a progressive JPEG
 * keeps every DCT coefficient of the whole image (full resolution, whatever
 * the shrink-on-load), the others the pixels they deliver (after it).
 */
function decodeFeature(kind: DecodeKind, s: JobShape): number {
  return kind === 'jpeg-progressive' ? s.inputPixels * 3 : s.decodedBytes;
}

export interface Term {
  name: string;
  unit: string;
  /** The coefficient in `unit`. */
  value: number;
}

export interface FittedModel {
  terms: Term[];
  /** measured / predicted over the fitted cases. */
  ratios: { id: string; ratio: number }[];
  maxRatio: number;
  p95Ratio: number;
  minRatio: number;
  predict(r: CaseResult): number;
}

const MiB = 1024 * 1024;
const isAttention = (r: CaseResult) => r.case.fit === 'cover' && r.case.position === 'attention';

interface Design {
  names: string[];
  units: string[];
  /** Scale from the fitted coefficient to the reported unit. */
  scales: number[];
  features(r: CaseResult): number[];
}

const memoryDesign: Design = {
  names: [...DECODE_KINDS.map((k) => `decode ${k}`), ...ENCODINGS.map((e) => `${e} fixed`), ...ENCODINGS.map((e) => `${e} per output pixel`), 'attention per resized pixel'],
  units: [...DECODE_KINDS.map(() => 'B/decoded B'), ...ENCODINGS.map(() => 'MiB'), ...ENCODINGS.map(() => 'B/px'), 'B/px'],
  scales: [...DECODE_KINDS.map(() => 1), ...ENCODINGS.map(() => 1 / MiB), ...ENCODINGS.map(() => 1), 1],
  features(r) {
    const kind = decodeKindOf(r);
    const s = r.shape;
    const enc = (e: Encoding, v: number) => (r.case.encoding === e ? v : 0);
    return [
      ...DECODE_KINDS.map((k) => (k === kind ? decodeFeature(k, s) : 0)),
      ...ENCODINGS.map((e) => enc(e, 1)),
      ...ENCODINGS.map((e) => enc(e, s.outputPixels)),
      isAttention(r) ? s.resizedPixels : 0,
    ];
  },
};

const MP = 1e6;

const cpuDesign: Design = {
  names: ['fixed', ...DECODE_KINDS.map((k) => `decode ${k} per decoded MP`), 'JPEG entropy per input MP', ...ENCODINGS.map((e) => `${e} per output MP`), 'attention per resized MP'],
  units: ['', ...DECODE_KINDS.map(() => '/MP'), '/MP', ...ENCODINGS.map(() => '/MP'), '/MP'],
  scales: [1, ...DECODE_KINDS.map(() => 1), 1, ...ENCODINGS.map(() => 1), 1],
  features(r) {
    const kind = decodeKindOf(r);
    const s = r.shape;
    return [
      1,
      ...DECODE_KINDS.map((k) => (k === kind ? s.decodedPixels / MP : 0)),
      kind.startsWith('jpeg') ? s.inputPixels / MP : 0,
      ...ENCODINGS.map((e) => (r.case.encoding === e ? s.outputPixels / MP : 0)),
      isAttention(r) ? s.resizedPixels / MP : 0,
    ];
  },
};

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

function fit(design: Design, cases: readonly CaseResult[], measure: (r: CaseResult) => number, unit: string): FittedModel {
  const points = cases.filter((r) => r.measured && r.case.concurrent === 1 && measure(r) > 0);
  const obs: Observation[] = points.map((r) => ({ x: design.features(r), y: measure(r), weight: 1 / measure(r) ** 2 }));
  const b = nonNegativeLeastSquares(obs, design.names.length);
  const predictOne = (r: CaseResult) => predict(design.features(r), b);
  const ratios = points.map((r) => ({ id: r.case.id, ratio: measure(r) / predictOne(r) }));
  const sorted = ratios.map((x) => x.ratio).sort((x, y) => x - y);
  const used = design.names.map((_, i) => obs.some((o) => o.x[i] !== 0));
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
