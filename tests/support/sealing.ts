/**
 * Test support: both ways to seal and open, each made from a keyring, so that
 * the tamper and property tests run on WebCrypto's {@linkcode seal} and
 * {@linkcode openSealed} and on the `node:crypto` code the transport runs.
 *
 * @module
 */

import { type Keyring, openSealed, seal, type SealHeader } from "../../mod.ts";
import { keyMaterial } from "../../src/transport/keyring.ts";
import { transportSealing } from "../../src/transport/sealed.ts";

/** Both ways to seal and open, each as functions of a keyring: WebCrypto's, and the transport's own. */
export const BACKENDS = [
  {
    name: "WebCrypto (seal, openSealed)",
    async make(keyring: Keyring) {
      const keys = await keyring.cryptoKeys();
      return {
        seal: (k: number, to: string, h: SealHeader, payload: Uint8Array) => seal(keys[k], to, h, payload),
        open: (self: string, bytes: Uint8Array) => openSealed(keys, self, bytes),
      };
    },
  },
  {
    name: "node:crypto (what SealedTransport runs)",
    async make(keyring: Keyring) {
      const sync = await transportSealing();
      const keys = keyMaterial(keyring);
      return {
        seal: (k: number, to: string, h: SealHeader, payload: Uint8Array) =>
          Promise.resolve(sync.seal(keys[k], to, h, payload)),
        open: (self: string, bytes: Uint8Array) => Promise.resolve(sync.open(keys, self, bytes)),
      };
    },
  },
];
