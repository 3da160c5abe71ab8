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

export const images = (await import(supportUrl('images.js'))) as typeof ImagesModule;
export const database = (await import(supportUrl('database.js'))) as typeof DatabaseModule;
export const heif = (await import(supportUrl('heif.js'))) as typeof HeifModule;
