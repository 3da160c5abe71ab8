/**
 * HEIC/HEIF decoding (phones' photos). sharp's prebuilt libvips reads a
 * HEIF's header (size, EXIF, ICC profile) but has no HEVC decoder, so the
 * pixels come from libheif-js: libheif and libde265 compiled to WebAssembly,
 * the library heic-decode and heic-convert wrap. It is used directly rather
 * than through heic-decode, which decodes the first top-level image (not
 * the primary one), always to RGBA, prints its errors to the console, and
 * keeps one module per process whose memory can only grow.
 *
 * Each decode gets a fresh instance of the (once compiled) module: a
 * WebAssembly memory never shrinks, so an instance kept after a 24-MP
 * photo would hold its 170 MiB for good, outside every budget. The decode
 * is synchronous and runs where it is called: in the server's worker
 * threads, or (desktop) in a thread of its own (heif-thread.ts).
 *
 * libheif applies the HEIF transforms (irot, imir, clap): the orientation
 * phones record. An EXIF Orientation tag inside a HEIF is informative only
 * (libvips and Apple's readers ignore it too), so nothing rotates twice.
 * The pixels come out as a TIFF carrying the file's ICC profile (raw-tiff.ts).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ImageError } from './errors.js';
import { rawTiffLayout } from './raw-tiff.js';

// ES modules (the server, the tests) have no require; the desktop's main process, bundled as
// CommonJS with libheif-js left in node_modules, has no import.meta and its own require.
const nodeRequire: NodeJS.Require = typeof require === 'function' ? require : createRequire(import.meta.url);

/** The part of libheif-js' embind API used here. */
interface HeifError {
  code: unknown;
  message: string;
}
interface ChannelData {
  id: unknown;
  width: number;
  height: number;
  stride: number;
  data: Uint8Array;
}
interface DecodedImage {
  image: unknown;
  channels: ChannelData[];
  code?: unknown;
}
interface LibHeif {
  ready: Promise<unknown>;
  heif_error_code: { heif_error_Ok: unknown };
  heif_colorspace: { heif_colorspace_RGB: unknown };
  heif_chroma: { heif_chroma_interleaved_RGB: unknown; heif_chroma_interleaved_RGBA: unknown };
  heif_channel: { heif_channel_interleaved: unknown };
  heif_context_alloc(): unknown;
  heif_context_free(context: unknown): void;
  heif_context_read_from_memory(context: unknown, bytes: Uint8Array): HeifError;
  heif_js_context_get_primary_image_handle(context: unknown): unknown;
  heif_image_handle_get_width(handle: unknown): number;
  heif_image_handle_get_height(handle: unknown): number;
  heif_image_handle_has_alpha_channel(handle: unknown): number;
  heif_image_handle_is_premultiplied_alpha(handle: unknown): number;
  heif_image_handle_release(handle: unknown): void;
  heif_js_decode_image2(handle: unknown, colorspace: unknown, chroma: unknown): DecodedImage | Promise<DecodedImage>;
  heif_image_release(image: unknown): void;
}
type Factory = (options: Record<string, unknown>) => LibHeif;

/** WebAssembly as far as used here (this project's TypeScript libraries do not declare it). */
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

let compiled: { factory: Factory; module: object } | undefined;

/** The module is compiled once per thread (~100 ms); instances are cheap. */
function compiledModule(): { factory: Factory; module: object } {
  if (!compiled) {
    const factory = nodeRequire('libheif-js/libheif-wasm/libheif.js') as Factory;
    const module = new wasm.Module(readFileSync(nodeRequire.resolve('libheif-js/libheif-wasm/libheif.wasm')));
    compiled = { factory, module };
  }
  return compiled;
}

async function freshInstance(): Promise<LibHeif> {
  const { factory, module } = compiledModule();
  const quiet = (): void => undefined;
  const lib = factory({
    // The module's own messages would go to stdout/stderr; its failures come back as results.
    print: quiet,
    printErr: quiet,
    instantiateWasm(imports: object, receive: (instance: { exports: object }) => void) {
      const instance = new wasm.Instance(module, imports);
      receive(instance);
      return instance.exports;
    },
  });
  await lib.ready;
  return lib;
}

