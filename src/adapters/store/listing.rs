//! Listings of requests, a page at a time: most recent first (creation time, then id,
//! both descending), optionally only some states and a range of creation times. A page
//! ends with a [`Cursor`] when more may follow; the next page starts after it, so requests
//! created meanwhile (which come first) do not shift what a client is paging through.

use jiff::Timestamp;

use crate::domain::ids::RequestId;
use crate::domain::named::Named;
use crate::domain::request::{Request, RequestState};

/// A page holds this many requests unless asked otherwise...
pub const DEFAULT_LIMIT: usize = 100;
/// ...and never more than this.
pub const MAX_LIMIT: usize = 1000;

/// Where a listing stands: the last request of a page, by creation time (µs) and id. Its
/// text form (`<µs>.<id>`) is opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub created_us: i64,
    pub id: RequestId,
}

impl Cursor {
    pub fn of(r: &Request) -> Cursor {
        Cursor {
            created_us: r.created_at.as_microsecond(),
            id: r.id.clone(),
        }
    }

    /// A cursor as [`Cursor`]'s `Display` writes it; anything else is `None`.
    pub fn parse(s: &str) -> Option<Cursor> {
        let (ms, id) = s.split_once('.')?;
        let created_us = ms.parse::<i64>().ok()?;
        let plain = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if id.is_empty() || !id.chars().all(plain) {
            return None;
        }
        Some(Cursor {
            created_us,
            id: RequestId::from_path(id),
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.created_us, self.id)
    }
}

/// Which requests a page lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Only these states; empty: every state.
    pub states: Vec<RequestState>,
    /// Created at or after this...
    pub since: Option<Timestamp>,
    /// ...and before this.
    pub until: Option<Timestamp>,
    /// After this cursor (the previous page's last request).
    pub after: Option<Cursor>,
    /// At most this many (1 to [`MAX_LIMIT`]).
    pub limit: usize,
}

impl Default for Listing {
    fn default() -> Listing {
        Listing {
            states: Vec::new(),
            since: None,
            until: None,
            after: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

impl Listing {
    /// Every request (paged through by the caller).
    pub fn all() -> Listing {
        Listing::of_states(&[])
    }

    /// Every request still waiting (queued or offered).
    pub fn waiting() -> Listing {
        let waiting: Vec<RequestState> = RequestState::ALL
            .iter()
            .copied()
            .filter(|s| s.is_pending())
            .collect();
        Listing::of_states(&waiting)
    }

    /// Every request in one of `states` (all of them: paged through by the caller).
    pub fn of_states(states: &[RequestState]) -> Listing {
        Listing {
            states: states.to_vec(),
            limit: MAX_LIMIT,
            ..Listing::default()
        }
    }

    /// Every request created since `since`.
    pub fn since(since: Timestamp) -> Listing {
        Listing {
            since: Some(since),
            limit: MAX_LIMIT,
            ..Listing::default()
        }
    }

    /// Whether `state` is one this listing shows.
    pub fn shows(&self, state: RequestState) -> bool {
        self.states.is_empty() || self.states.contains(&state)
    }

    /// The states to read, each once (every state when none is named).
    pub fn states(&self) -> Vec<RequestState> {
        RequestState::ALL
            .iter()
            .copied()
            .filter(|s| self.shows(*s))
            .collect()
    }

    /// The earliest creation time listed, in µs.
    pub fn since_us(&self) -> i64 {
        self.since.map_or(i64::MIN, |t| t.as_microsecond())
    }

    /// The listing order's key (creation µs, id) that a page stops short of: the end of
    /// the range, or the cursor when it comes first. What a page lists is below it, so
    /// after a cursor comes what is older, or as old with a smaller id.
    pub fn upper_key(&self) -> (i64, RequestId) {
        let until = self.until.map_or(i64::MAX, |t| t.as_microsecond());
        match &self.after {
            Some(c) if c.created_us < until => (c.created_us, c.id.clone()),
            // Every id sorts after "": nothing created at `until` itself is listed.
            _ => (until, RequestId::from_path("")),
        }
    }

    /// The limit, within bounds.
    pub fn limit(&self) -> usize {
        self.limit.clamp(1, MAX_LIMIT)
    }
}

/// One page of a listing; `next` is set when more may follow.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub requests: Vec<Request>,
    pub next: Option<Cursor>,
}

impl Page {
    /// A page of up to `limit` of `found` (which is in listing order, and holds one more
    /// than the limit when more follow).
    pub fn of(mut found: Vec<Request>, limit: usize) -> Page {
        let more = found.len() > limit;
        found.truncate(limit);
        let next = if more {
            found.last().map(Cursor::of)
        } else {
            None
        };
        Page {
            requests: found,
            next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written_and_refuses_anything_else() {
        let c = Cursor {
            created_us: 1_733_240_000_123_456,
            id: RequestId::from_path("req_0a1b2c3d"),
        };
        assert_eq!(Cursor::parse(&c.to_string()), Some(c));
        for bad in ["", "12", ".req_1", "x.req_1", "12.", "12.req/1", "12.a b"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn after_a_cursor_comes_what_is_older_or_as_old_with_a_smaller_id() {
        let listing = Listing {
            after: Some(Cursor {
                created_us: 10,
                id: RequestId::from_path("req_b"),
            }),
            ..Listing::default()
        };
        let upper = listing.upper_key();
        let below = |us: i64, id: &str| (us, RequestId::from_path(id)) < upper;
        assert!(below(9, "req_z"));
        assert!(below(10, "req_a"));
        assert!(!below(10, "req_b"));
        assert!(!below(11, "req_a"));
    }

    #[test]
    fn a_page_stops_at_the_end_of_its_range_or_its_cursor_whichever_comes_first() {
        let at = |us: i64| Timestamp::from_microsecond(us).unwrap();
        let cursor = |us: i64| Cursor {
            created_us: us,
            id: RequestId::from_path("req_b"),
        };
        let until_20 = Listing {
            until: Some(at(20)),
            ..Listing::default()
        };
        assert_eq!(until_20.upper_key(), (20, RequestId::from_path("")));
        let earlier = Listing {
            after: Some(cursor(10)),
            ..until_20.clone()
        };
        assert_eq!(earlier.upper_key(), (10, RequestId::from_path("req_b")));
        let later = Listing {
            after: Some(cursor(30)),
            ..until_20
        };
        assert_eq!(later.upper_key(), (20, RequestId::from_path("")));
    }
}
