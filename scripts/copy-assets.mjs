// Copies the viewer's static files (HTML, CSS, JS) next to the compiled code.
import { cpSync, existsSync } from "node:fs";

const from = new URL("../src/viewer/public/", import.meta.url);
const to = new URL("../dist/viewer/public/", import.meta.url);
if (existsSync(from)) cpSync(from, to, { recursive: true });
