//! A flow's numeric features, in one of two shapes: named (posted to the
//! API, replayed from a dataset, read back from the store) or a vector in a
//! fixed column layout (the packet meter's). A model reads the second by
//! position, with no map built, searched or freed per flow — at a scan's
//! rate of new flows that map was most of the scoring cost.

use std::collections::BTreeMap;

use crate::FeatureName;

#[derive(Debug, Clone, PartialEq)]
pub enum FlowFeatures {
    Named(BTreeMap<FeatureName, f64>),
    /// `values[i]` is the feature called `layout[i]`; the layout is a
    /// static list, so its address identifies it.
    Columns {
        layout: &'static [&'static str],
        values: Box<[f64]>,
    },
}

impl Default for FlowFeatures {
    fn default() -> FlowFeatures {
        FlowFeatures::Named(BTreeMap::new())
    }
}

impl FlowFeatures {
    /// `values` in `layout`'s order; extra values or names are ignored.
    pub fn columns(layout: &'static [&'static str], values: &[f64]) -> FlowFeatures {
        let n = layout.len().min(values.len());
        FlowFeatures::Columns { layout: &layout[..n], values: values[..n].into() }
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        match self {
            FlowFeatures::Named(map) => map.get(name).copied(),
            FlowFeatures::Columns { layout, values } => layout.iter().position(|n| *n == name).map(|i| values[i]),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            FlowFeatures::Named(map) => map.len(),
            FlowFeatures::Columns { values, .. } => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Name and value pairs: sorted by name when named, in column order otherwise.
    pub fn iter(&self) -> Iter<'_> {
        match self {
            FlowFeatures::Named(map) => Iter::Named(map.iter()),
            FlowFeatures::Columns { layout, values } => Iter::Columns(layout.iter().zip(values.iter())),
        }
    }
}

pub enum Iter<'a> {
    Named(std::collections::btree_map::Iter<'a, FeatureName, f64>),
    Columns(std::iter::Zip<std::slice::Iter<'a, &'static str>, std::slice::Iter<'a, f64>>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, f64);

    fn next(&mut self) -> Option<(&'a str, f64)> {
        match self {
            Iter::Named(it) => it.next().map(|(k, v)| (k.as_ref(), *v)),
            Iter::Columns(it) => it.next().map(|(k, v)| (*k, *v)),
        }
    }
}

impl FromIterator<(FeatureName, f64)> for FlowFeatures {
    fn from_iter<I: IntoIterator<Item = (FeatureName, f64)>>(iter: I) -> FlowFeatures {
        FlowFeatures::Named(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUT: &[&str] = &["Flow Duration", "Dst Port", "Protocol"];

    #[test]
    fn both_shapes_answer_the_same() {
        let columns = FlowFeatures::columns(LAYOUT, &[5.0, 443.0, 6.0]);
        let named: FlowFeatures = LAYOUT.iter().zip([5.0, 443.0, 6.0]).map(|(n, v)| ((*n).into(), v)).collect();
        for name in LAYOUT {
            assert_eq!(columns.get(name), named.get(name));
        }
        assert_eq!(columns.get("Fwd Packets"), None);
        assert_eq!(columns.len(), 3);
        let mut a: Vec<_> = columns.iter().collect();
        a.sort_by(|x, y| x.0.cmp(y.0));
        assert_eq!(a, named.iter().collect::<Vec<_>>());
    }

    #[test]
    fn a_short_vector_keeps_only_named_values() {
        let f = FlowFeatures::columns(LAYOUT, &[1.0, 2.0]);
        assert_eq!(f.iter().count(), 2);
        assert_eq!(f.get("Protocol"), None);
    }
}
