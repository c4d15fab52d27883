/**
 * Lower-cases ASCII letters only, other letters staying as written: the case
 * rule of the viewer's filters and free text, in the folder and in the store.
 */

const NON_ASCII = /[^\x00-\x7f]/;

export function foldAscii(text: string): string {
  // ASCII text (nearly all of a trail) is folded natively; elsewhere toLowerCase would fold other letters too.
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
  }
  return text;
}
