/**
 * What the function writes, whatever its key names: its numbers, and how
 * their keys group into charts. The bundled handler writes
 * `moving_average_cpu_percent-N`, `percentage_memory_caching` and
 * `percentage_outgoing_bytes`; handlers written for the course's agent write
 * `avg-util-cpu{i}-60sec`, `percent-network-egress`, `moving-average-{i}`, or
 * nest them (`cpus_avg: {"cpu_percent-0_avg": …}`). Pure logic, unit-tested
 * in Node.
 *
 * - A family: keys that differ only by an index (the digits after `cpu` or
 *   `core`, else the last digits in the key), such as
 *   `avg-util-cpu0-60sec` and `avg-util-cpu1-60sec` → `avg-util-cpu{i}-60sec`.
 *   It is per core when its name says cpu or core, or when it has as many
 *   members as the node has cores; per-core families are drawn a line per
 *   core, grouped per node, or as the mean of the cores.
 * - Every other key is a chart of its own: a percentage when its name says so
 *   (percent, pct, %), else a plain figure.
 */

/** How deep nested objects are looked into (`{"cpus_avg": {"cpu0": 1}}` is depth 2). */
const MAX_DEPTH = 2;

/** The numbers among the derived figures, nested objects flattened as `outer.inner`; arrays and text are left out. */
export function numericFigures(derived: Readonly<Record<string, unknown>> | null): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (record: Readonly<Record<string, unknown>>, prefix: string, depth: number): void => {
    for (const [key, value] of Object.entries(record)) {
      const name = prefix === '' ? key : `${prefix}.${key}`;
      if (typeof value === 'number' && Number.isFinite(value)) out.set(name, value);
      else if (depth < MAX_DEPTH && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        walk(value as Record<string, unknown>, name, depth + 1);
      }
    }
  };
  if (derived) walk(derived, '', 1);
  return out;
}

export interface PerCoreFamily {
  kind: 'per-core';
  /** The key with `{i}` where the core index goes, e.g. `avg-util-cpu{i}-60sec`. */
  template: string;
  /** Core index → key, by index. */
  cores: { index: number; key: string }[];
}

export interface SingleFigure {
  kind: 'percent' | 'other';
  key: string;
}

export type DerivedGroup = PerCoreFamily | SingleFigure;

const CORE_INDEX = /(cpu|core)(\d+)/i;
const MENTIONS_CORE = /cpu|core/i;
const PERCENT = /percent|pct|%/i;

/** Where a key's index is: after `cpu`/`core` when there, else its last digits; undefined without digits. */
export function indexOf(key: string): { template: string; index: number } | undefined {
  const afterCore = CORE_INDEX.exec(key);
  if (afterCore) {
    const start = afterCore.index + afterCore[1]!.length;
    const digits = afterCore[2]!;
    return { template: `${key.slice(0, start)}{i}${key.slice(start + digits.length)}`, index: Number(digits) };
  }
  const runs = [...key.matchAll(/\d+/g)];
  const last = runs.at(-1);
  if (!last) return undefined;
  return { template: `${key.slice(0, last.index)}{i}${key.slice(last.index + last[0].length)}`, index: Number(last[0]) };
}

/**
 * Sorts derived keys into per-core families and single figures. `coreCount`:
 * how many cores the node has (its snapshots' `cpu_percent-N`), or 0 when
 * not known.
 */
export function groupDerivedKeys(keys: Iterable<string>, coreCount = 0): DerivedGroup[] {
  const families = new Map<string, { index: number; key: string }[]>();
  const singles: string[] = [];
  for (const key of new Set(keys)) {
    const at = indexOf(key);
    if (at) families.set(at.template, [...(families.get(at.template) ?? []), { index: at.index, key }]);
    else singles.push(key);
  }
  const perCore: PerCoreFamily[] = [];
  for (const [template, members] of families) {
    const isPerCore = MENTIONS_CORE.test(template) || (coreCount > 1 && members.length === coreCount);
    if (isPerCore) perCore.push({ kind: 'per-core', template, cores: members.sort((a, b) => a.index - b.index) });
    else singles.push(...members.map((m) => m.key));
  }
  const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [
    ...perCore.sort((a, b) => byKey(a.template, b.template)),
    ...singles.sort(byKey).map((key): SingleFigure => ({ kind: PERCENT.test(key) ? 'percent' : 'other', key })),
  ];
}
