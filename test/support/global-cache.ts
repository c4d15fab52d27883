import { rmSync } from "node:fs";

/** Removes the temporary cache home vitest.config.ts made (where the tests' viewers keep their indexes). */
export default function setup(): () => void {
  const cacheHome = process.env.XDG_CACHE_HOME;
  return () => {
    if (cacheHome?.includes("auditx-test-cache-")) rmSync(cacheHome, { recursive: true, force: true });
  };
}
