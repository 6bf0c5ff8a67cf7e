//! The application: what users can do ([`service`]), who they are ([`auth`]), and the
//! loops that act without being asked: the [`dispatch`]er that applies the matcher's
//! plans, the [`scheduler`] that follows on-call schedules, the `calls` controller that
//! drives a telephone bridge, the `leases` that let an instance's calls outlive it, the
//! `overload` watch that tells coordinators when demand exceeds the roster, and the
//! `retention` that forgets finished requests past their time.

pub mod auth;
pub(crate) mod calls;
pub(crate) mod leases;
pub(crate) mod overload;
pub(crate) mod retention;
pub mod service;

pub use service::{dispatch, scheduler};
