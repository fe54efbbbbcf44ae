// The loaded key schedule's round count, shared by the bitsliced and the single-block AES (a
// module of its own, so that neither imports the other's state).

/** Number of rounds of the expanded key, or 0 when none is loaded. */
export let rounds: i32 = 0;
