//! Which rows a model was trained on, in 15 bits per row: a Bloom filter
//! over each row's feature text, kept in the model file so `eval` can say
//! when the rows it scores are training rows (a subset of the training
//! file scores like training data, and nothing else would tell).
//!
//! The filter is written by hand rather than taken from a crate because
//! its bits live in model files: the hash (FNV-1a, then SplitMix64 for the
//! second probe) must stay the same for as long as the files do.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bits per row and probes per row: about one false "seen" in a thousand.
const BITS_PER_ROW: usize = 15;
const PROBES: u32 = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRows {
    pub rows: usize,
    pub probes: u32,
    #[serde(serialize_with = "to_base64", deserialize_with = "from_base64")]
    pub bits: Vec<u8>,
}

impl TrainingRows {
    pub fn new<'a>(rows: impl ExactSizeIterator<Item = &'a [String]>) -> TrainingRows {
        let n = rows.len();
        let mut filter = TrainingRows { rows: n, probes: PROBES, bits: vec![0; (n * BITS_PER_ROW).div_ceil(8).max(8)] };
        for row in rows {
            for bit in filter.probes_of(row) {
                filter.bits[bit / 8] |= 1 << (bit % 8);
            }
        }
        filter
    }

    /// Whether the row was (almost surely) a training row.
    pub fn contains(&self, row: &[String]) -> bool {
        self.probes_of(row).all(|bit| self.bits.get(bit / 8).is_some_and(|b| b & (1 << (bit % 8)) != 0))
    }

    fn probes_of(&self, row: &[String]) -> impl Iterator<Item = usize> + use<> {
        let h1 = fnv1a(row);
        let h2 = splitmix(h1) | 1;
        let m = (self.bits.len() * 8) as u64;
        (0..u64::from(self.probes)).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % m) as usize)
    }
}

/// FNV-1a over the cells, each followed by a unit separator so that
/// `["ab", "c"]` and `["a", "bc"]` differ.
fn fnv1a(row: &[String]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in row.iter().flat_map(|cell| cell.bytes().chain([0x1f])) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn to_base64<S: Serializer>(bits: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&STANDARD.encode(bits))
}

fn from_base64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    STANDARD.decode(text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn row(i: usize) -> Vec<String> {
        vec![i.to_string(), "tcp".into(), format!("{}", i * 7)]
    }

    #[test]
    fn training_rows_are_found_and_other_rows_almost_never() {
        let train: Vec<Vec<String>> = (0..5000).map(row).collect();
        let filter = TrainingRows::new(train.iter().map(Vec::as_slice));
        assert!(train.iter().all(|r| filter.contains(r)), "a Bloom filter has no false negatives");
        let false_hits = (5000..55_000).filter(|&i| filter.contains(&row(i))).count();
        assert!(false_hits < 150, "{false_hits} of 50,000 unseen rows looked seen (expected about 50)");
        assert!(!filter.contains(&["0tcp".to_string(), "0".into()]), "cell boundaries count");
        let back: TrainingRows = serde_json::from_str(&serde_json::to_string(&filter).unwrap()).unwrap();
        assert_eq!(back, filter);
    }
}
