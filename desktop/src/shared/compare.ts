/**
 * The two pictures of a before/after comparison (compare-view.ts), as img
 * srcs: the original, and the result: the real one once the cluster made it
 * ('result'), else the host's offline preview of it ('preview'). Either may
 * be null when the host cannot show it (a browser decodes no HEIC or TIFF);
 * `note` then says why, in words for the person.
 */
export interface ComparePictures {
  original: string | null;
  result: string | null;
  resultKind: 'result' | 'preview';
  /** How the result side was made, or why a side is missing. */
  note: string;
}
