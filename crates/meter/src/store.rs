//! Where the flow table keeps its flows: a slab of fixed-size slots and an
//! index of slot numbers hashed by conversation.
//!
//! A hash map holding the ~470-byte flows inline doubles its buckets as it
//! grows, so right past a power of two half of it is empty slack (a
//! million flows took 984 MB). Here the index holds 4-byte slot numbers —
//! its slack costs bytes, not flows — and the slab grows by an eighth at a
//! time. Both directions of a conversation hash alike (its canonical key).

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::flow::{Flow, FlowKey};

pub(crate) struct FlowStore {
    slots: Vec<Option<(FlowKey, Flow)>>,
    free: Vec<u32>,
    index: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    live: usize,
}

impl FlowStore {
    pub fn new() -> FlowStore {
        FlowStore {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            live: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.live
    }

    fn hash(hasher: &foldhash::fast::RandomState, key: &FlowKey) -> u64 {
        hasher.hash_one(key.canonical())
    }

    /// The slot of `key`'s conversation, in either direction.
    pub fn find(&self, key: &FlowKey) -> Option<usize> {
        let canonical = key.canonical();
        let slots = &self.slots;
        let same = |&i: &u32| slots[i as usize].as_ref().is_some_and(|(k, _)| k.canonical() == canonical);
        self.index.find(Self::hash(&self.hasher, key), same).map(|&i| i as usize)
    }

    /// The flow in slot `i` and its key (as oriented when it opened).
    pub fn slot_mut(&mut self, i: usize) -> Option<(FlowKey, &mut Flow)> {
        self.slots.get_mut(i)?.as_mut().map(|(key, flow)| (*key, flow))
    }

    pub fn insert(&mut self, key: FlowKey, flow: Flow) {
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some((key, flow));
                i
            }
            None => {
                if self.slots.len() == self.slots.capacity() {
                    self.slots.reserve_exact((self.slots.len() / 8).max(1024));
                }
                self.slots.push(Some((key, flow)));
                (self.slots.len() - 1) as u32
            }
        };
        self.live += 1;
        let (slots, hasher) = (&self.slots, &self.hasher);
        let rehash = |&j: &u32| slots[j as usize].as_ref().map_or(0, |(k, _)| Self::hash(hasher, k));
        self.index.insert_unique(Self::hash(hasher, &key), i, rehash);
    }

    /// Empties slot `i`.
    pub fn remove(&mut self, i: usize) -> Option<(FlowKey, Flow)> {
        let key = self.slots.get(i)?.as_ref()?.0;
        if let Ok(entry) = self.index.find_entry(Self::hash(&self.hasher, &key), |&j| j as usize == i) {
            entry.remove();
        }
        self.free.push(i as u32);
        self.live -= 1;
        self.slots[i].take()
    }

    /// Keeps the flows `keep` says to keep.
    pub fn retain(&mut self, mut keep: impl FnMut(&FlowKey, &mut Flow) -> bool) {
        for i in 0..self.slots.len() {
            let drop = match &mut self.slots[i] {
                Some((key, flow)) => !keep(key, flow),
                None => false,
            };
            if drop {
                self.remove(i);
            }
        }
    }

    /// Every flow, the store left empty.
    pub fn drain(&mut self) -> impl Iterator<Item = (FlowKey, Flow)> + '_ {
        self.index.clear();
        self.free.clear();
        self.live = 0;
        self.slots.drain(..).flatten()
    }
}
