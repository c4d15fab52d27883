// The time histogram above the table: how many entries of the current filter
// fall in each stretch of time, failures in red. Clicking a bar narrows the
// time range to it; dragging across bars narrows it to them.

import { clear, el } from "./dom.js";
import { formatMillis } from "./zone.js";

const numberFormat = new Intl.NumberFormat(undefined);
const UNITS = [
  [86_400_000, "day"],
  [3_600_000, "hour"],
  [60_000, "min"],
  [1000, "s"],
];

export function widthText(ms) {
  for (const [size, name] of UNITS) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return name === "day" || name === "hour" ? `${n} ${name}${n === 1 ? "" : "s"}` : `${n} ${name}`;
    }
  }
  return `${ms} ms`;
}

export class Histogram {
  /** `onRange(from, to)` narrows the view to [from, to] (epoch ms, inclusive). */
  constructor({ bars, axis, title, onRange }) {
    this.bars = bars;
    this.axis = axis;
    this.title = title;
    this.onRange = onRange;
    this.data = null;
    this.anchor = -1;
    this.bars.addEventListener("pointerdown", (event) => this.pointerDown(event));
    this.bars.addEventListener("pointermove", (event) => this.pointerMove(event));
    this.bars.addEventListener("pointerup", (event) => this.pointerUp(event));
    this.bars.addEventListener("pointercancel", () => this.mark(-1, -1));
    this.bars.addEventListener("keydown", (event) => this.arrowKeys(event));
    // Keyboard: a focused bar and Enter narrows to it.
    this.bars.addEventListener("click", (event) => {
      if (event.detail !== 0) return;
      const bar = event.target.closest?.(".hbar");
      if (bar) this.commit(Number(bar.dataset.i), Number(bar.dataset.i));
    });
  }

  render(data) {
    this.data = data && data.start !== null && data.counts.length > 0 ? data : null;
    clear(this.bars);
    const labels = this.axis.children;
    if (!this.data) {
      this.title.textContent = "Entries over time";
      for (const label of labels) label.textContent = "";
      this.bars.appendChild(el("span", "histogram-empty", "no entries with a time in this view"));
      return;
    }
    const { start, bucket_ms: width, counts, failures } = this.data;
    const max = Math.max(1, ...counts);
    const fragment = document.createDocumentFragment();
    for (const [i, count] of counts.entries()) {
      const from = start + i * width;
      const bar = el("button", "hbar");
      bar.type = "button";
      bar.tabIndex = i === 0 ? 0 : -1;
      bar.dataset.i = String(i);
      const text = `${formatMillis(from)} – ${formatMillis(from + width - 1000)}: ${numberFormat.format(count)} entr${count === 1 ? "y" : "ies"}${failures[i] ? `, ${numberFormat.format(failures[i])} failed` : ""}`;
      bar.title = text;
      bar.setAttribute("aria-label", text);
      const ok = el("span", "hbar-ok");
      const failed = el("span", "hbar-fail");
      // CSSOM, which the page's Content-Security-Policy allows (style attributes it would not).
      ok.style.height = `${((count - (failures[i] || 0)) / max) * 100}%`;
      failed.style.height = `${((failures[i] || 0) / max) * 100}%`;
      if (count > 0) bar.classList.add("has-entries");
      bar.append(failed, ok);
      fragment.appendChild(bar);
    }
    this.bars.appendChild(fragment);
    const end = start + counts.length * width;
    const dateOnly = width >= 86_400_000;
    const label = (millis) => (dateOnly ? formatMillis(millis).slice(0, 10) : formatMillis(millis, false));
    labels[0].textContent = label(start);
    labels[1].textContent = label(start + Math.floor(counts.length / 2) * width);
    labels[2].textContent = label(end);
    this.title.textContent = `Entries over time · ${widthText(width)} per bar · ${numberFormat.format(this.data.total)} entries`;
  }

  arrowKeys(event) {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const bars = [...this.bars.querySelectorAll(".hbar")];
    const at = bars.indexOf(document.activeElement);
    if (at < 0) return;
    const next = bars[Math.max(0, Math.min(bars.length - 1, at + (event.key === "ArrowLeft" ? -1 : 1)))];
    event.preventDefault();
    bars[at].tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }

  indexAt(event) {
    if (!this.data) return -1;
    const rect = this.bars.getBoundingClientRect();
    const n = this.data.counts.length;
    return Math.max(0, Math.min(n - 1, Math.floor(((event.clientX - rect.left) / rect.width) * n)));
  }

  pointerDown(event) {
    if (!this.data || event.button !== 0) return;
    event.preventDefault();
    this.anchor = this.indexAt(event);
    this.bars.setPointerCapture?.(event.pointerId);
    this.mark(this.anchor, this.anchor);
  }

  pointerMove(event) {
    if (this.anchor < 0) return;
    const at = this.indexAt(event);
    this.mark(Math.min(this.anchor, at), Math.max(this.anchor, at));
  }

  pointerUp(event) {
    if (this.anchor < 0) return;
    const at = this.indexAt(event);
    const [low, high] = [Math.min(this.anchor, at), Math.max(this.anchor, at)];
    this.anchor = -1;
    this.commit(low, high);
  }

  mark(low, high) {
    for (const bar of this.bars.querySelectorAll(".hbar")) {
      const i = Number(bar.dataset.i);
      bar.classList.toggle("is-picked", i >= low && i <= high);
    }
  }

  commit(low, high) {
    if (!this.data) return;
    const { start, bucket_ms: width } = this.data;
    this.onRange(start + low * width, start + (high + 1) * width - 1);
  }
}
