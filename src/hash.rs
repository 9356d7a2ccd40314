//! 64-bit FNV-1a, the one hash behind frozen contracts: shard assignment, suite content hashes
//! and the scripted model's variant choice. It lives apart from its users so that `model` need
//! not reach into `suite` for it.

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a of `bytes`: the shard hash, also used for suite content hashes.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a64_extend(FNV_OFFSET_BASIS, bytes)
}

/// Continues an FNV-1a hash with more bytes, so that concatenations hash without a copy.
pub(crate) fn fnv1a64_extend(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
    })
}
