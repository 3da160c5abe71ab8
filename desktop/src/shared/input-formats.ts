/**
 * The photo formats the apps take, in every text and picker that names
 * them, from one list: the backend's own (imaging/detect.ts, what it
 * recognises by content). A format added there shows up here by itself;
 * one this file has no label for is named by its key in capitals.
 */
import { CONTENT_TYPES } from '@imgfleet/backend/imaging/detect';

/** How people know each format, and its usual file extensions. */
const KNOWN: Readonly<Record<string, { label: string; extensions: readonly string[] }>> = {
  jpeg: { label: 'JPEG', extensions: ['jpg', 'jpeg'] },
  png: { label: 'PNG', extensions: ['png'] },
  webp: { label: 'WebP', extensions: ['webp'] },
  // The backend's key is the container's (HEIF); phones and people call their photos HEIC.
  heif: { label: 'HEIC', extensions: ['heic', 'heif'] },
  avif: { label: 'AVIF', extensions: ['avif'] },
  tiff: { label: 'TIFF', extensions: ['tif', 'tiff'] },
  gif: { label: 'GIF', extensions: ['gif'] },
};

export interface InputFormat {
  key: string;
  label: string;
  contentType: string;
  extensions: readonly string[];
}

export const INPUT_FORMATS: readonly InputFormat[] = Object.entries(CONTENT_TYPES as Record<string, string>).map(([key, contentType]) => ({
  key,
  contentType,
  label: KNOWN[key]?.label ?? key.toUpperCase(),
  extensions: KNOWN[key]?.extensions ?? [key],
}));

/** "JPEG, PNG and WebP". */
export function formatNames(formats: readonly InputFormat[] = INPUT_FORMATS): string {
  const labels = [...new Set(formats.map((f) => f.label))];
  return labels.length <= 1 ? (labels[0] ?? '') : `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}`;
}

/** "JPEG, PNG, WebP" (a dialog filter's name, a tooltip). */
export function formatShortList(formats: readonly InputFormat[] = INPUT_FORMATS): string {
  return [...new Set(formats.map((f) => f.label))].join(', ');
}

/** Every extension, without the dot. */
export function inputExtensions(formats: readonly InputFormat[] = INPUT_FORMATS): string[] {
  return [...new Set(formats.flatMap((f) => f.extensions))];
}

/** A file input's `accept`: the extensions and the content types. */
export function acceptAttribute(formats: readonly InputFormat[] = INPUT_FORMATS): string {
  return [...inputExtensions(formats).map((e) => `.${e}`), ...new Set(formats.map((f) => f.contentType))].join(',');
}
