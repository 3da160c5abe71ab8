/**
 * The EXIF a `keep` result carries: the dates, the copyright and author,
 * and the GPS position only when asked. Everything else (camera serial
 * numbers, maker notes, thumbnails, the orientation already applied) is
 * left behind. The input's EXIF is parsed with exif-reader and written back
 * through sharp's withExif as libvips' tag strings.
 */
import exifReader from 'exif-reader';
import type { Exif as SharpExif } from 'sharp';

type Tags = Record<string, unknown>;

const IMAGE_TAGS = ['DateTime', 'Copyright', 'Artist'];
const PHOTO_TAGS = [
  'DateTimeOriginal',
  'DateTimeDigitized',
  'OffsetTime',
  'OffsetTimeOriginal',
  'OffsetTimeDigitized',
  'SubSecTime',
  'SubSecTimeOriginal',
  'SubSecTimeDigitized',
];
/** GPS tags whose types libvips writes back from strings (ASCII and RATIONAL). */
const GPS_TAGS = [
  'GPSLatitudeRef',
  'GPSLatitude',
  'GPSLongitudeRef',
  'GPSLongitude',
  'GPSAltitude',
  'GPSTimeStamp',
  'GPSDateStamp',
  'GPSImgDirectionRef',
  'GPSImgDirection',
];

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** exif-reader reads EXIF dates as UTC: written back the same way, the wall-clock text is unchanged. */
function exifDate(d: Date): string {
  return `${pad(d.getUTCFullYear(), 4)}:${pad(d.getUTCMonth() + 1)}:${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** A RATIONAL as libvips parses it: `n/d`, exact to 1/10000. */
function rational(x: number): string {
  if (Number.isInteger(x)) return `${x}/1`;
  return `${Math.round(x * 10000)}/10000`;
}

function tagText(value: unknown): string | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : exifDate(value);
  if (typeof value === 'string') return value.replace(/\0+$/, '');
  if (typeof value === 'number') return rational(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return value.map(rational).join(' ');
  return undefined;
}

function pick(tags: Tags | undefined, names: readonly string[]): Record<string, string> | undefined {
  if (!tags) return undefined;
  const out: Record<string, string> = {};
  for (const name of names) {
    const text = tagText(tags[name]);
    if (text !== undefined && text !== '') out[name] = text;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The subset of `exif` (the raw block from sharp's metadata) to write, or
 * undefined when there is nothing worth keeping. Unreadable EXIF keeps
 * nothing rather than failing the image: the pixels are what was asked for.
 */
export function exifToKeep(exif: Buffer | undefined, keepGps: boolean): SharpExif | undefined {
  if (!exif || exif.length === 0) return undefined;
  let parsed: ReturnType<typeof exifReader>;
  try {
    parsed = exifReader(exif);
  } catch {
    return undefined;
  }
  const subset: SharpExif = {};
  const ifd0 = pick(parsed.Image, IMAGE_TAGS);
  const ifd2 = pick(parsed.Photo, PHOTO_TAGS);
  const ifd3 = keepGps ? pick(parsed.GPSInfo, GPS_TAGS) : undefined;
  if (ifd0) subset.IFD0 = ifd0;
  if (ifd2) subset.IFD2 = ifd2;
  if (ifd3) subset.IFD3 = ifd3;
  return Object.keys(subset).length > 0 ? subset : undefined;
}
