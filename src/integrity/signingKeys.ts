/**
 * Ed25519 keys for signed checkpoints (node:crypto, no dependency): loading a
 * key given as PEM text, a file path or a KeyObject, deriving a key from its
 * 32-byte seed (forward-secure epochs), and short ids to name keys in records.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { AuditConfigError } from "../entry/errors.js";

/** A key given to auditx: PEM text, the path of a PEM file, or a KeyObject. */
export type KeyInput = string | Buffer | KeyObject;

const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

function pemText(input: string | Buffer, what: string): string {
  const text = Buffer.isBuffer(input) ? input.toString("utf8") : input;
  if (text.includes("-----BEGIN")) return text;
  try {
    return readFileSync(text, "utf8");
  } catch (error) {
    throw new AuditConfigError(`cannot read the ${what} from ${text}: ${(error as Error).message}`);
  }
}

function requireEd25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== "ed25519") throw new AuditConfigError(`the ${what} must be an Ed25519 key (auditx keygen makes one)`);
  return key;
}

/** The private key that signs checkpoints. */
export function loadPrivateKey(input: KeyInput): KeyObject {
  if (typeof input === "object" && !Buffer.isBuffer(input)) {
    if (input.type !== "private") throw new AuditConfigError("the signing key must be a private key");
    return requireEd25519(input, "signing key");
  }
  try {
    return requireEd25519(createPrivateKey(pemText(input, "signing key")), "signing key");
  } catch (error) {
    if (error instanceof AuditConfigError) throw error;
    throw new AuditConfigError(`the signing key is not a PEM private key: ${(error as Error).message}`);
  }
}

/** The public key that checks checkpoints (a private key gives its public half). */
export function loadPublicKey(input: KeyInput): KeyObject {
  if (typeof input === "object" && !Buffer.isBuffer(input)) {
    return requireEd25519(input.type === "private" ? createPublicKey(input) : input, "public key");
  }
  try {
    return requireEd25519(createPublicKey(pemText(input, "public key")), "public key");
  } catch (error) {
    if (error instanceof AuditConfigError) throw error;
    throw new AuditConfigError(`not a PEM public key: ${(error as Error).message}`);
  }
}

/** The 32 raw bytes of a public key, base64url (as epoch records carry them). */
export function rawPublicKey(key: KeyObject): string {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  return publicKey.export({ format: "jwk" }).x as string;
}

/** A public key from its raw base64url form. */
export function publicKeyFromRaw(raw: string): KeyObject {
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw }, format: "jwk" });
}

/** A short, stable name of a public key: the first 16 characters of the SHA-256 of its raw bytes. */
export function publicKeyId(key: KeyObject): string {
  return createHash("sha256")
    .update(Buffer.from(rawPublicKey(key), "base64url"))
    .digest("base64url")
    .slice(0, 16);
}

/** The 32-byte seed of an Ed25519 private key. */
export function seedOf(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: "jwk" }).d as string, "base64url");
}

/** The Ed25519 private key of a 32-byte seed. */
export function privateKeyFromSeed(seed: Buffer): KeyObject {
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
  try {
    return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } finally {
    der.fill(0);
  }
}

/** A new key pair, as PEM: the private key (PKCS #8) and the public key (SPKI). */
export function generateSigningKeyPair(): { privateKeyPem: string; publicKeyPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }) as string,
    publicKeyPem: publicKey.export({ format: "pem", type: "spki" }) as string,
    keyId: publicKeyId(publicKey),
  };
}
