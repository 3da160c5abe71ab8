/**
 * Turning a JS handler's result into the JSON text written to Redis.
 * JSON.stringify is too forgiving for this: it silently drops functions,
 * turns a Set or Map into `{}` and NaN into `null`, so a buggy handler would
 * publish plausible-looking wrong data. Here such values are refused, which
 * matches what Python's `json.dumps(..., allow_nan=False)` does for the
 * Python handlers.
 */
import { FunctionError } from './errors.js';

/**
 * Whether a result means "nothing to write". The course runtime is Python and
 * skips any falsy result, so JS handlers follow Python's truthiness: besides
 * null/undefined/false/0/'' an empty object or array is skipped too.
 */
export function isEmptyResult(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return true;
  if (typeof value === 'number' && Number.isNaN(value)) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isPlainObject(value)) return Object.keys(value).length === 0;
  return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'bigint') return 'a bigint';
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'undefined';
  // Object.create(null) has no constructor, whatever Object's type says.
  const name = (value as { constructor?: { name?: string } }).constructor?.name;
  return name ? `a ${name}` : 'an object without a prototype';
}

/** Checks that `value` is plain JSON data; throws FunctionError('invalid_output') naming the first bad path. */
function check(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw invalid(path, value);
      return;
    case 'object': {
      if (value === null) return;
      if (seen.has(value)) throw new FunctionError('invalid_output', `result is not JSON: ${path} is a circular reference`);
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((item, i) => check(item, `${path}[${i}]`, seen));
      } else if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw invalid(path, 'an invalid Date');
      } else if (isPlainObject(value)) {
        for (const [key, item] of Object.entries(value)) {
          // An undefined property is how JS spells "absent": JSON omits it, so does the output.
          if (item !== undefined) check(item, `${path}.${key}`, seen);
        }
      } else {
        throw invalid(path, value);
      }
      seen.delete(value);
      return;
    }
    default:
      throw invalid(path, value);
  }
}

function invalid(path: string, value: unknown): FunctionError {
  const what = typeof value === 'string' ? value : describe(value);
  return new FunctionError('invalid_output', `result is not JSON: ${path} is ${what}`);
}

/** The JSON text for a handler result, or null when the result is empty and nothing should be written. */
export function resultToJson(value: unknown): string | null {
  if (isEmptyResult(value)) return null;
  check(value, '$', new Set());
  return JSON.stringify(value);
}
