/**
 * Payment card numbers (PAN) inside free text, found as PCI DSS scanners find
 * them: 13 to 19 digits, optionally grouped by single spaces or dashes, with
 * an issuer's leading digit (2-6) and a valid Luhn check digit, not part of a
 * longer run of digits. Found numbers are masked down to their last four
 * digits (PCI DSS 3.4), keeping the grouping so that the text still reads.
 */

// A candidate: a digit not preceded by a digit (or a digit plus separator), 13-19 digits with single separators.
const CANDIDATE = /(?<![\d])(?:\d[ -]?){12,18}\d(?![\d])/g;
// A cheap pre-check: thirteen digits cannot hide in a text with no run of four.
const FOUR_DIGITS = /\d{4}/;

/** Whether a string of digits passes the Luhn check. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let digit = digits.charCodeAt(i) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Whether a run of digits (separators removed) looks like a card number. */
export function isCardNumber(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19) return false;
  const first = digits.charCodeAt(0) - 48;
  return first >= 2 && first <= 6 && luhnValid(digits);
}

/** The candidate with every digit but the last four replaced by "*". */
function maskDigits(candidate: string): string {
  let remaining = 0;
  for (let i = 0; i < candidate.length; i++) if (candidate.charCodeAt(i) >= 48 && candidate.charCodeAt(i) <= 57) remaining++;
  let masked = "";
  for (let i = 0; i < candidate.length; i++) {
    const char = candidate[i]!;
    const isDigit = char >= "0" && char <= "9";
    masked += isDigit && remaining-- > 4 ? "*" : char;
  }
  return masked;
}

/** The text with every card number in it masked; the same string when none is found. */
export function maskCardNumbers(text: string): string {
  if (text.length < 13 || !FOUR_DIGITS.test(text)) return text;
  return text.replace(CANDIDATE, (candidate) => {
    const digits = candidate.replace(/[ -]/g, "");
    return isCardNumber(digits) ? maskDigits(candidate) : candidate;
  });
}
