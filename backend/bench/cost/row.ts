/** A measured figure of the cost bench, in the shape `npm run bench` records. */
export interface Row {
  name: string;
  value: number;
  unit: string;
  target?: string;
  met?: boolean;
  note?: string;
}

/** One table line, as backend/bench/run.ts prints its rows. */
export function formatRow(row: Row): string {
  const status = row.met === undefined ? '' : row.met ? 'met' : 'MISSED';
  const digits = row.unit === 'x' ? 2 : Math.abs(row.value) >= 100 || row.value === 0 ? 0 : Math.abs(row.value) >= 10 ? 1 : 2;
  const line = `  ${row.name.padEnd(52)} ${row.value.toFixed(digits).padStart(9)} ${row.unit.padEnd(10)} ${(row.target ?? '').padEnd(10)} ${status}`;
  return row.note ? `${line}  (${row.note})` : line;
}
