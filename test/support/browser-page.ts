/** Reading the viewer page the way a person does: what the table, pager and header show. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";

export type Entry = Record<string, unknown>;

/** Every entry of a trail file, oldest first (the file's own order). */
export function trailEntries(logDir: string, source: "audit" | "security" = "audit"): Entry[] {
  return readFileSync(join(logDir, `${source}.jsonl`), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Entry);
}

/** Opens the viewer and waits until the first page of entries is on screen. */
export async function openViewer(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector("#rows tr.row", { timeout: 15_000 });
}

/** The text of one column for every row on screen, top to bottom. */
export function columnTexts(
  page: Page,
  column: "time" | "level" | "module" | "action" | "desc" | "user" | "branch" | "entity" | "ref",
): Promise<string[]> {
  return page.$$eval(`#rows tr.row td.c-${column}`, (cells) => cells.map((cell) => (cell.textContent ?? "").trim()));
}

/** The total of "x–y of total" in the pager, or 0 for "0 entries". */
export async function pagerTotal(page: Page): Promise<number> {
  const text = (await page.textContent("#pager-range")) ?? "";
  const match = /of\s+([\d,.\s]+)$/.exec(text.trim());
  return match ? digits(match[1] as string) : 0;
}

export function digits(text: string | null): number {
  return Number((text ?? "").replace(/\D/g, ""));
}

/** Waits until the pager reports `total`, i.e. the table shows the result of the latest filter. */
export async function waitForTotal(page: Page, total: number): Promise<void> {
  await page.waitForFunction(
    (expected) => {
      const text = document.getElementById("pager-range")?.textContent ?? "";
      const match = /of\s+([\d,.\s]+)$/.exec(text.trim());
      const shown = match ? Number((match[1] ?? "").replace(/\D/g, "")) : 0;
      return shown === expected && !document.body.classList.contains("is-loading");
    },
    total,
    { timeout: 15_000 },
  );
}

/** The datetime-local text of a moment in the machine's (and so the browser's) time zone. */
export function localInputValue(millis: number): string {
  const d = new Date(millis);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Page errors that matter: uncaught exceptions and console errors other than failed HTTP answers the test provoked. */
export function seriousErrors(errors: string[]): string[] {
  return errors.filter((error) => !error.includes("Failed to load resource"));
}

/** Picks exactly `values` in one of the filters that take several (module, level, action). */
export async function chooseValues(page: Page, name: "module" | "level" | "action", values: string[]): Promise<void> {
  await page.click(`#f-${name}-button`);
  const boxes = page.locator(`#f-${name} .ms-option input`);
  for (let i = 0; i < (await boxes.count()); i++) {
    const box = boxes.nth(i);
    const wanted = values.includes(await box.inputValue());
    if ((await box.isChecked()) !== wanted) await box.click();
  }
  await page.keyboard.press("Escape");
}

/** The address's query, parsed. */
export function addressOf(page: Page): URLSearchParams {
  return new URL(page.url()).searchParams;
}
