/**
 * The commented SIEM exporter blocks of collector-config.yaml
 * (`# >>> kind` ... `# <<< kind`), uncommented and parsed, as a user who
 * enables one gets them.
 */
import { expect } from "vitest";
import { parse } from "yaml";

export interface SiemBlock {
  kind: string;
  /** The exporter's name (`splunk_hec/security`) and settings. */
  name: string;
  settings: Record<string, unknown> & { sending_queue?: Record<string, unknown>; retry_on_failure?: Record<string, unknown> };
}

export function siemBlocks(configText: string): SiemBlock[] {
  return [...configText.matchAll(/^# >>> (\S+)\n([\s\S]*?)^# <<< \1$/gm)].map(([, kind = "", body = ""]) => {
    const yaml = body
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => {
        expect(line.startsWith("# ") || line === "#", `${kind}: ${line}`).toBe(true);
        return line.slice(2);
      })
      .join("\n");
    const exporters = parse(yaml) as Record<string, SiemBlock["settings"]>;
    const names = Object.keys(exporters);
    expect(names, kind).toHaveLength(1);
    const name = names[0] as string;
    return { kind, name, settings: exporters[name] ?? {} };
  });
}
