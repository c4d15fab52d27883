/**
 * A small tmpfs of its own for a test: a real file system that fills up (or
 * runs out of inodes), so that disk-full paths run against the kernel, not a
 * mock. Mounting needs root (CAP_SYS_ADMIN), as in CI; where it cannot be
 * mounted the test fails with the reason, it is never skipped.
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Tmpfs {
  dir: string;
  /** Fills the file system up (a filler file) until a write fails; returns the filler's path. */
  fill(name?: string): string;
  /** Frees `bytes` by cutting the filler files down (or removes them: `Infinity`). */
  free(): void;
  unmount(): void;
}

export function mountTmpfs(options: { sizeBytes: number; inodes?: number }): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), "auditx-tmpfs-"));
  const mountOptions = [`size=${options.sizeBytes}`, options.inodes ? `nr_inodes=${options.inodes}` : "", "mode=0755"]
    .filter(Boolean)
    .join(",");
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", mountOptions, "tmpfs", dir], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = String((error as { stderr?: Buffer }).stderr ?? "").trim();
    throw new Error(
      `cannot mount a tmpfs for the disk-full tests (they need root with CAP_SYS_ADMIN, as CI runs them): ${stderr || (error as Error).message}`,
    );
  }
  const fillers: string[] = [];
  return {
    dir,
    fill(name = `filler-${fillers.length}`) {
      const path = join(dir, name);
      const fd = openSync(path, "w");
      const block = Buffer.alloc(64 * 1024, 0x61);
      try {
        // Large blocks first, then small ones: the file system ends up without a free page.
        for (const size of [64 * 1024, 4096, 512, 1]) {
          for (;;) {
            try {
              if (writeSync(fd, block, 0, size) < size) break;
            } catch {
              break;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
      fillers.push(path);
      return path;
    },
    free() {
      for (const path of fillers.splice(0)) {
        try {
          unlinkSync(path);
        } catch {}
      }
    },
    unmount() {
      try {
        execFileSync("umount", ["-l", dir], { stdio: "ignore" });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
