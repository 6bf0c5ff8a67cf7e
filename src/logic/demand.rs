//! Demand against the roster, per language, over the last minutes: how many requests
//! arrived, how many were connected, how many wait. From it, an honest wait estimate (the
//! place in the queue over the rate at which the language's calls were connected, or none
//! when too few were to say) and whether demand exceeds what the roster serves.
//!
//! Pure: fed every request change (each instance sees every change), asked with a time.

use std::collections::{HashMap, HashSet, VecDeque};

use jiff::{SignedDuration, Timestamp};

use crate::domain::ids::RequestId;
use crate::domain::language::LanguageTag;
use crate::domain::request::Request;

/// How far back rates look.
pub const WINDOW: SignedDuration = SignedDuration::from_mins(10);
/// An estimate needs this many connections in the window...
const MIN_CONNECTIONS: usize = 3;
/// ...and rates need this much observed time (a fresh instance knows nothing yet).
const MIN_OBSERVED: SignedDuration = SignedDuration::from_mins(2);
/// Over capacity: at least this many waiting...
const MIN_BACKLOG: usize = 5;
/// ...and arrivals this much above connections in the window (the queue grows).
const GROWTH: f64 = 1.2;

#[derive(Debug, Default)]
struct Flow {
    /// Creation times of requests that arrived in the window.
    arrived: VecDeque<Timestamp>,
    /// Times requests were connected in the window.
    connected: VecDeque<Timestamp>,
    /// Requests waiting now.
    waiting: HashSet<RequestId>,
}

impl Flow {
    fn forget_before(&mut self, since: Timestamp) {
        for q in [&mut self.arrived, &mut self.connected] {
            while q.front().is_some_and(|t| *t < since) {
                q.pop_front();
            }
        }
    }
}

/// One language's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    pub waiting: usize,
    /// Per hour, over the window.
    pub arrivals_per_hour: f64,
    pub connections_per_hour: f64,
}

impl Load {
    /// Demand exceeds what the roster serves: a backlog that grows.
    pub fn over_capacity(&self) -> bool {
        self.waiting >= MIN_BACKLOG && self.arrivals_per_hour > self.connections_per_hour * GROWTH
    }
}

#[derive(Debug)]
pub struct Demand {
    since: Timestamp,
    flows: HashMap<LanguageTag, Flow>,
    /// Requests still going on, counted as arrived, and whether as connected (each
    /// once, whatever the number of changes that show them). A request leaves when it
    /// ends, so this holds what goes on, not the history.
    counted: HashMap<RequestId, bool>,
}

impl Demand {
    /// Nothing observed before `now`.
    pub fn new(now: Timestamp) -> Demand {
        Demand {
            since: now,
            flows: HashMap::new(),
            counted: HashMap::new(),
        }
    }

    /// A request as a change shows it.
    pub fn observe(&mut self, r: &Request, now: Timestamp) {
        let flow = self.flows.entry(r.language.clone()).or_default();
        if r.state.is_pending() {
            flow.waiting.insert(r.id.clone());
        } else {
            flow.waiting.remove(&r.id);
        }
        // An ended request is done with (a connection it had and that was not counted yet
        // counts); one first seen ended is history, not an arrival.
        let connected = if r.state.is_final() {
            self.counted.remove(&r.id).unwrap_or(true)
        } else {
            *self.counted.entry(r.id.clone()).or_insert_with(|| {
                // Arrivals before this instance looked are not its to count.
                if r.created_at >= self.since {
                    flow.arrived.push_back(r.created_at);
                }
                false
            })
        };
        if let (Some(at), false) = (r.connected_at, connected) {
            flow.connected.push_back(at);
            if let Some(c) = self.counted.get_mut(&r.id) {
                *c = true;
            }
        }
        self.forget(now);
    }

    /// Figures older than the window go.
    fn forget(&mut self, now: Timestamp) {
        let since = now.saturating_sub(WINDOW).unwrap_or(now);
        for flow in self.flows.values_mut() {
            flow.forget_before(since);
        }
        self.flows.retain(|_, f| {
            !f.waiting.is_empty() || !f.arrived.is_empty() || !f.connected.is_empty()
        });
    }

    /// How long the observed part of the window is, once it is long enough to tell.
    fn observed(&self, now: Timestamp) -> Option<SignedDuration> {
        let span = now.duration_since(self.since).min(WINDOW);
        (span >= MIN_OBSERVED).then_some(span)
    }

    /// A language's figures now (`None` while too little has been observed).
    pub fn load(&self, language: &LanguageTag, now: Timestamp) -> Option<Load> {
        let span = self.observed(now)?;
        let since = now.saturating_sub(WINDOW).unwrap_or(now);
        let per_hour = |q: &VecDeque<Timestamp>| {
            q.iter().filter(|t| **t >= since).count() as f64 * 3600.0 / span.as_secs_f64()
        };
        let flow = self.flows.get(language);
        Some(Load {
            waiting: flow.map_or(0, |f| f.waiting.len()),
            arrivals_per_hour: flow.map_or(0.0, |f| per_hour(&f.arrived)),
            connections_per_hour: flow.map_or(0.0, |f| per_hour(&f.connected)),
        })
    }

