//! Resolved bearer tokens, kept for a short while.
//!
//! Every API call presents its token, and resolving it is a store read on a
//! blocking thread: at the card-check rates of issue 9 that hand-off alone
//! was a large share of a check's cost. Tokens are only ever issued (none is
//! revoked or changed in place), so a resolved token is kept here for
//! [`TokenCache::TTL`] and then read again: a token removed from the store
//! by hand stops working within that time on every server. Only successful
//! resolutions are kept (a stream of bad tokens cannot fill the cache), keyed
//! by the token's SHA-256, never the token itself, and the cache is emptied
//! when it reaches [`TokenCache::CAPACITY`] entries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use onshi_registry::Caller;

/// Shared by every handler of one server (cloning shares it).
#[derive(Clone, Default)]
pub struct TokenCache {
    entries: Arc<Mutex<HashMap<String, (Caller, Instant)>>>,
}

impl TokenCache {
    /// How long a resolved token is trusted without reading the store again.
    pub const TTL: Duration = Duration::from_secs(30);
    /// The most tokens kept at once.
    pub const CAPACITY: usize = 100_000;

    /// The caller of the token with this hash, if resolved within the TTL.
    pub fn get(&self, hash: &str) -> Option<Caller> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(hash) {
            Some((caller, at)) if at.elapsed() < Self::TTL => Some(caller.clone()),
            Some(_) => {
                entries.remove(hash);
                None
            }
            None => None,
        }
    }

    /// Keeps a successful resolution.
    pub fn put(&self, hash: String, caller: Caller) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= Self::CAPACITY {
            entries.clear();
        }
        entries.insert(hash, (caller, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_was_put_and_empties_when_full() {
        let cache = TokenCache::default();
        assert_eq!(cache.get("a"), None);
        cache.put("a".into(), Caller::Payer);
        assert_eq!(cache.get("a"), Some(Caller::Payer));
        for i in 0..TokenCache::CAPACITY {
            cache.put(format!("k{i}"), Caller::Operator);
        }
        // Filling it to capacity emptied it once on the way.
        assert_eq!(cache.get("a"), None);
    }

    #[test]
    fn forgets_after_the_ttl() {
        let cache = TokenCache::default();
        let old = Instant::now().checked_sub(TokenCache::TTL + Duration::from_secs(1));
        if let Some(old) = old {
            cache
                .entries
                .lock()
                .unwrap()
                .insert("a".into(), (Caller::Payer, old));
            assert_eq!(cache.get("a"), None);
            assert!(cache.entries.lock().unwrap().is_empty());
        }
    }
}
