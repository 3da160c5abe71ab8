/**
 * The backend's test helpers (image generator, throw-away databases). They are
 * compiled into backend/dist/test/support; the import paths differ by one
 * level between this source file and its compiled twin, so the types come
 * from a type-only import (erased) and the code from a URL relative to the
 * compiled file.
 */
import type * as ImagesModule from '../../../backend/test/support/images.js';
import type * as DatabaseModule from '../../../backend/test/support/database.js';
import type * as HeifModule from '../../../backend/test/support/heif.js';

const supportUrl = (name: string): string => new URL(`../../../../backend/dist/test/support/${name}`, import.meta.url).href;

export const images: typeof ImagesModule = await import(supportUrl('images.js'));
export const database: typeof DatabaseModule = await import(supportUrl('database.js'));
export const heif: typeof HeifModule = await import(supportUrl('heif.js'));