    /// Languages with a request waiting.
    pub fn waiting_languages(&self) -> Vec<LanguageTag> {
        let mut out: Vec<LanguageTag> = self
            .flows
            .iter()
            .filter(|(_, f)| !f.waiting.is_empty())
            .map(|(l, _)| l.clone())
            .collect();
        out.sort();
        out
    }

    /// How long the request at `position` of a language's queue may wait: its place over
    /// the rate at which that language's calls were connected lately. `None` when too few
    /// were connected in the window to say.
    pub fn estimate(
        &self,
        language: &LanguageTag,
        position: usize,
        now: Timestamp,
    ) -> Option<SignedDuration> {
        let span = self.observed(now)?;
        let since = now.saturating_sub(WINDOW).unwrap_or(now);
        let flow = self.flows.get(language)?;
        let n = flow.connected.iter().filter(|t| **t >= since).count();
        if n < MIN_CONNECTIONS {
            return None;
        }
        let per_connection = span.as_secs_f64() / n as f64;
        Some(SignedDuration::from_secs_f64(
            per_connection * position as f64,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::{Channel, Priority, RequestState};

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn tzo() -> LanguageTag {
        LanguageTag::parse("tzo").unwrap()
    }

    fn arrive(d: &mut Demand, at: i64) -> Request {
        let r = Request::new(tzo(), Priority::Normal, Channel::Phone, t(at));
        d.observe(&r, t(at));
        r
    }

    fn connect(d: &mut Demand, mut r: Request, at: i64) {
        r.state = RequestState::Connected;
        r.connected_at = Some(t(at));
        d.observe(&r, t(at));
        // A later change of the same connected request counts nothing more.
        d.observe(&r, t(at));
    }

    #[test]
    fn an_ended_request_is_forgotten_and_never_counted_twice() {
        let mut d = Demand::new(t(0));
        for i in 0..200 {
            let mut r = arrive(&mut d, i);
            connect(&mut d, r.clone(), i);
            r.state = RequestState::Completed;
            r.connected_at = Some(t(i));
            d.observe(&r, t(i));
            // A change of the ended request again counts nothing.
            d.observe(&r, t(i));
        }
        assert!(d.counted.is_empty(), "{} kept", d.counted.len());
        let load = d.load(&tzo(), t(200)).unwrap();
        assert_eq!(load.arrivals_per_hour, load.connections_per_hour);
        assert_eq!(load.arrivals_per_hour, 200.0 * 3600.0 / 200.0);
    }

    #[test]
    fn nothing_is_estimated_before_enough_is_seen() {
        let mut d = Demand::new(t(0));
        let r = arrive(&mut d, 1);
        connect(&mut d, r, 2);
        assert_eq!(d.estimate(&tzo(), 1, t(60)), None, "a minute observed");
        assert_eq!(d.estimate(&tzo(), 1, t(300)), None, "one connection");
        assert!(d.load(&tzo(), t(60)).is_none());
    }

    #[test]
    fn the_estimate_is_the_place_over_the_rate_of_connections() {
        let mut d = Demand::new(t(0));
        // Six connections in ten minutes: one every 100 s.
        for i in 0..6 {
            let r = arrive(&mut d, i * 100);
            connect(&mut d, r, i * 100 + 10);
        }
        let now = t(600);
        assert_eq!(
            d.estimate(&tzo(), 3, now),
            Some(SignedDuration::from_secs(300))
        );
        // Past the window, the old connections no longer count.
        assert_eq!(d.estimate(&tzo(), 3, t(1500)), None);
    }

    #[test]
    fn a_backlog_that_grows_is_over_capacity_and_one_that_shrinks_is_not() {
        let mut d = Demand::new(t(0));
        // Twenty arrive in ten minutes, four are connected: sixteen wait.
        let mut waiting = Vec::new();
        for i in 0..20 {
            waiting.push(arrive(&mut d, i * 30));
        }
        for (i, r) in waiting.drain(..4).enumerate() {
            connect(&mut d, r, 100 + i as i64 * 100);
        }
        let load = d.load(&tzo(), t(600)).unwrap();
        assert_eq!(load.waiting, 16);
        assert!(load.arrivals_per_hour > load.connections_per_hour);
        assert!(load.over_capacity(), "{load:?}");
        assert_eq!(d.waiting_languages(), vec![tzo()]);
        // Then nothing arrives and the sixteen are served: no longer over.
        for (i, r) in waiting.into_iter().enumerate() {
            connect(&mut d, r, 700 + i as i64 * 20);
        }
        let load = d.load(&tzo(), t(1100)).unwrap();
        assert_eq!(load.waiting, 0);
        assert!(!load.over_capacity(), "{load:?}");
    }
}
