/**
 * The columns of the store's entries table, derived from the trail's one
 * field list (ENTRY_FIELDS): one column per trail field, named as in the
 * line, typed by the field's kind, then the store's own columns. The DDL, the
 * shipper's COPY rows and the viewer's reading of rows all come from here.
 */
import { ENTRY_FIELDS, type FieldKind } from "../entry/fields.js";

/** The SQL type of each kind of trail field. */
const SQL_TYPES: Record<FieldKind, string> = {
  text: "text",
  level: "text",
  number: "numeric",
  map: "jsonb",
  status: "integer",
  flag: "boolean",
  seq: "bigint",
};

export interface FieldColumn {
  /** The field's snake_case name in the line, and the column's name. */
  readonly name: string;
  /** The AuditEntry property. */
  readonly key: string;
  readonly kind: FieldKind;
  readonly sqlType: string;
  readonly notNull: boolean;
}

/** Fields that every row has: the rest are NULL when the line leaves them out. */
const NOT_NULL = new Set(["level", "success", "id"]);

/** One column per trail field, in the trail's order. `id` is a uuid: the entry's id, or the one derived from its line. */
export const FIELD_COLUMNS: readonly FieldColumn[] = ENTRY_FIELDS.map((field) => ({
  name: field.name,
  key: field.key,
  kind: field.kind,
  sqlType: field.name === "id" ? "uuid" : SQL_TYPES[field.kind],
  notNull: NOT_NULL.has(field.name),
}));

/**
 * The store's own columns, after the trail's:
 * - ts: the entry's time (its timestamp, to the millisecond), the partition key;
 * - extra: fields of the line that are not trail fields (nothing of a line is lost);
 * - search: the entry's values, ASCII-lowercased, for free-text search (but the machine identifiers, and the
 *   counted columns' values, which free text finds through the per-day counts and their own indexes);
 * - id_derived: the line has no id of its own: `id` was derived from its text (the viewer shows the line as written);
 * - ip_addr: the client address (`ip`) as an IPv6 inet (IPv4 as IPv4-mapped), for IP and CIDR filters; NULL when `ip` is no address;
 * - security: the entry is also in security.jsonl (level SECURITY or CRITICAL);
 * - stored_at: when the row was inserted.
 */
export const STORE_COLUMNS = [
  { name: "ts", sqlType: "timestamptz NOT NULL" },
  { name: "extra", sqlType: "jsonb" },
  { name: "search", sqlType: "text NOT NULL" },
  { name: "id_derived", sqlType: "boolean NOT NULL" },
  { name: "ip_addr", sqlType: "inet" },
  { name: "security", sqlType: "boolean NOT NULL GENERATED ALWAYS AS (level IN ('SECURITY', 'CRITICAL')) STORED" },
  { name: "stored_at", sqlType: "timestamptz NOT NULL DEFAULT now()" },
] as const;

/** Columns a COPY row carries, in order: every trail field, then ts, extra, search, id_derived and ip_addr. */
export const COPY_COLUMNS: readonly string[] = [
  ...FIELD_COLUMNS.map((column) => column.name),
  "ts",
  "extra",
  "search",
  "id_derived",
  "ip_addr",
];

/** A column name as an SQL identifier (`user` and `timestamp` are keywords). */
export function quoteColumn(name: string): string {
  return `"${name}"`;
}

/** The COPY column list, quoted. */
export const COPY_COLUMN_LIST = COPY_COLUMNS.map(quoteColumn).join(", ");

/**
 * Trail fields that free-text search leaves out: the time and the machine
 * identifiers (the entry's id, its request id, trace and span ids, the
 * integrity chain) have filters of their own, say nothing a person searches
 * for in words, and their digits would match nearly any number typed into the
 * search box. A request id is also a quarter of a typical row's trigrams,
 * hardly shared with other rows: the free-text index would pay for them on
 * every row shipped. A whole request id typed as free text is still found,
 * through the request id's own index.
 */
export const UNSEARCHED_FIELDS: ReadonlySet<string> = new Set([
  "timestamp",
  "id",
  "request_id",
  "trace_id",
  "span_id",
  "chain_id",
  "seq",
  "prev_hash",
  "hash",
]);

/**
 * Filters of the viewer that compare without regard to ASCII case (as the
 * JSONL source does); the others compare exactly.
 */
export const CASE_INSENSITIVE_FILTERS: ReadonlySet<string> = new Set(["module", "level", "user", "action"]);

/** The table's columns as DDL lines. */
export function columnDefinitions(): string[] {
  return [
    ...FIELD_COLUMNS.map((column) => `${quoteColumn(column.name)} ${column.sqlType}${column.notNull ? " NOT NULL" : ""}`),
    ...STORE_COLUMNS.map((column) => `${quoteColumn(column.name)} ${column.sqlType}`),
  ];
}
