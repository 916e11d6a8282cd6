//! Locks that outlive a panic. A thread that panics while holding a std lock poisons it; every
//! value the tools and the network layer keep behind one (a list, a set, a map, a setting) is
//! whole after each single update, so the guard is taken back instead of failing every later
//! caller.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, poisoned or not.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads `lock`, poisoned or not.
pub(crate) fn read<T: ?Sized>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Writes `lock`, poisoned or not.
pub(crate) fn write<T: ?Sized>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    #[test]
    fn a_lock_poisoned_by_a_panic_still_gives_its_value() {
        let shared = Arc::new(Mutex::new(vec![1]));
        let holder = shared.clone();
        let _ = std::thread::spawn(move || {
            let mut list = holder.lock().unwrap();
            list.push(2);
            panic!("while holding the lock");
        })
        .join();
        assert!(shared.is_poisoned());
        assert_eq!(*super::lock(&shared), [1, 2]);
    }
}
