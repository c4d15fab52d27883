/** `auditx demo`: placeholder until the demo scenario lands. */
export async function runDemoCommand(_args: string[]): Promise<number> {
  return 0;
}
