import { hash, hkdfSync } from 'node:crypto';

/**
 * A secret of the fleet's route-token keys (route-token.ts), prepared once for what the tokens
 * use it for: its HMAC-SHA-256 key (RFC 2104) and its AES-256-GCM sealing key. Every INVITE a
 * worker forwards signs two tokens; preparing the secret for each (a Buffer of it, an HMAC
 * object, an HKDF for a sealed one) cost more than the hashing itself.
 */
export class PreparedSecret {
  /** The key XOR ipad and XOR opad (RFC 2104 §2), one SHA-256 block each. */
  readonly #innerPad: Buffer;
  readonly #outerPad: Buffer;
  /** The AES-256-GCM key of sealed tokens: HKDF-SHA-256 (RFC 5869) of the secret, for this use only. */
  readonly sealingKey: Buffer;

  constructor(secret: Buffer) {
    // RFC 2104 §2: a key longer than the block is hashed first; a shorter one is padded with zeros.
    const key = Buffer.alloc(SHA256_BLOCK_BYTES);
    (secret.length > SHA256_BLOCK_BYTES ? hash('sha256', secret, 'buffer') : secret).copy(key);
    this.#innerPad = Buffer.from(key.map((byte) => byte ^ 0x36));
    this.#outerPad = Buffer.from(key.map((byte) => byte ^ 0x5c));
    this.sealingKey = Buffer.from(hkdfSync('sha256', secret, '', SEALING_INFO, 32));
  }

  /** HMAC-SHA-256(secret, message) (RFC 2104): H(K ⊕ opad ‖ H(K ⊕ ipad ‖ message)). */
  hmac(message: Buffer): Buffer {
    const inner = Buffer.allocUnsafe(SHA256_BLOCK_BYTES + message.length);
    this.#innerPad.copy(inner);
    message.copy(inner, SHA256_BLOCK_BYTES);
    const outer = Buffer.allocUnsafe(SHA256_BLOCK_BYTES + SHA256_BYTES);
    this.#outerPad.copy(outer);
    hash('sha256', inner, 'buffer').copy(outer, SHA256_BLOCK_BYTES);
    return hash('sha256', outer, 'buffer');
  }
}

const SHA256_BLOCK_BYTES = 64;
const SHA256_BYTES = 32;
const SEALING_INFO = 'sipedge route token sealing v2';
