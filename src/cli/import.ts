/**
 * `auditx import FILE... [--log-dir logs] [--format jsonl|csv] [--map column=field,...]
 * [--source LABEL] [--assume-offset local|Z|+06:30] [--dry-run] [--skip-invalid]`:
 * moves the records of another audit trail (a legacy audit table exported
 * as CSV or JSON Lines, a trail of the Python auditX) into this one, each
 * with its own time and marked as imported.
 */

import { basename } from "node:path";
import { parseArgs } from "node:util";
import { AuditLogger } from "../api/AuditLogger.js";
import { DEFAULT_LOG_DIR, resolveSettings } from "../api/settings.js";
import { AuditInputError } from "../entry/errors.js";
import { type ImportOptions, importedEntryFields, parseOffset } from "../entry/importedEntry.js";
import { formatOfName, importedIds, readRecords, SourceError, type SourceFormat } from "./importSources.js";

export const IMPORT_USAGE = `Usage: auditx import FILE... [options]

Moves the records of another audit trail into this one, each with its own
time and marked as imported (metadata.imported). FILE is JSON Lines (.jsonl,
.ndjson, .json) or CSV with a header row (.csv), optionally .gz; "-" reads
standard input (JSON Lines unless --format csv). Columns named as the trail's
fields (timestamp, level, module, action, description, user, ...) fill them;
other columns are kept in metadata. Records imported before (same source,
row and content) are skipped, so an interrupted import can be run again.

Options:
  --log-dir DIR              the trail folder (default: logs)
  --format jsonl|csv         the files' format (default: from the file name)
  --map COLUMN=FIELD,...     read a column as a field, e.g. --map created_at=timestamp,username=user
  --json-column NAME         a column holding the whole entry as JSON, merged over the others
                             (default: data_json, when present)
  --source LABEL             written as metadata.imported.source (default: the file's name)
  --assume-offset OFFSET     time zone of times that state none: local (default), Z, or +06:30
  --dry-run                  check every record, write nothing
  --skip-invalid             skip records that cannot be imported (reported), instead of stopping
  --integrity                seal the imported lines into a hash chain (as integrity: true)
  --key KEY                  seal with HMAC-SHA-256 (also AUDITX_INTEGRITY_KEY)
  --audit-log-file NAME      the trail's file names, when not the default ones
  --security-log-file NAME
  --app-log-file NAME
  -h, --help                 this text
`;

/** Column renames from --map values ("created_at=timestamp,username=user"). */
function parseMap(values: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const value of values) {
    for (const pair of value.split(",")) {
      if (pair.trim() === "") continue;
      const at = pair.indexOf("=");
      const from = pair.slice(0, at).trim();
      const to = pair.slice(at + 1).trim();
      if (at === -1 || from === "" || to === "") throw new Error(`--map: expected COLUMN=FIELD, got ${JSON.stringify(pair)}`);
      map.set(from, to);
    }
  }
  return map;
}

/** The record as the importer reads it: the JSON column merged over the others, then the columns renamed. */
function prepare(record: Record<string, unknown>, jsonColumn: string, renames: Map<string, string>): Record<string, unknown> {
  let prepared = record;
  const json = record[jsonColumn];
  if (json !== undefined && json !== null && json !== "") {
    let parsed: unknown = json;
    if (typeof json === "string") {
      try {
        parsed = JSON.parse(json);
      } catch {
        throw new AuditInputError(`${jsonColumn}: not JSON`);
      }
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new AuditInputError(`${jsonColumn}: not a JSON object`);
    const { [jsonColumn]: _, ...rest } = record;
    prepared = { ...rest, ...(parsed as Record<string, unknown>) };
  }
  if (renames.size === 0) return prepared;
  const renamed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(prepared)) {
    const target = renames.get(key) ?? key;
    // A renamed column wins over a column that already had the target's name.
    if (renames.has(key) || !(target in renamed)) renamed[target] = value;
  }
  return renamed;
}

interface FileTotals {
  imported: number;
  skipped: number;
  invalid: number;
}

