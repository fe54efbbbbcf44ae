export * from "./index";
import { encrypt8, expandKey, subBytes } from "./aes";
import { ghashUpdate } from "./ghash";
import { BUF } from "./layout";
export function p_enc8(n: i32): void { expandKey(32); for (let i = 0; i < n; i++) encrypt8(); }
export function p_expand(n: i32): void { for (let i = 0; i < n; i++) expandKey(32); }
export function p_sbox(n: i32): void { for (let i = 0; i < n; i++) subBytes(); }
export function p_ghash(n: i32): void { for (let i = 0; i < n; i++) ghashUpdate(BUF, 4096); }