export interface HeifDecodeInput {
  bytes: Uint8Array;
  /** The ICC profile from the header (sharp's metadata), carried into the TIFF. */
  icc?: Uint8Array | undefined;
}

function corrupt(detail: string): ImageError {
  return new ImageError('CORRUPT_IMAGE', `corrupt or undecodable HEIF image (${detail})`);
}

/** Copies the decoded interleaved rows (`stride` apart in the module's memory) into the TIFF's pixels. */
function copyRows(channel: ChannelData, target: Buffer, offset: number, rowBytes: number): void {
  if (channel.stride === rowBytes) {
    target.set(channel.data.subarray(0, rowBytes * channel.height), offset);
    return;
  }
  for (let y = 0; y < channel.height; y++) target.set(channel.data.subarray(y * channel.stride, y * channel.stride + rowBytes), offset + y * rowBytes);
}

async function decodePrimary(lib: LibHeif, context: unknown, input: HeifDecodeInput): Promise<Buffer> {
  const read = lib.heif_context_read_from_memory(context, input.bytes);
  if (read.code !== lib.heif_error_code.heif_error_Ok) throw corrupt(read.message);
  const handle = lib.heif_js_context_get_primary_image_handle(context);
  if (!handle || (handle as { code?: unknown }).code !== undefined) throw corrupt('no primary image');
  try {
    const alpha = lib.heif_image_handle_has_alpha_channel(handle) !== 0;
    const channels = alpha ? 4 : 3;
    const chroma = alpha ? lib.heif_chroma.heif_chroma_interleaved_RGBA : lib.heif_chroma.heif_chroma_interleaved_RGB;
    const decoded = await lib.heif_js_decode_image2(handle, lib.heif_colorspace.heif_colorspace_RGB, chroma);
    // libheif-js answers an error object, or nothing, in place of an image; its types do not say so.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    if (!decoded || decoded.code !== undefined || !Array.isArray(decoded.channels)) throw corrupt('the image data could not be decoded');
    try {
      const channel = decoded.channels.find((c) => c.id === lib.heif_channel.heif_channel_interleaved);
      if (!channel) throw corrupt('no interleaved channel');
      const premultiplied = alpha && lib.heif_image_handle_is_premultiplied_alpha(handle) !== 0;
      const { buffer, pixelOffset } = rawTiffLayout(channel.width, channel.height, channels, input.icc, premultiplied);
      copyRows(channel, buffer, pixelOffset, channel.width * channels);
      return buffer;
    } finally {
      lib.heif_image_release(decoded.image);
    }
  } finally {
    lib.heif_image_handle_release(handle);
  }
}

/**
 * The primary image of a HEIF file as an uncompressed TIFF (8-bit RGB, or
 * RGBA when it has alpha; transforms applied, the ICC profile kept), for
 * sharp to take as it takes any input. Fails with CORRUPT_IMAGE.
 */
export async function decodeHeif(input: HeifDecodeInput): Promise<Buffer> {
  let lib: LibHeif;
  try {
    lib = await freshInstance();
  } catch (err) {
    throw new ImageError('CORRUPT_IMAGE', `the HEIF decoder could not start (${err instanceof Error ? err.message : String(err)})`);
  }
  const context = lib.heif_context_alloc();
  try {
    return await decodePrimary(lib, context, input);
  } catch (err) {
    if (err instanceof ImageError) throw err;
    // A trap inside the module (out of memory, a bug met by hostile data): this instance is dropped anyway.
    throw corrupt(err instanceof Error ? err.message : String(err));
  } finally {
    lib.heif_context_free(context);
  }
}

/**
 * Memory a HEIF decode needs at its peak, bytes: the module's memory while
 * decoding (measured with libheif-js 1.23: 7.35–7.5 bytes per pixel for
 * 3 to 24 MP, the YCbCr planes, the decoder's picture buffers and the RGB
 * output, plus two copies of the file and its 16 MiB start), and the TIFF
 * the pixels are copied into (channels per pixel), alive at the same time.
 */
export function heifDecodeBytes(width: number, height: number, channels: number, fileBytes: number): number {
  const pixels = width * height;
  const moduleMemory = 16 * 1024 * 1024 + 2 * fileBytes + Math.ceil(7.5 * pixels);
  return moduleMemory + pixels * (channels >= 4 ? 4 : 3);
}