export async function runImportCommand(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseImportArgs>;
  try {
    parsed = parseImportArgs(args);
  } catch (error) {
    process.stderr.write(`auditx import: ${(error as Error).message}\n\n${IMPORT_USAGE}`);
    return 2;
  }
  const { values, files } = parsed;
  if (values.help) {
    process.stdout.write(IMPORT_USAGE);
    return 0;
  }
  let renames: Map<string, string>;
  let formats: SourceFormat[];
  try {
    if (files.length === 0) throw new Error("name at least one file to import");
    renames = parseMap(values.map ?? []);
    parseOffset(values["assume-offset"]);
    if (values.format !== undefined && values.format !== "jsonl" && values.format !== "csv") {
      throw new Error(`--format: expected jsonl or csv, got ${JSON.stringify(values.format)}`);
    }
    formats = files.map((file) => {
      const format = (values.format as SourceFormat | undefined) ?? (file === "-" ? "jsonl" : formatOfName(file));
      if (!format) throw new Error(`${file}: cannot tell its format from the name; give --format jsonl or --format csv`);
      return format;
    });
  } catch (error) {
    process.stderr.write(`auditx import: ${(error as Error).message}\n`);
    return 2;
  }

  const key = values.key ?? (process.env.AUDITX_INTEGRITY_KEY || undefined);
  const loggerOptions = {
    logDir: values["log-dir"] ?? DEFAULT_LOG_DIR,
    auditLogFile: values["audit-log-file"],
    securityLogFile: values["security-log-file"],
    appLogFile: values["app-log-file"],
    integrity: key ? { key } : values.integrity === true,
    console: false,
  };
  const settings = resolveSettings(loggerOptions);
  const dryRun = values["dry-run"] === true;
  const logger = dryRun ? undefined : new AuditLogger(loggerOptions);
  const seen = await importedIds(settings.logDir, basename(settings.paths.audit));
  const jsonColumn = values["json-column"] ?? "data_json";
  let failed = false;
  try {
    for (const [index, file] of files.entries()) {
      const totals: FileTotals = { imported: 0, skipped: 0, invalid: 0 };
      const source = values.source ?? (file === "-" ? "stdin" : basename(file));
      const stopped = await importFile(file, formats[index] as SourceFormat, totals, {
        source,
        assumeOffset: values["assume-offset"],
        jsonColumn,
        renames,
        skipInvalid: values["skip-invalid"] === true,
        seen,
        logger,
        settings,
      });
      const verb = dryRun ? "would import" : "imported";
      process.stdout.write(
        `${file}: ${verb} ${totals.imported} entr${totals.imported === 1 ? "y" : "ies"}` +
          `${totals.skipped ? `, ${totals.skipped} already in the trail` : ""}` +
          `${totals.invalid ? `, ${totals.invalid} invalid skipped` : ""}\n`,
      );
      if (stopped) {
        failed = true;
        if (!dryRun && totals.imported > 0) {
          process.stderr.write("auditx import: fix the record and run the same command again: the records imported so far are skipped\n");
        }
        break;
      }
    }
  } finally {
    await logger?.shutdown();
  }
  if (!failed && !dryRun) process.stdout.write(`trail: ${settings.paths.audit}\n`);
  return failed ? 1 : 0;
}

function parseImportArgs(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    options: {
      "log-dir": { type: "string" },
      format: { type: "string" },
      map: { type: "string", multiple: true },
      "json-column": { type: "string" },
      source: { type: "string" },
      "assume-offset": { type: "string" },
      "dry-run": { type: "boolean" },
      "skip-invalid": { type: "boolean" },
      integrity: { type: "boolean" },
      key: { type: "string" },
      "audit-log-file": { type: "string" },
      "security-log-file": { type: "string" },
      "app-log-file": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: true,
  });
  return { values, files: positionals };
}

interface ImportRun {
  source: string;
  assumeOffset: string | undefined;
  jsonColumn: string;
  renames: Map<string, string>;
  skipInvalid: boolean;
  seen: Set<string>;
  /** undefined on a dry run. */
  logger: AuditLogger | undefined;
  settings: ReturnType<typeof resolveSettings>;
}

/** Imports one file's records; true when an invalid record stopped it. */
async function importFile(file: string, format: SourceFormat, totals: FileTotals, run: ImportRun): Promise<boolean> {
  const reportInvalid = (row: number | undefined, message: string): boolean => {
    totals.invalid++;
    process.stderr.write(`${file}${row === undefined ? "" : ` row ${row}`}: ${message}\n`);
    return !run.skipInvalid;
  };
  try {
    for await (const source of readRecords(file, format)) {
      const { row } = source;
      if ("problem" in source) {
        if (reportInvalid(row, source.problem)) return true;
        continue;
      }
      const options: ImportOptions = { source: run.source, row, assumeOffset: run.assumeOffset };
      try {
        const prepared = prepare(source.record, run.jsonColumn, run.renames);
        // The entry's id first: a record imported before is skipped without a write.
        const fields = importedEntryFields(prepared, options, {
          limits: run.settings.limits,
          currency: run.settings.currency,
          service: run.settings.service,
          now: Date.now(),
        });
        if (run.seen.has(fields.id)) {
          totals.skipped++;
          continue;
        }
        run.logger?.importEntry(prepared, options);
        run.seen.add(fields.id);
        totals.imported++;
      } catch (error) {
        if (!(error instanceof AuditInputError)) throw error;
        if (reportInvalid(row, error.message)) return true;
      }
    }
  } catch (error) {
    // A file that cannot be opened or read on (a quote never closed, a duplicate column): nothing more to import from it.
    if (
      error instanceof SourceError ||
      ["ENOENT", "EISDIR", "EACCES", "Z_DATA_ERROR"].includes((error as NodeJS.ErrnoException).code ?? "")
    ) {
      totals.invalid++;
      process.stderr.write(`${file}: ${(error as Error).message}\n`);
      return true;
    }
    throw error;
  }
  return false;
}
