/** The one-line notice under the toolbar (a polite status region): what the last action did, or why it could not. */
import { byId, setText, show } from '../ui/dom.js';

export type Notify = (text: string, error?: boolean) => void;

export const showNotice: Notify = (text, error = false) => {
  const element = byId('notice');
  setText(element, text);
  element.classList.toggle('error', error);
  show(element, text !== '');
};
