// Checks the floors of src/ (DESIGN.md, "Layout"): a module imports only from
// its own floor or below, and no modules import each other in a cycle.
// Part of `npm run lint`; exits 1 with every offending import listed.
//
//   node scripts/check-layers.mjs [src-folder]
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "..", "src"));

/** Folders of src/, lowest floor first; folders on one line share a floor. */
const FLOORS = [
  ["internal"],
  ["entry"],
  ["trail"],
  ["integrity"],
  ["exporters", "otlp"],
  ["processors"],
  ["api"],
  ["integrations", "store"],
  ["viewer"],
  ["cli"],
  // The public entry point re-exports from every floor.
  ["index.ts"],
];
const floorOf = new Map(FLOORS.flatMap((folders, floor) => folders.map((folder) => [folder, floor])));

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((item) => {
    const path = join(dir, item.name);
    if (item.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts)$/.test(item.name) && !item.name.endsWith(".d.ts") ? [path] : [];
  });
}

// Static imports and re-exports (type-only ones too: they are dependencies of the design) and dynamic import().
const IMPORT = /(?:^|[;\s])(?:import|export)\s+(?:type\s+)?(?:[^"';]*?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function importsOf(file) {
  const text = readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  const found = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2];
    if (!specifier.startsWith(".")) continue;
    found.push(resolve(dirname(file), specifier).replace(/\.js$/, ".ts"));
  }
  return found;
}

const folderOf = (file) => relative(SRC, file).split(/[\\/]/)[0];

const files = sourceFiles(SRC);
const known = new Set(files);
const graph = new Map(files.map((file) => [file, importsOf(file).filter((target) => known.has(target))]));
const problems = [];

for (const file of files) {
  const floor = floorOf.get(folderOf(file));
  if (floor === undefined) {
    problems.push(`${relative(SRC, file)}: its folder is on no floor (add it to scripts/check-layers.mjs)`);
    continue;
  }
  for (const target of graph.get(file)) {
    const targetFloor = floorOf.get(folderOf(target));
    if (targetFloor !== undefined && targetFloor > floor) {
      problems.push(`${relative(SRC, file)} imports ${relative(SRC, target)}: ${folderOf(target)}/ is above ${folderOf(file)}/`);
    }
  }
}

// Cycles: a depth-first search that reports each back edge with the path it closes.
const state = new Map();
const stack = [];
function visit(file) {
  state.set(file, "open");
  stack.push(file);
  for (const target of graph.get(file)) {
    if (state.get(target) === "open") {
      const cycle = [...stack.slice(stack.indexOf(target)), target].map((f) => relative(SRC, f));
      problems.push(`import cycle: ${cycle.join(" -> ")}`);
    } else if (!state.has(target)) visit(target);
  }
  stack.pop();
  state.set(file, "done");
}
for (const file of files) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  console.error(`src/ breaks its floor order (DESIGN.md, "Layout"):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`floors: ${files.length} modules, no upward import, no cycle`);
