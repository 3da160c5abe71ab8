/**
 * Weighted linear least squares with every coefficient kept ≥ 0 (a cost
 * is never negative): solve, pin the most negative coefficient at 0, solve
 * again without it, until none is negative. That is the classic
 * active-set idea in its simplest form, enough for a few dozen points and
 * twenty unknowns; columns no point uses are left at 0.
 */

export interface Observation {
  /** The features, one per coefficient, in the model's order. */
  x: readonly number[];
  y: number;
  /** Relative fit: 1/y² (every point counts by its relative error). */
  weight: number;
}

/**
 * Solves A·b = v for the symmetric A of the normal equations by Gauss–Jordan
 * elimination with partial pivoting. A column whose pivot vanishes depends
 * on the others (e.g. a format measured at one size only: its fixed and
 * per-pixel parts cannot be told apart); its coefficient is left at 0.
 */
function solve(a: number[][], v: number[]): number[] {
  const n = v.length;
  const m = a.map((row, i) => [...row, v[i]!]);
  const scale = Math.max(1e-300, ...a.map((row, i) => Math.abs(row[i]!)));
  const pivotRow = new Array<number>(n).fill(-1);
  let row = 0;
  for (let col = 0; col < n && row < n; col++) {
    let pivot = row;
    for (let r = row + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    if (Math.abs(m[pivot]![col]!) < 1e-10 * scale) continue;
    [m[row], m[pivot]] = [m[pivot]!, m[row]!];
    for (let r = 0; r < n; r++) {
      if (r === row) continue;
      const f = m[r]![col]! / m[row]![col]!;
      for (let c = col; c <= n; c++) m[r]![c]! -= f * m[row]![c]!;
    }
    pivotRow[col] = row++;
  }
  return pivotRow.map((r, col) => (r === -1 ? 0 : m[r]![n]! / m[r]![col]!));
}

/** The weighted normal equations over the columns in `active`. */
function fitColumns(obs: readonly Observation[], active: number[]): number[] {
  const k = active.length;
  const a = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const v = new Array<number>(k).fill(0);
  for (const o of obs) {
    for (let i = 0; i < k; i++) {
      const xi = o.x[active[i]!]!;
      v[i]! += o.weight * xi * o.y;
      for (let j = 0; j < k; j++) a[i]![j]! += o.weight * xi * o.x[active[j]!]!;
    }
  }
  return solve(a, v);
}

/** Features differ by 10^7 (an indicator against a pixel count): each column is scaled to at most 1 before solving. */
export function nonNegativeLeastSquares(obs: readonly Observation[], columns: number): number[] {
  const norms = Array.from({ length: columns }, (_, i) => Math.max(0, ...obs.map((o) => Math.abs(o.x[i]!))) || 1);
  const scaled = obs.map((o) => ({ ...o, x: o.x.map((v, i) => v / norms[i]!) }));
  return scaledNonNegative(scaled, columns).map((b, i) => b / norms[i]!);
}

function scaledNonNegative(obs: readonly Observation[], columns: number): number[] {
  const coefficients = new Array<number>(columns).fill(0);
  let active = Array.from({ length: columns }, (_, i) => i).filter((i) => obs.some((o) => o.x[i] !== 0));
  while (active.length > 0) {
    const b = fitColumns(obs, active);
    const worst = b.reduce((w, value, i) => (value < (b[w] ?? 0) ? i : w), -1);
    if (worst === -1 || b[worst]! >= 0) {
      active.forEach((col, i) => (coefficients[col] = b[i]!));
      return coefficients;
    }
    active = active.filter((_, i) => i !== worst);
  }
  return coefficients;
}

export function predict(x: readonly number[], coefficients: readonly number[]): number {
  return x.reduce((sum, xi, i) => sum + xi * (coefficients[i] ?? 0), 0);
}
