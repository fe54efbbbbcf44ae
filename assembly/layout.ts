// Fixed linear-memory regions of the crypto core. Every region is static
// (memory.data), so nothing is allocated per call and the module never grows.
// Sizes are documented in docs/crypto-core.md.

/** Size of the I/O window through which all message bytes pass, in chunks. */
export const BUF_SIZE: i32 = 65536;

export const KEY: usize = memory.data(32, 16); // caller's key (16, 24 or 32 bytes)
export const BUF: usize = memory.data(BUF_SIZE, 16); // I/O window
export const RKB: usize = memory.data(240, 16); // byte-form round keys (FIPS-197 §5.2 w[])
export const RK: usize = memory.data(15 * 128, 16); // bitsliced round keys, 128 bytes per round
export const S: usize = memory.data(128, 16); // bitsliced state: 8 planes × 16 bytes
export const BLK: usize = memory.data(128, 16); // 8 blocks in byte form (cipher input/output)
export const KS: usize = memory.data(128, 16); // CTR keystream pool (8 blocks)
export const J0: usize = memory.data(16, 16); // GCM pre-counter block (SP 800-38D §7.1 step 2)
export const CTR: usize = memory.data(16, 16); // next counter block
export const EJ0: usize = memory.data(16, 16); // E(K, J0)
export const TAG: usize = memory.data(16, 16); // tag out (seal) / tag in (open)
export const TAGC: usize = memory.data(16, 16); // computed tag during open
export const PAD: usize = memory.data(16, 16); // zero-padded partial block for GHASH

export const OK: i32 = 0;
export const ERR_KEY_LENGTH: i32 = 1;
export const ERR_IV_LENGTH: i32 = 2;
export const ERR_DATA_LENGTH: i32 = 3;
export const ERR_AUTH: i32 = 4;
export const ERR_STATE: i32 = 5;
