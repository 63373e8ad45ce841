//! The storage of the CPU engine's values, recycled between nodes and runs.
//!
//! A batch's feature maps are megabytes each (64 faces of 32x32x32 floats: 8 MiB), beyond what the
//! allocator keeps mapped once freed, so a fresh map per node costs page faults and freshly cleared
//! pages. The engine runs its nodes on the calling thread, so freed maps wait in a small
//! thread-local list for the next node or run that needs as many values.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

/// Most freed maps a thread keeps: the nets' largest live set is a few maps (a residual block's
/// input, its two branches and their sum); beyond this the smallest are released.
const KEEP: usize = 8;

thread_local! {
    static FREE: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// The values of one map or batch of features, returned to this thread's free list when dropped.
///
/// The storage keeps every value it ever held initialised (`storage.len()` never shrinks), and the
/// map is its first `len`: reusing storage for a smaller map, then a larger one again, costs no
/// clearing.
#[derive(Debug, Default)]
pub(crate) struct Values {
    storage: Vec<f32>,
    len: usize,
}

impl Values {
    /// `len` values for a kernel that writes every one of them: recycled storage when a large
    /// enough map is free (holding its old values until they are written), else zeros.
    pub fn overwritten(len: usize) -> Self {
        let reused = FREE
            .try_with(|free| {
                let mut free = free.borrow_mut();
                let best = (free.iter().enumerate())
                    .filter(|(_, v)| v.len() >= len)
                    .min_by_key(|(_, v)| v.len())
                    .map(|(i, _)| i);
                best.map(|i| free.swap_remove(i))
            })
            .ok()
            .flatten();
        Self { storage: reused.unwrap_or_else(|| vec![0.0; len]), len }
    }

    /// `len` copies of `value`.
    pub fn filled(len: usize, value: f32) -> Self {
        let mut values = Self::overwritten(len);
        values.fill(value);
        values
    }

    /// The values as a plain vector, leaving nothing to recycle.
    pub fn into_vec(mut self) -> Vec<f32> {
        let mut values = std::mem::take(&mut self.storage);
        values.truncate(self.len);
        values
    }
}

impl From<Vec<f32>> for Values {
    fn from(values: Vec<f32>) -> Self {
        Self { len: values.len(), storage: values }
    }
}

impl Clone for Values {
    fn clone(&self) -> Self {
        let mut copy = Self::overwritten(self.len());
        copy.copy_from_slice(self);
        copy
    }
}

impl Deref for Values {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.storage[..self.len]
    }
}

impl DerefMut for Values {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.storage[..self.len]
    }
}

impl Drop for Values {
    fn drop(&mut self) {
        let values = std::mem::take(&mut self.storage);
        if values.is_empty() {
            return;
        }
        // A thread that is exiting has no list left: its values go back to the allocator.
        let _ = FREE.try_with(|free| {
            let mut free = free.borrow_mut();
            free.push(values);
            if free.len() > KEEP
                && let Some(smallest) = (0..free.len()).min_by_key(|&i| free[i].len())
            {
                free.swap_remove(smallest);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_storage_serves_the_next_map_of_at_most_its_size() {
        let first = Values::filled(1000, 2.0);
        let at = first.as_ptr();
        drop(first);
        let reused = Values::overwritten(600);
        assert_eq!((reused.as_ptr(), reused.len()), (at, 600));
        // Too small for a larger map: fresh zeros.
        let larger = Values::overwritten(5000);
        assert!(larger.iter().all(|&v| v == 0.0) && larger.len() == 5000);
        assert_eq!(Values::filled(3, 7.0).into_vec(), vec![7.0; 3]);
        let copy = reused.clone();
        assert_eq!(&*copy, &*reused);
    }

    #[test]
    fn storage_keeps_its_size_through_smaller_maps() {
        let first = Values::filled(1000, 2.0);
        let at = first.as_ptr();
        drop(first);
        let smaller = Values::overwritten(600);
        assert_eq!((smaller.as_ptr(), smaller.len()), (at, 600));
        drop(smaller);
        // The 1000 values are still there for a map of 1000: neither new storage nor clearing.
        let again = Values::overwritten(1000);
        assert_eq!((again.as_ptr(), again.len()), (at, 1000));
        assert!(again[600..].iter().all(|&v| v == 2.0));
    }

    #[test]
    fn the_free_list_stays_short() {
        let many: Vec<Values> = (1..=3 * KEEP).map(|i| Values::filled(i * 10, 0.0)).collect();
        drop(many);
        let kept = FREE.with_borrow(|free| free.iter().map(Vec::len).collect::<Vec<_>>());
        assert!(kept.len() <= KEEP && kept.iter().all(|&c| c > 2 * KEEP * 10), "{kept:?}");
    }
}
