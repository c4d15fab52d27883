/** `auditx keygen [--out DIR] [--name auditx-checkpoint]`: writes an Ed25519 key pair for signed checkpoints. */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { generateSigningKeyPair } from "../integrity/signingKeys.js";

const USAGE = `Usage: auditx keygen [--out DIR] [--name NAME] [--force]

Writes an Ed25519 key pair for signed checkpoints:
  DIR/NAME.key  the private key (PKCS #8 PEM, mode 0600): integrity.signingKey
  DIR/NAME.pub  the public key (SPKI PEM): auditx verify --public-key

Keep the public key off the host the trail is written on. With forward security,
remove the private key from the host after the first start (the log folder keeps
an evolving key of its own).
`;

export function runKeygenCommand(args: string[]): number {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        out: { type: "string", default: "." },
        name: { type: "string", default: "auditx-checkpoint" },
        force: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`auditx keygen: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const dir = resolve(values.out as string);
  const privatePath = join(dir, `${values.name}.key`);
  const publicPath = join(dir, `${values.name}.pub`);
  if (!values.force && (existsSync(privatePath) || existsSync(publicPath))) {
    process.stderr.write(`auditx keygen: ${privatePath} or ${publicPath} exists (--force replaces them)\n`);
    return 2;
  }
  mkdirSync(dir, { recursive: true });
  const pair = generateSigningKeyPair();
  writeFileSync(privatePath, pair.privateKeyPem, { mode: 0o600 });
  writeFileSync(publicPath, pair.publicKeyPem, { mode: 0o644 });
  process.stdout.write(`private key: ${privatePath}\npublic key:  ${publicPath}\nkey id:      ${pair.keyId}\n`);
  return 0;
}
