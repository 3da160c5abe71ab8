/**
 * JSON text that keeps the contract's number types. JSON.stringify writes the
 * float 12.0 as `12`, which Python's json.loads reads back as an int; the
 * course's handlers (and anything else in Python reading our snapshots) must
 * see floats where psutil gave floats. So for every object key that the
 * contract calls float-typed, an integral value is written as `12.0`.
 * Everything else is written exactly as JSON.stringify would.
 */
import { isFloatField } from './snapshot-contract.js';

function writeNumber(value: number, float: boolean): string {
  // JSON has no NaN/Infinity; JSON.stringify writes null for them too.
  if (!Number.isFinite(value)) return 'null';
  const text = JSON.stringify(value);
  // Exponent forms (1e+21) already parse as floats in Python.
  if (float && Number.isInteger(value) && !/[eE]/.test(text)) return `${text}.0`;
  return text;
}

function write(value: unknown, float: boolean, isFloat: (key: string) => boolean): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'number':
      return writeNumber(value, float);
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      break;
  }
  const maybeJson = value as { toJSON?: () => unknown };
  if (typeof maybeJson.toJSON === 'function') return write(maybeJson.toJSON(), float, isFloat);
  if (Array.isArray(value)) {
    return `[${value.map((item) => write(item, false, isFloat) ?? 'null').join(',')}]`;
  }
  const parts: string[] = [];
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const text = write(item, isFloat(key), isFloat);
    if (text !== undefined) parts.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * Serializes `value` like JSON.stringify (no indentation), except that numbers
 * under float-typed keys always carry a decimal point or exponent.
 */
export function stringifyWithFloats(value: unknown, isFloat: (key: string) => boolean = isFloatField): string {
  return write(value, false, isFloat) ?? 'null';
}
