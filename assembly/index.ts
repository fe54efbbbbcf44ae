// Exports of the EdgeKMS crypto core. All functions return i32 status codes
// (layout.ts); none throws. Offsets of the fixed regions are exported as getters.
import { KEY, BUF, BUF_SIZE, TAG } from "./layout";
export { gcm_seal, gcm_open, gcm_init, gcm_aad, gcm_encrypt, gcm_absorb, gcm_decrypt, gcm_finish, gcm_verify } from "./gcm";
export { kw_wrap, kw_unwrap, kw_out_len } from "./kw";
export { wipe } from "./wipe";

export function key_ptr(): usize { return KEY; }
export function buf_ptr(): usize { return BUF; }
export function buf_size(): i32 { return BUF_SIZE; }
export function tag_ptr(): usize { return TAG; }
